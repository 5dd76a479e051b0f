from django.apps import AppConfig


class ResidentsConfig(AppConfig):
    name = "residents"
    verbose_name = "居民与区域"

    def ready(self) -> None:
        from django.db.models.signals import post_delete, post_save

        from residents import token_cache
        from residents.models import ApiToken, User

        # Any saved or deleted user or token: the processes' cached tokens of that user go
        # (residents/token_cache.py). Queryset updates of tokens call token_cache.forget themselves.
        def on_user(sender, instance, **kwargs):
            token_cache.forget(instance.pk)

        def on_token(sender, instance, **kwargs):
            token_cache.forget(instance.user_id)

        for signal in (post_save, post_delete):
            signal.connect(on_user, sender=User, weak=False, dispatch_uid=f"token_cache_user_{signal is post_save}")
            signal.connect(on_token, sender=ApiToken, weak=False, dispatch_uid=f"token_cache_token_{signal is post_save}")
