from django.core.management.base import BaseCommand

from deliberation.tasks import close_due_votes


class Command(BaseCommand):
    help = "关闭已到截止时间的表决并计算结果（可由 cron 每分钟运行；--enqueue 交给后台任务）"

    def add_arguments(self, parser):
        parser.add_argument("--enqueue", action="store_true", help="放入任务队列而不是立即执行")

    def handle(self, *args, enqueue: bool = False, **options):
        if enqueue:
            result = close_due_votes.enqueue()
            self.stdout.write(f"已加入任务队列：{result.id}")
            return
        closed = close_due_votes.call()
        self.stdout.write(f"已关闭 {len(closed)} 个表决：{closed}")
