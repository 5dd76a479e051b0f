# The Image model moved from core to the images app with its table (core_image) unchanged:
# only the migration state's target of these relations changes, no SQL runs. The link tables
# now share images.models.ImageLink (its verbose names and reverse names: no column changes).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("deliberation", "0004_topic_reports"),
        ("images", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="milestonephoto",
                    name="position",
                    field=models.PositiveSmallIntegerField(default=0, verbose_name="顺序"),
                ),
                migrations.AlterField(
                    model_name="milestonephoto",
                    name="image",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="%(app_label)s_%(class)s_links", to="images.image", verbose_name="图片"),
                ),
                migrations.AlterField(
                    model_name="topicimage",
                    name="position",
                    field=models.PositiveSmallIntegerField(default=0, verbose_name="顺序"),
                ),
                migrations.AlterField(
                    model_name="topicimage",
                    name="image",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="%(app_label)s_%(class)s_links", to="images.image", verbose_name="图片"),
                ),
            ],
            database_operations=[],
        ),
    ]
