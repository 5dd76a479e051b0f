"""Escalate overdue service requests to their street officers (each request once)."""

from django.core.management.base import BaseCommand

from services.actions.deadlines import do_flag_overdue_requests


class Command(BaseCommand):
    help = "标记超时的服务工单并通知街道（每张工单只上报一次）"

    def add_arguments(self, parser):
        parser.add_argument("--enqueue", action="store_true", help="交给后台任务执行，而不是当场执行")

    def handle(self, *args, **options):
        if options["enqueue"]:
            from services.tasks import flag_overdue_requests

            result = flag_overdue_requests.enqueue()
            self.stdout.write(f"已排队：{result.id}")
            return
        count = do_flag_overdue_requests()
        self.stdout.write(self.style.SUCCESS(f"已上报 {count} 张超时工单"))
