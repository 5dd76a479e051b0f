"""GET /api/v1/me/export and DELETE /api/v1/me (PIPL: access and erasure by the owner)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from privacy import pipl


class ExportOut(serializers.Serializer):
    exported_at = serializers.DateTimeField()
    user_id = serializers.IntegerField()
    sections = serializers.DictField(
        child=serializers.JSONField(), help_text="每个模块一节：resident 资料、家庭、服务对象、授权、消息……"
    )


class MeExportView(APIView):
    @extend_schema(
        tags=["me"],
        summary="导出我的个人信息（含我登记的老人）",
        description="按《个人信息保护法》提供本人全部个人信息的副本，手机号等为完整值。",
        responses={200: ExportOut},
    )
    def get(self, request):
        return Response(ExportOut(pipl.export_user(request.user)).data)


def erase_me(request) -> Response:
    """The body of DELETE /api/v1/me, for whichever view owns the /me path."""
    pipl.do_erase_user(user=request.user, actor=request.user, screen=f"{request.method} {request.path}")
    return Response(status=204)


ERASE_SCHEMA = extend_schema(
    tags=["me"],
    summary="注销账号并删除我的个人信息",
    description=(
        "删除手机号、住址、服务对象等个人信息，撤销所有登录凭证；已发布的公开内容保留，显示为“已注销用户”。"
        "不可撤销。"
    ),
    request=None,
    responses={204: OpenApiResponse(description="已注销")},
)


class MeEraseView(APIView):
    """Standalone DELETE /me, for deployments where no other view serves /me."""

    @ERASE_SCHEMA
    def delete(self, request):
        return erase_me(request)
