"""Re-encrypt every EncryptedTextField value with the newest FIELD_ENCRYPTION_KEYS entry.

The newest entry also chooses the algorithm (Fernet, or SM4 with an `sm4:` prefix;
core/field_ciphers.py), so moving from one algorithm to the other is the same procedure.

Rotation procedure (docs/threat-model.md):
  1. FIELD_ENCRYPTION_KEYS=<new>,<old>   and restart: new writes use <new>, both decrypt.
  2. manage.py rotate_field_keys        (resumable: rows already on <new> are skipped)
  3. FIELD_ENCRYPTION_KEYS=<new>         and restart: <old> is retired.

Columns are found on every installed model, so a new app's sensitive field is covered
without touching this command. Values stored in plaintext (rows written before a column
became encrypted, raw SQL imports) are encrypted on the way.
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction

from core import crypto


class Command(BaseCommand):
    help = "用最新的 FIELD_ENCRYPTION_KEYS 密钥（及其算法：Fernet 或 SM4）重新加密所有加密字段（可中断后重跑）"

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=500, help="rows per transaction")
        parser.add_argument("--dry-run", action="store_true", help="count what would change, write nothing")

    def handle(self, *args, batch_size: int, dry_run: bool, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be positive")
        totals = {"rows": 0, "rotated": 0, "encrypted": 0, "current": 0, "unreadable": 0}
        for model, fields in crypto.encrypted_fields():
            label = f"{model._meta.label}({', '.join(f.name for f in fields)})"
            counts = self._rotate_model(model, fields, batch_size=batch_size, dry_run=dry_run, label=label)
            for key, value in counts.items():
                totals[key] += value
        verb = "would rewrite" if dry_run else "rewrote"
        summary = (
            f"{verb} {totals['rotated']} values under the newest key, encrypted {totals['encrypted']} plaintext values; "
            f"{totals['current']} already current; {totals['unreadable']} unreadable; {totals['rows']} rows scanned"
        )
        if totals["unreadable"]:
            raise CommandError(summary + " — unreadable values need a key that is missing from FIELD_ENCRYPTION_KEYS")
        self.stdout.write(self.style.SUCCESS(summary))

    def _rotate_model(self, model, fields, *, batch_size: int, dry_run: bool, label: str) -> dict[str, int]:
        qn = connection.ops.quote_name
        table = qn(model._meta.db_table)
        pk = qn(model._meta.pk.column)
        columns = [f.column for f in fields]
        select = f"SELECT {pk}, {', '.join(qn(c) for c in columns)} FROM {table}"
        counts = {"rows": 0, "rotated": 0, "encrypted": 0, "current": 0, "unreadable": 0}
        last_pk = None
        while True:
            with transaction.atomic():
                with connection.cursor() as cursor:
                    # Keyset batches: each one a short transaction, and a rerun picks up where
                    # an interrupted run stopped because finished rows count as current.
                    if last_pk is None:
                        cursor.execute(f"{select} ORDER BY {pk} LIMIT %s", [batch_size])
                    else:
                        cursor.execute(f"{select} WHERE {pk} > %s ORDER BY {pk} LIMIT %s", [last_pk, batch_size])
                    rows = cursor.fetchall()
                    if not rows:
                        break
                    for row in rows:
                        row_pk, values = row[0], row[1:]
                        for column, stored in zip(columns, values, strict=True):
                            new = self._new_value(stored, counts, where=f"{label} pk={row_pk} {column}")
                            if new is None or dry_run:
                                continue
                            # Conditional on the value we read: a concurrent write by the app
                            # already used the newest key and must not be overwritten.
                            cursor.execute(
                                f"UPDATE {table} SET {qn(column)} = %s WHERE {pk} = %s AND {qn(column)} = %s",
                                [new, row_pk, stored],
                            )
                    counts["rows"] += len(rows)
                    last_pk = rows[-1][0]
            self.stdout.write(
                f"{label}: {counts['rows']} rows scanned, "
                f"{counts['rotated'] + counts['encrypted']} values {'to rewrite' if dry_run else 'rewritten'}"
            )
        return counts

    def _new_value(self, stored, counts: dict[str, int], *, where: str) -> str | None:
        if stored is None or stored == "":
            return None
        if isinstance(stored, (bytes, memoryview)):
            stored = bytes(stored).decode("utf-8")
        if not stored.startswith(crypto.PREFIX):
            counts["encrypted"] += 1
            return crypto.encrypt(stored)
        if crypto.is_current(stored):
            counts["current"] += 1
            return None
        try:
            new = crypto.rotate(stored)
        except ValueError:  # crypto.UndecryptableValue: no configured key opens it, or it was altered
            counts["unreadable"] += 1
            self.stderr.write(f"cannot decrypt {where}")
            return None
        counts["rotated"] += 1
        return new
