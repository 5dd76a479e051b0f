from django.core.management.base import BaseCommand, CommandError

from privacy.retention import purge_expired, retention_cutoff


class Command(BaseCommand):
    help = "清除超过保存期限（SENSITIVE_RETENTION_DAYS）的健康备注与住址"

    def handle(self, *args, **options):
        self.stdout.write(f"cutoff {retention_cutoff().isoformat()}")
        results = purge_expired()
        for name, count in results.items():
            self.stdout.write(f"{name}: {count if count >= 0 else 'FAILED'}")
        if any(count < 0 for count in results.values()):
            raise CommandError("a purger failed; see the log")
        self.stdout.write(self.style.SUCCESS("done"))
