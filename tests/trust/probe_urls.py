"""Test-only endpoints mounted next to the real ones, to drive the shared machinery
(body limits, the exception handler, faults) without depending on a domain app."""

import uuid

from django.core.cache import cache
from django.db import OperationalError, connection, transaction
from django.urls import include, path
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import InvalidInput
from core.idempotency import idempotent
from core.models import IdempotencyRecord
from core.throttling import LoginThrottle, PostThrottle


@extend_schema(exclude=True)
class EchoProbe(APIView):
    def post(self, request):
        return Response({"received": len(str(request.data))})

    def get(self, request):
        return Response({"user": request.user.pk})


@extend_schema(exclude=True)
class ThrottledPostProbe(APIView):
    throttle_classes = [PostThrottle]

    def get(self, request):
        return Response({"ok": True})

    def post(self, request):
        return Response({"ok": True}, status=201)


@extend_schema(exclude=True)
class KeyedPostProbe(APIView):
    """A throttled create that honours Idempotency-Key; an empty title is refused."""

    throttle_classes = [PostThrottle]

    @idempotent
    def post(self, request):
        if not request.data.get("title"):
            raise InvalidInput("title_required", "标题不能为空")
        return Response({"title": request.data["title"], "made": uuid.uuid4().hex}, status=201)


@extend_schema(exclude=True)
class CacheReadProbe(APIView):
    """A feature that reads the cache without degrading: Redis errors reach the handler."""

    def get(self, request):
        return Response({"value": cache.get("probe")})


@extend_schema(exclude=True)
class ThrottledLoginProbe(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [LoginThrottle]

    def post(self, request):
        return Response({"ok": True})


@extend_schema(exclude=True)
class DropConnectionProbe(APIView):
    """Writes a row, then loses the database connection before the transaction commits."""

    def post(self, request):
        with transaction.atomic():
            IdempotencyRecord.objects.create(user=request.user, key="probe-half-written", scope="probe", fingerprint="x")
            with connection.execute_wrapper(_dropped_link):
                IdempotencyRecord.objects.create(user=request.user, key="probe-second", scope="probe", fingerprint="x")
        return Response({"ok": True}, status=201)


def _dropped_link(execute, sql, params, many, context):
    """What psycopg raises when the server or the network goes away under a query."""
    raise OperationalError("server closed the connection unexpectedly")


urlpatterns = [
    path("api/v1/_probe/echo", EchoProbe.as_view()),
    path("api/v1/_probe/posts", ThrottledPostProbe.as_view()),
    path("api/v1/_probe/login", ThrottledLoginProbe.as_view()),
    path("api/v1/_probe/keyed-posts", KeyedPostProbe.as_view()),
    path("api/v1/_probe/cache", CacheReadProbe.as_view()),
    path("api/v1/_probe/drop-connection", DropConnectionProbe.as_view()),
    path("", include("config.urls")),
]

handler400 = "core.views.bad_request"
handler403 = "core.views.permission_denied"
handler404 = "core.views.page_not_found"
handler500 = "core.views.server_error"
