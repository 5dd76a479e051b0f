"""Run the engine's escalation sweep now: every case past its current deadline goes up one
level once (matters, service requests; each kind tells its own people)."""

from django.core.management.base import BaseCommand

from cases.actions import do_escalate_overdue_cases


class Command(BaseCommand):
    help = "上报超时的案件（诉求、服务工单；每个截止时间只上报一次）"

    def add_arguments(self, parser):
        parser.add_argument("--enqueue", action="store_true", help="交给后台任务执行，而不是当场执行")

    def handle(self, *args, **options):
        if options["enqueue"]:
            from cases.tasks import escalate_overdue_cases

            result = escalate_overdue_cases.enqueue()
            self.stdout.write(f"已排队：{result.id}")
            return
        count = do_escalate_overdue_cases()
        self.stdout.write(self.style.SUCCESS(f"已上报 {count} 件超时案件"))
