"""Load the demo district: each app that has a `demo.py` with `seed(stdout)` adds its part.

Idempotent: running it twice leaves one copy of everything.
"""

from importlib import import_module

from django.core.management.base import BaseCommand
from django.db import transaction

# Order matters: regions and people first, then what they do.
DEMO_APPS = ["residents", "notifications", "services", "community", "deliberation", "matters", "sensors"]


class Command(BaseCommand):
    help = "载入演示数据（一个区、两个街道、六个居村和各角色人物）"

    def handle(self, *args, **options):
        for app in DEMO_APPS:
            try:
                module = import_module(f"{app}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{app}.demo":
                    raise
                continue
            with transaction.atomic():
                module.seed(self.stdout)
        self.stdout.write(self.style.SUCCESS("演示数据已就绪"))
