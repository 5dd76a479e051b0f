"""Bootstrap a role from the shell (the first district admin has nobody to grant it in the API).

    manage.py grant_role qianqu 310113000000 district_admin --title 区民政局 [--password ...]
"""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from residents.models import Region, Role, User


class Command(BaseCommand):
    help = "授予角色（用于初始化第一位区管理员等）"

    def add_arguments(self, parser):
        parser.add_argument("username", help="用户名（不存在则创建控制台账号）")
        parser.add_argument("region_code", help="12位区划代码")
        parser.add_argument("kind", choices=Role.Kind.values)
        parser.add_argument("--title", default="")
        parser.add_argument("--password", default=None, help="设置控制台密码")

    def handle(self, *args, username: str, region_code: str, kind: str, title: str, password: str | None, **options):
        region = Region.objects.filter(code=region_code).first()
        if region is None:
            raise CommandError(f"区划代码 {region_code} 不存在")
        if Role.LEVELS[Role.Kind(kind)] != region.level:
            raise CommandError(f"{Role.Kind(kind).label} 须授予在 {Region.Level(Role.LEVELS[kind]).label} 一级")
        with transaction.atomic():
            user, created = User.objects.get_or_create(username=username, defaults={"nickname": username})
            if password:
                user.set_password(password)
                user.save(update_fields=["password"])
            elif created:
                user.set_unusable_password()
                user.save(update_fields=["password"])
            role, granted = Role.objects.get_or_create(
                user=user, region=region, kind=kind, revoked_at=None, defaults={"title": title}
            )
        verb = "已授予" if granted else "已存在"
        self.stdout.write(self.style.SUCCESS(f"{verb}：{user.username} 为 {region.name} 的 {role.get_kind_display()}"))
