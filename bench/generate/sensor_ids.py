"""The bench sensors' vendor, secret and device ids, shared by the generator (sensors.py) and the
load driver (bench/sensor_load.py, which runs without Django)."""

VENDOR = "bench"
SECRET = "bench-sensor-secret-not-for-production"


def home_device_id(n: int, kind: str) -> str:
    return f"{'IR' if kind == 'infrared' else 'DR'}-{n:06d}"


def shed_device_id(n: int) -> str:
    return f"SMK-{n:05d}"


# The alarm → push figure: the 居委 units' bench member and the case_assigned template.
PUSH_OPENID = "bench-alarm-officer"
PUSH_TEMPLATE = "bench-tpl-case-new"
