from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "core"
    verbose_name = "基础设施"

    def ready(self) -> None:
        from core import pipl

        # Each app's pipl.py registers its export and erase steps (core/pipl.py).
        pipl.autodiscover()
