"""Daily post cap, step 1: the columns (nullable) and a backfill of existing rows.

Kept apart from the NOT NULL / constraints step so PostgreSQL does not mix row updates and
ALTER TABLE in one transaction."""

from zoneinfo import ZoneInfo

from django.db import migrations, models

SHANGHAI = ZoneInfo("Asia/Shanghai")


def backfill(apps, schema_editor):
    Post = apps.get_model("community", "Post")
    last: tuple[int, object] | None = None
    seq = 0
    # Row by row is fine at this deployment's size; ordering makes seq follow creation.
    for post in Post.objects.order_by("author_id", "created_at", "id").only("id", "author_id", "created_at").iterator():
        day = post.created_at.astimezone(SHANGHAI).date()
        seq = seq + 1 if last == (post.author_id, day) else 1
        last = (post.author_id, day)
        Post.objects.filter(pk=post.pk).update(author_day=day, author_day_seq=seq)


class Migration(migrations.Migration):
    dependencies = [("community", "0001_initial")]

    operations = [
        migrations.AddField(
            model_name="post",
            name="author_day",
            field=models.DateField(editable=False, null=True, verbose_name="发帖日"),
        ),
        migrations.AddField(
            model_name="post",
            name="author_day_seq",
            field=models.PositiveSmallIntegerField(editable=False, null=True, verbose_name="当日序号"),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
