from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "residents"
    verbose_name = "居民与区域"

    def ready(self) -> None:
        from residents import schema  # noqa: F401  registers the OpenAPI auth extension
