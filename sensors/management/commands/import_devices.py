"""`manage.py import_devices devices.csv`: a vendor's device list into the registry, all or
nothing (sensors.actions.devices); each bad row is printed with its line and column."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from core.errors import Unprocessable
from sensors.actions.devices import do_import_devices


class Command(BaseCommand):
    help = "从厂商提供的 CSV 批量登记感知设备（任一行有误则全部不导入）"

    def add_arguments(self, parser) -> None:
        parser.add_argument("path")

    def handle(self, *args, path: str, **options) -> None:
        try:
            with open(path, encoding="utf-8") as fh:
                text = fh.read()
        except (OSError, UnicodeDecodeError) as exc:
            raise CommandError(f"cannot read {path}: {exc}") from None
        try:
            created = do_import_devices(text, actor=None)
        except Unprocessable as exc:
            for error in exc.detail.get("errors", []):
                self.stderr.write(f"line {error['line']} [{error['column']}]: {error['reason']}")
            raise CommandError(exc.message) from None
        self.stdout.write(f"imported {created} devices")
