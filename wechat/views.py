"""`/wechat/callback`: WeChat's message push. No session, no token: the signature is the auth.

GET answers the echostr handshake. POST checks the signature (and in safe mode the
msg_signature, decrypting the body), parses JSON or XML, and hands the event to
`wechat.signals.push_received`. Receivers are idempotent, because WeChat retries a push
it did not see answered with "success" in time.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from core.errors import error_body
from wechat.push import (
    PushMalformed,
    PushSignatureInvalid,
    decrypt_and_parse,
    verify_signature,
)
from wechat.signals import push_received

logger = logging.getLogger(__name__)


def _refuse() -> JsonResponse:
    return JsonResponse(error_body("push_signature_invalid", "消息推送签名无效"), status=403)


@csrf_exempt
@require_http_methods(["GET", "POST"])
def callback(request: HttpRequest) -> HttpResponse:
    query = {key: request.GET.get(key, "") for key in request.GET}
    token = settings.WECHAT_PUSH_TOKEN
    if request.method == "GET":
        if not verify_signature(token, query.get("signature", ""), query.get("timestamp", ""), query.get("nonce", "")):
            return _refuse()
        return HttpResponse(query.get("echostr", ""), content_type="text/plain")
    try:
        message = decrypt_and_parse(
            body=request.body,
            content_type=request.content_type,
            query=query,
            token=token,
            aes_key=settings.WECHAT_PUSH_AES_KEY,
            appid=settings.WECHAT_APPID,
        )
    except PushSignatureInvalid:
        logger.warning("wechat push refused: bad signature from %s", request.META.get("REMOTE_ADDR"))
        return _refuse()
    except PushMalformed as exc:
        logger.warning("wechat push refused: %s", exc)
        return JsonResponse(error_body("push_malformed", "消息推送内容无法解析"), status=400)
    event = str(message.get("Event") or message.get("MsgType") or "")
    results = push_received.send_robust(sender="wechat", event=event, message=message)
    failed = [(receiver, error) for receiver, error in results if isinstance(error, Exception)]
    for receiver, error in failed:
        logger.error("wechat push %s: receiver %r failed", event, receiver, exc_info=error)
    if failed:
        # WeChat retries an unanswered push; every receiver is idempotent, so a retry is safe.
        return HttpResponse("retry", status=500, content_type="text/plain")
    return HttpResponse("success", content_type="text/plain")
