from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "消息通知"

    def ready(self) -> None:
        from core.scheduler import register_periodic

        # The sweep that re-enqueues outbox rows a killed worker or a lost enqueue left behind.
        register_periodic("notifications.tasks.deliver_due_outbox", 15)

        from notifications import receivers, streams  # noqa: F401  (streams registers the built-in prefixes)
        from wechat.signals import push_received

        push_received.connect(receivers.on_push, dispatch_uid="notifications.consents")

        from notifications import on_residents

        # Logout, bans, erasure, ended memberships and roles, decisions (residents/signals.py).
        on_residents.connect()

        from notifications.models import SubscribeTemplate
        from notifications.templates import TEMPLATES

        TEMPLATES.cleared_by(SubscribeTemplate)

        from notifications import health

        # /readyz's outbox check and /metrics' outbox gauge (notifications/health.py).
        health.register()
