"""The framework's ceiling: the cheapest endpoint the real stack can serve.

It runs the same middleware, the same bearer-token authentication (one indexed token
lookup) and the same JSON renderer as every real endpoint, then returns a constant.
bench/load.py reports each real endpoint as a ratio against it, so the numbers compare
like with like on whatever machine they were measured. Mounted only when
settings.BENCH is true (config/urls.py).
"""

from __future__ import annotations

from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

CEILING_BODY = {"ok": True, "results": [], "next_cursor": None}


class CeilingView(APIView):
    @extend_schema(
        summary="基准：框架上限（仅基准测试时启用）",
        responses=inline_serializer(
            "BenchCeiling",
            {
                "ok": serializers.BooleanField(),
                "results": serializers.ListField(),
                "next_cursor": serializers.CharField(allow_null=True),
            },
        ),
    )
    def get(self, request: Request) -> Response:
        return Response(CEILING_BODY)

    @extend_schema(exclude=True)
    def post(self, request: Request) -> Response:
        # Parses the body like a real create would, so POST rows have their own ceiling.
        _ = request.data
        return Response(CEILING_BODY, status=201)
