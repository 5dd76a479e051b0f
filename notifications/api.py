"""Inbox, consents and the event log (resync for WebSocket clients)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from core.idempotency import idempotent
from core.pagination import paginate_keyset, parse_limit
from notifications import queries
from notifications.access import access_notification, access_stream
from notifications.actions import (
    do_mark_all_notifications_read,
    do_mark_notification_read,
    do_record_consent_results,
)
from notifications.serializers import (
    ConsentOut,
    ConsentResultsIn,
    ConsentsOut,
    EventOut,
    EventsOut,
    EventsQueryIn,
    InboxOut,
    NotificationOut,
    ReadAllOut,
    TemplateOut,
    TemplatesOut,
)


class InboxView(APIView):
    @extend_schema(
        summary="我的消息",
        parameters=[
            OpenApiParameter("cursor", str, required=False),
            OpenApiParameter("limit", int, required=False),
            OpenApiParameter("unread", bool, required=False, description="只看未读"),
        ],
        responses=InboxOut,
    )
    def get(self, request):
        unread_only = request.query_params.get("unread") in ("1", "true")
        page = paginate_keyset(
            queries.inbox(request.user, unread_only=unread_only),
            ordering=("-id",),
            cursor=request.query_params.get("cursor"),
            limit=parse_limit(request.query_params.get("limit")),
        )
        return Response(
            {
                "results": NotificationOut(page.items, many=True).data,
                "next_cursor": page.next_cursor,
                "unread_count": queries.unread_count(request.user),
            }
        )


class ReadView(APIView):
    @extend_schema(summary="标记一条消息已读", request=None, responses=NotificationOut)
    def post(self, request, notification_id: int):
        notification = access_notification(request.user, notification_id)
        notification = do_mark_notification_read(notification=notification, actor=request.user)
        return Response(NotificationOut(notification).data)


class ReadAllView(APIView):
    @extend_schema(summary="全部标记已读", request=None, responses=ReadAllOut)
    def post(self, request):
        updated = do_mark_all_notifications_read(actor=request.user)
        return Response({"updated": updated, "unread_count": queries.unread_count(request.user)})


class ConsentsView(APIView):
    @extend_schema(summary="我的订阅消息授权", responses=ConsentsOut)
    def get(self, request):
        return Response({"consents": ConsentOut(queries.consents_of(request.user), many=True).data})

    @extend_schema(
        summary="上报订阅消息授权结果",
        description="把 wx.requestSubscribeMessage 的返回原样上报：每个 accept 允许发送一条该模板的消息。",
        request=ConsentResultsIn,
        responses=ConsentsOut,
    )
    @idempotent
    def post(self, request):
        form = ConsentResultsIn(data=request.data)
        form.is_valid(raise_exception=True)
        do_record_consent_results(actor=request.user, results=form.validated_data["results"])
        return Response({"consents": ConsentOut(queries.consents_of(request.user), many=True).data})


class TemplatesView(APIView):
    @extend_schema(
        summary="可订阅的消息模板",
        description="当前用户能收到的每类通知的订阅消息模板（居民看不到工作人员类的），"
        "供小程序调用 wx.requestSubscribeMessage 请求授权，再把结果上报到 /notifications/consents。",
        responses=TemplatesOut,
    )
    def get(self, request):
        return Response({"templates": TemplateOut(queries.templates_for(request.user), many=True).data})


class EventsView(APIView):
    @extend_schema(
        summary="补取实时事件",
        description="WebSocket 断开后按 since 补取错过的事件（按 id 升序）。无权读取的频道返回 404。",
        parameters=[
            OpenApiParameter("stream", str, required=True, description="如 neighborhood.12"),
            OpenApiParameter("since", int, required=False, description="已收到的最后一个事件 id"),
            OpenApiParameter("limit", int, required=False),
        ],
        responses=EventsOut,
    )
    def get(self, request):
        form = EventsQueryIn(data=request.query_params)
        form.is_valid(raise_exception=True)
        stream = access_stream(request.user, form.validated_data["stream"])
        since = form.validated_data["since"]
        events, has_more = queries.events_since(stream, since=since, limit=form.validated_data["limit"])
        return Response(
            {
                "results": EventOut(events, many=True).data,
                "last_id": events[-1].id if events else since,
                "has_more": has_more,
            }
        )
