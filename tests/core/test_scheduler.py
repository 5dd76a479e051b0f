from django.core.management import call_command
from django.utils.module_loading import import_string

from core.scheduler import PERIODIC_JOBS


def test_every_periodic_job_names_a_real_task():
    for job in PERIODIC_JOBS:
        task = import_string(job.task_path)
        assert hasattr(task, "enqueue"), job.task_path
        assert job.every_seconds > 0


def test_scheduler_once_enqueues_and_runs_every_job(db, caplog):
    # The test backend runs tasks immediately, so a job that cannot run shows as a logged error.
    call_command("run_scheduler", once=True)
    assert not [r for r in caplog.records if r.levelname == "ERROR"], caplog.text
