# Covering indexes for the dashboards' per-region reads of the service and closed-loop day
# snapshots (console.models: console_service_region, console_case_region), built without
# blocking the refresh job's writes on PostgreSQL (core/migration_operations.py).

from django.db import migrations, models

from core.migration_operations import AddIndexConcurrently


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [
        ('cases', '0005_case_open_queue'),
        ('console', '0006_sensor_day_snapshots'),
        ('residents', '0003_region_registered_party_members'),
    ]

    operations = [
        AddIndexConcurrently(
            model_name='casedaysnapshot',
            index=models.Index(fields=['neighborhood', 'day'], include=('unit', 'street', 'finished', 'closed_loops'), name='console_case_region'),
        ),
        AddIndexConcurrently(
            model_name='servicedaysnapshot',
            index=models.Index(fields=['neighborhood', 'day'], include=('category_id', 'requests', 'completed', 'overdue', 'rated', 'satisfied'), name='console_service_region'),
        ),
    ]
