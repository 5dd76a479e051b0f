"""Daily post cap, step 2: NOT NULL, one slot per (author, day, seq), seq within the ceiling.

The 50 is community.models.POST_DAILY_CAP_CEILING; settings.POST_DAILY_CAP is clamped to it."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("community", "0002_post_author_day"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name="post",
            name="author_day",
            field=models.DateField(editable=False, verbose_name="发帖日"),
        ),
        migrations.AlterField(
            model_name="post",
            name="author_day_seq",
            field=models.PositiveSmallIntegerField(editable=False, verbose_name="当日序号"),
        ),
        migrations.AddConstraint(
            model_name="post",
            constraint=models.UniqueConstraint(
                fields=("author", "author_day", "author_day_seq"), name="post_author_day_seq_unique"
            ),
        ),
        migrations.AddConstraint(
            model_name="post",
            constraint=models.CheckConstraint(
                condition=models.Q(("author_day_seq__gte", 1), ("author_day_seq__lte", 50)),
                name="post_author_day_seq_range",
            ),
        ),
    ]
