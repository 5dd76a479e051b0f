"""Pushes from WeChat, handed to whoever asked for them.

The callback view (wechat/views.py) verifies and decrypts a push, then sends
`push_received` with `event` (the push's Event, e.g. "wxa_media_check",
"subscribe_msg_popup_event") and `message` (the whole parsed push as a dict).
Domain apps connect receivers in their AppConfig.ready(); wechat imports none of them.
Receivers must be idempotent: WeChat retries a push it did not see answered in time.
"""

from django.dispatch import Signal

push_received = Signal()
