"""Run the local WeChat stand-in: `python manage.py wechat_standin --port 8100`."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser

from wechat.standin.server import make_server
from wechat.standin.state import PushConfig


class Command(BaseCommand):
    help = "Run the local WeChat stand-in server (WeChat's API plus a control API under /__standin__/)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8100)
        parser.add_argument(
            "--push-url", default="http://127.0.0.1:8000/wechat/callback"
        )
        parser.add_argument("--push-format", choices=["json", "xml"], default="json")
        parser.add_argument(
            "--plaintext",
            action="store_true",
            help="send pushes unencrypted even with an AES key",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        aes_key = getattr(settings, "WECHAT_PUSH_AES_KEY", "") or None
        push = PushConfig(
            url=options["push_url"] or None,
            token=getattr(settings, "WECHAT_PUSH_TOKEN", ""),
            aes_key=None if options["plaintext"] else aes_key,
            appid=settings.WECHAT_APPID,
            format=options["push_format"],
        )
        server = make_server(
            options["host"],
            options["port"],
            appid=settings.WECHAT_APPID,
            secret=settings.WECHAT_SECRET,
            push=push,
        )
        host, port = server.server_address[:2]
        mode = "safe mode (AES)" if push.aes_key else "plaintext"
        self.stdout.write(
            f"WeChat stand-in on http://{host}:{port}/ (appid {settings.WECHAT_APPID}); "
            f"pushes to {push.url} as {push.format}, {mode}; control API at /__standin__/state"
        )
        try:
            server.serve_forever(poll_interval=0.2)
        except KeyboardInterrupt:
            pass
        finally:
            server.stopping.set()
            server.server_close()
