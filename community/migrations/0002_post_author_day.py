"""Daily post cap, step 1: the columns (nullable) and a backfill of existing rows.

Kept apart from the NOT NULL / constraints step so PostgreSQL does not mix row updates and
ALTER TABLE in one transaction."""

from zoneinfo import ZoneInfo

from django.db import migrations, models

SHANGHAI = ZoneInfo("Asia/Shanghai")


# One statement on the databases we run (a row-by-row loop took hours on a district's 5M
# posts): the Shanghai day of each post, numbered per author and day in creation order.
# Shanghai has kept UTC+8 without daylight saving since 1991, so SQLite's fixed offset agrees.
SQL = {
    "postgresql": """
        UPDATE community_post AS p SET author_day = s.day, author_day_seq = s.seq
        FROM (
            SELECT id, (created_at AT TIME ZONE 'Asia/Shanghai')::date AS day,
                   row_number() OVER (
                       PARTITION BY author_id, (created_at AT TIME ZONE 'Asia/Shanghai')::date
                       ORDER BY created_at, id
                   ) AS seq
            FROM community_post
        ) AS s
        WHERE p.id = s.id
    """,
    "sqlite": """
        UPDATE community_post SET author_day = s.day, author_day_seq = s.seq
        FROM (
            SELECT id, date(created_at, '+8 hours') AS day,
                   row_number() OVER (
                       PARTITION BY author_id, date(created_at, '+8 hours') ORDER BY created_at, id
                   ) AS seq
            FROM community_post
        ) AS s
        WHERE community_post.id = s.id
    """,
}


def backfill(apps, schema_editor):
    sql = SQL.get(schema_editor.connection.vendor)
    if sql is not None:
        schema_editor.execute(sql)
        return
    Post = apps.get_model("community", "Post")
    last: tuple[int, object] | None = None
    seq = 0
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
