# The Image model moved from core to the images app with its table (core_image) unchanged:
# only the migration state's target of this relation changes, no SQL runs. The link table
# now shares images.models.ImageLink (its reverse name: no column changes).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("images", "0001_initial"),
        ("services", "0008_paused_occurrences"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="servicerequestphoto",
                    name="image",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="%(app_label)s_%(class)s_links", to="images.image", verbose_name="图片"),
                ),
            ],
            database_operations=[],
        ),
    ]
