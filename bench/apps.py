from django.apps import AppConfig


class BenchConfig(AppConfig):
    """Benchmarks: the Baoshan-scale generator (`manage.py generate_district`) and the
    framework-ceiling endpoint (bench/views.py). Installed only with BENCH=true
    (config/settings.py) and by the test settings; never in production."""

    name = "bench"
    verbose_name = "基准测试"
