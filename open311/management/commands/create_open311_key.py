"""manage.py create_open311_key "宝山区12345平台" --region 310113000000 [--region …] [--may-file]

Prints the new key once; only its keyed hash is stored (docs/open311.md)."""

from django.core.management.base import BaseCommand, CommandError

from open311.keys import do_create_partner_key
from residents.models import Region


class Command(BaseCommand):
    help = "创建 Open311 合作方 api_key（只显示一次）"

    def add_arguments(self, parser):
        parser.add_argument("name", help="合作系统名称")
        parser.add_argument("--region", action="append", required=True, help="可访问区域的12位区划代码（可重复）")
        parser.add_argument("--may-file", action="store_true", help="允许提交诉求（默认只读）")

    def handle(self, *args, name: str, region: list[str], may_file: bool, **options):
        regions = list(Region.objects.filter(code__in=region))
        missing = set(region) - {r.code for r in regions}
        if missing:
            raise CommandError(f"区划代码不存在：{', '.join(sorted(missing))}")
        key, raw = do_create_partner_key(name=name, regions=regions, may_file=may_file)
        self.stdout.write(f"{key.name}（{'可提交' if may_file else '只读'}，{'、'.join(r.name for r in regions)}）")
        self.stdout.write(f"api_key: {raw}")
        self.stdout.write("只显示这一次：数据库只保存其带密钥的哈希。")
