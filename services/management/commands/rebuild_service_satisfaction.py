from django.core.management.base import BaseCommand

from services.actions.ratings import do_rebuild_satisfaction_daily


class Command(BaseCommand):
    help = "从全部评价重新计算满意度日汇总（services.SatisfactionDaily）"

    def handle(self, *args, **options):
        rows = do_rebuild_satisfaction_daily()
        self.stdout.write(f"满意度日汇总已重建：{rows} 行")
