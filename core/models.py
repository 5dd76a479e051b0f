from __future__ import annotations

from django.conf import settings
from django.db import models

from core.crypto import EncryptedJSONField


class IdempotencyRecord(models.Model):
    """One per (user, Idempotency-Key): the first response to a create, replayed for repeats
    for 24 hours (core.idempotency.REPLAY_WINDOW), then purged.

    The response of a create often holds personal values (an elder's address, health note,
    phone): it is kept only encrypted, with the field keys that `rotate_field_keys` rotates, and
    the body is fingerprinted with a keyed hash, so neither column gives the values away.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=128)
    scope = models.CharField(max_length=200, help_text="method and path")
    fingerprint = models.CharField(max_length=64, help_text="keyed hash (HMAC-SHA256) of the canonical request body")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True, help_text="null while in progress")
    response_body = EncryptedJSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "幂等记录"
        verbose_name_plural = "幂等记录"
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_one_per_user_key")]
        indexes = [models.Index(fields=["created_at"])]


class PeriodicJobState(models.Model):
    """One row per periodic job (core.scheduler): when it is next due, cluster-wide.

    A scheduler runs a job only after moving `next_run_at` forward with a conditional
    UPDATE on the value it read, so however many schedulers run, one of them wins each
    period; and the row outlives a scheduler, so a restart does not run a daily job twice.
    """

    name = models.CharField(max_length=200, primary_key=True, help_text="dotted path of the task")
    schedule = models.CharField(max_length=100, help_text="the schedule next_run_at was computed from")
    next_run_at = models.DateTimeField()
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_task_id = models.CharField(max_length=64, blank=True, help_text="the task result of the last run")
    run_count = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "定时任务状态"
        verbose_name_plural = "定时任务状态"

    def __str__(self) -> str:
        return self.name


class WorkerHeartbeat(models.Model):
    """One row per running `db_worker` process, touched every WORKER_HEARTBEAT_SECONDS
    (core.heartbeat); /readyz (core.health) fails when the newest is too old. Rows of workers
    gone for a day are deleted by the workers still running."""

    worker_id = models.CharField(max_length=64, primary_key=True)
    host = models.CharField(max_length=255, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField()
    beat_at = models.DateTimeField(db_index=True)

    class Meta:
        verbose_name = "任务进程心跳"
        verbose_name_plural = "任务进程心跳"

    def __str__(self) -> str:
        return self.worker_id
