# The queues' partial index on the open cases (cases.models.Case.Meta.indexes, "case_open_queue"),
# built without blocking writes on PostgreSQL (core/migration_operations.py).

from django.conf import settings
from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ('cases', '0004_merge_joint_handling_and_minute_deadlines'),
        ('residents', '0003_region_registered_party_members'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='case',
            index=models.Index(condition=models.Q(('due_at__isnull', False), ('status__in', ['accepted', 'reopened', 'submitted'])), fields=['due_at', 'id'], name='case_open_queue'),
        ),
    ]
