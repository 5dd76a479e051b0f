"""The 物联感知 part of a Baoshan-shaped district (bench/generate/sensors.py):

    BENCH=true python manage.py generate_sensors [--homes 40000] [--sheds 2000] [--seed 1]
"""

from django.core.management.base import BaseCommand

from bench.generate.sensors import make_sensors, prepare_alarm_push


class Command(BaseCommand):
    help = "生成压测用的物联感知设备（4万户老人家中各2个传感器，2000个车棚烟感）"

    def add_arguments(self, parser):
        parser.add_argument("--homes", type=int, default=40_000)
        parser.add_argument("--sheds", type=int, default=2_000, help="shed smoke sensors (two per shed)")
        parser.add_argument("--seed", type=int, default=1)
        parser.add_argument("--push-member", action="store_true",
                            help="give each shed neighborhood's 居委 unit a member with a WeChat openid and consents "
                                 "(the alarm → push figure)")

    def handle(self, *args, homes: int, sheds: int, seed: int, push_member: bool, **options):
        result = make_sensors(homes=homes, sheds=sheds, seed=seed, out=self.stdout.write)
        if push_member:
            self.stdout.write(f"push member={prepare_alarm_push()}")
        self.stdout.write(f"sensors integration={result['integration']} devices={result['devices']} present={result['present']}")
