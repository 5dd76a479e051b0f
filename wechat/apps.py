from django.apps import AppConfig


class WechatConfig(AppConfig):
    name = "wechat"
    verbose_name = "微信接入"

    def ready(self) -> None:
        from core.health import register_check
        from wechat.token_health import check_token

        # /readyz: fails while the access token cannot be refreshed (wechat/token_health.py).
        register_check("wechat_token", check_token)
