# The Image model moved from core to the images app with its table (core_image) unchanged:
# only the migration state's target of these relations changes, no SQL runs. The link tables
# now share images.models.ImageLink (its verbose names and reverse names: no column changes).

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ("community", "0005_post_answer_deadline"),
        ("images", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.AlterField(
                    model_name="postimage",
                    name="position",
                    field=models.PositiveSmallIntegerField(default=0, verbose_name="顺序"),
                ),
                migrations.AlterField(
                    model_name="postimage",
                    name="image",
                    field=models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="%(app_label)s_%(class)s_links", to="images.image", verbose_name="图片"),
                ),
                migrations.AlterField(
                    model_name="post",
                    name="images",
                    field=models.ManyToManyField(related_name="posts", through="community.PostImage", to="images.image"),
                ),
            ],
            database_operations=[],
        ),
    ]
