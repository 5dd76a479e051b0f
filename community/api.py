"""Thin views: validate, access, one action or query, serialize."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from community import actions, feed, queries
from community import serializers as s
from community.access import access_comment, access_post, can_moderate_post
from community.models import GONE_STATUSES, ContentStatus, ModerationLog, sections
from core.errors import Forbidden, InvalidInput, NotFound
from core.idempotency import idempotent
from core.pagination import page_response, parse_limit
from core.parsers import SafeMultiPartParser
from core.throttling import CommentThrottle, PostThrottle, ReportThrottle, UploadThrottle
from images.pipeline import do_upload_image
from residents.access import access_neighborhood, can_moderate

CURSOR_PARAMS = [
    OpenApiParameter("cursor", str, required=False, description="上一页返回的 next_cursor"),
    OpenApiParameter("limit", int, required=False, description="每页条数，1–100，默认 20"),
]


def _int_param(request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except ValueError:
        raise InvalidInput("invalid_parameter", f"{name} 必须是整数") from None


def _bool_param(request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw in (None, ""):
        return None
    if raw in ("true", "1"):
        return True
    if raw in ("false", "0"):
        return False
    raise InvalidInput("invalid_parameter", f"{name} 只能是 true 或 false")


def _post_detail(request, post_id: int) -> dict:
    post = queries.post_detail(viewer=request.user, post_id=post_id)
    return s.PostDetailOutput(post, context={"viewer": request.user}).data


class ImageUploadView(APIView):
    parser_classes = [SafeMultiPartParser]
    throttle_classes = [UploadThrottle]

    @extend_schema(
        request={"multipart/form-data": s.ImageUploadInput},
        responses={201: s.ImageOutput},
        summary="上传图片（去除EXIF等元数据，生成缩略图，送微信内容安全审核）",
    )
    @idempotent
    def post(self, request):
        upload = request.FILES.get("file")
        if upload is None:
            raise InvalidInput("image_missing", "请选择要上传的图片", fields={"file": "必填"})
        image = do_upload_image(owner=request.user, upload=upload)
        return Response(s.ImageOutput(image).data, status=201)


class SectionListView(APIView):
    @extend_schema(responses=s.SectionOutput(many=True), summary="栏目列表")
    def get(self, request):
        return Response(s.SectionOutput(sections(), many=True).data)


class FeedView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("section", str, required=False), *CURSOR_PARAMS],
        responses=s.FeedPageOutput,
        summary="居委/村的社区通信息流（置顶在前，其余按时间倒序；含街道/区广播公告）",
    )
    def get(self, request, neighborhood_id: int):
        return Response(
            feed.feed_page(
                viewer=request.user,
                neighborhood_id=neighborhood_id,
                section=request.query_params.get("section") or None,
                cursor=request.query_params.get("cursor") or None,
                limit=parse_limit(request.query_params.get("limit")),
            )
        )  # the shape of s.FeedPageOutput, built without serializers (community/feed.py)


class PostCreateView(APIView):
    throttle_classes = [PostThrottle]

    @extend_schema(request=s.PostCreateInput, responses={201: s.PostDetailOutput}, summary="发帖 / 发布公告")
    @idempotent
    def post(self, request):
        data = s.PostCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        post = actions.do_create_post(author=request.user, **data.validated_data)
        return Response(_post_detail(request, post.pk), status=201)


class PostDetailView(APIView):
    @extend_schema(responses=s.PostDetailOutput, summary="帖子详情（原图）")
    def get(self, request, post_id: int):
        access_post(request.user, post_id)
        return Response(_post_detail(request, post_id))

    @extend_schema(request=s.PostEditInput, responses=s.PostDetailOutput, summary="作者在可编辑时间内修改帖子")
    def patch(self, request, post_id: int):
        access_post(request.user, post_id)
        data = s.PostEditInput(data=request.data)
        data.is_valid(raise_exception=True)
        actions.do_edit_post(post_id=post_id, actor=request.user, **data.validated_data)
        return Response(_post_detail(request, post_id))

    @extend_schema(responses={204: None}, summary="作者删除自己的帖子")
    def delete(self, request, post_id: int):
        access_post(request.user, post_id)
        actions.do_delete_post(post_id=post_id, actor=request.user)
        return Response(status=204)


class UnansweredView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("neighborhood_id", int, required=False),
            OpenApiParameter("overdue", bool, required=False, description="true：仅已超时；false：仅未超时"),
            *CURSOR_PARAMS,
        ],
        responses=s.UnansweredPageOutput,
        summary="发帖必响应：本辖区尚未官方回复的居民帖子（已超时的在前，按回应时限排序）",
    )
    def get(self, request):
        page = queries.unanswered_page(
            viewer=request.user,
            neighborhood_id=_int_param(request, "neighborhood_id"),
            overdue=_bool_param(request, "overdue"),
            cursor=request.query_params.get("cursor") or None,
            limit=parse_limit(request.query_params.get("limit")),
        )
        return Response(page_response(page, s.PostAnswerOutput(page.items, many=True).data))


MY_POST_STATUSES = [status for status in ContentStatus.values if status not in GONE_STATUSES]


class MyPostsView(APIView):
    @extend_schema(
        parameters=[OpenApiParameter("status", str, required=False, enum=MY_POST_STATUSES), *CURSOR_PARAMS],
        responses=s.MyPostPageOutput,
        summary="我发的帖子（含待审核、已隐藏的，按时间倒序）",
    )
    def get(self, request):
        status = request.query_params.get("status") or None
        if status is not None and status not in MY_POST_STATUSES:
            raise InvalidInput("invalid_parameter", "status 无效", fields={"status": status})
        page = queries.my_posts_page(
            viewer=request.user,
            status=status,
            cursor=request.query_params.get("cursor") or None,
            limit=parse_limit(request.query_params.get("limit")),
        )
        return Response(page_response(page, s.MyPostOutput(page.items, many=True).data))


class CommentListCreateView(APIView):
    throttle_classes = [CommentThrottle]  # counts the POST only: reading a thread is free

    @extend_schema(parameters=CURSOR_PARAMS, responses=s.CommentPageOutput, summary="评论与回复（按时间正序，回复带 parent_id）")
    def get(self, request, post_id: int):
        post = access_post(request.user, post_id)
        page = queries.comments_page(
            viewer=request.user, post=post, cursor=request.query_params.get("cursor") or None,
            limit=parse_limit(request.query_params.get("limit")),
        )
        return Response(page_response(page, s.CommentOutput(page.items, many=True).data))

    @extend_schema(request=s.CommentCreateInput, responses={201: s.CommentOutput}, summary="评论 / 回复 / 官方回复")
    @idempotent
    def post(self, request, post_id: int):
        post = access_post(request.user, post_id)
        data = s.CommentCreateInput(data=request.data)
        data.is_valid(raise_exception=True)
        comment = actions.do_create_comment(post=post, author=request.user, **data.validated_data)
        return Response(_comment_out(comment), status=201)


def _comment_out(comment) -> dict:
    from community.models import Comment
    from community.queries import _badge_prefetch

    fresh = Comment.objects.select_related("author").prefetch_related(_badge_prefetch("author__roles")).get(pk=comment.pk)
    return s.CommentOutput(fresh).data


class CommentDetailView(APIView):
    @extend_schema(responses={204: None}, summary="作者删除自己的评论")
    def delete(self, request, comment_id: int):
        access_comment(request.user, comment_id)
        actions.do_delete_comment(comment_id=comment_id, actor=request.user)
        return Response(status=204)


class LikeView(APIView):
    def _answer(self, post_id: int, liked: bool) -> Response:
        from community.models import Post

        count = Post.objects.filter(pk=post_id).values_list("like_count", flat=True).first() or 0
        return Response(s.LikeOutput({"liked": liked, "like_count": count}).data)

    @extend_schema(request=None, responses=s.LikeOutput, summary="点赞（重复点赞无副作用）")
    def post(self, request, post_id: int):
        post = access_post(request.user, post_id)
        actions.do_like_post(post=post, user=request.user)
        return self._answer(post_id, True)

    @extend_schema(request=None, responses=s.LikeOutput, summary="取消点赞（重复取消无副作用）")
    def delete(self, request, post_id: int):
        post = access_post(request.user, post_id)
        actions.do_unlike_post(post=post, user=request.user)
        return self._answer(post_id, False)


class PostReportView(APIView):
    throttle_classes = [ReportThrottle]

    @extend_schema(request=s.ReportInput, responses={201: s.ReportOutput}, summary="举报帖子")
    @idempotent
    def post(self, request, post_id: int):
        post = access_post(request.user, post_id)
        data = s.ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = actions.do_report(reporter=request.user, post=post, **data.validated_data)
        return Response(s.ReportOutput(report).data, status=201)


class CommentReportView(APIView):
    throttle_classes = [ReportThrottle]

    @extend_schema(request=s.ReportInput, responses={201: s.ReportOutput}, summary="举报评论")
    @idempotent
    def post(self, request, comment_id: int):
        comment = access_comment(request.user, comment_id)
        data = s.ReportInput(data=request.data)
        data.is_valid(raise_exception=True)
        report = actions.do_report(reporter=request.user, post=comment.post, comment=comment, **data.validated_data)
        return Response(s.ReportOutput(report).data, status=201)


class PostModerationView(APIView):
    @extend_schema(request=s.PostModerationInput, responses=s.PostDetailOutput, summary="版主/居委处理帖子")
    def post(self, request, post_id: int):
        post = access_post_or_moderated(request.user, post_id)
        if not can_moderate_post(request.user, post):
            raise Forbidden("not_moderator", "仅限版主或居委工作人员")
        data = s.PostModerationInput(data=request.data)
        data.is_valid(raise_exception=True)
        actions.do_moderate_post(post_id=post_id, actor=request.user, **data.validated_data)
        return Response(_post_detail(request, post_id))


def access_post_or_moderated(user, post_id: int):
    """Moderators reach hidden and removed posts too; others only what they can see."""
    from community.access import access_post_for_moderation

    try:
        return access_post_for_moderation(user, post_id)
    except NotFound:
        return access_post(user, post_id)


class CommentModerationView(APIView):
    @extend_schema(request=s.CommentModerationInput, responses=s.CommentOutput, summary="版主/居委处理评论")
    def post(self, request, comment_id: int):
        from community.access import access_comment_for_moderation

        try:
            comment = access_comment_for_moderation(request.user, comment_id)
        except NotFound:
            access_comment(request.user, comment_id)
            raise Forbidden("not_moderator", "仅限版主或居委工作人员") from None
        data = s.CommentModerationInput(data=request.data)
        data.is_valid(raise_exception=True)
        comment = actions.do_moderate_comment(comment_id=comment.pk, actor=request.user, **data.validated_data)
        return Response(_comment_out(comment))


class ModerationQueueView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("neighborhood_id", int, required=False),
            OpenApiParameter("kind", str, required=False, enum=["post", "comment"]),
            *CURSOR_PARAMS,
        ],
        responses=s.QueuePostPageOutput,
        summary="待处理队列：待人工审核、因举报隐藏、有未处理举报的内容（最早的在前）",
    )
    def get(self, request):
        kind = request.query_params.get("kind") or "post"
        if kind not in ("post", "comment"):
            raise InvalidInput("invalid_parameter", "kind 只能是 post 或 comment")
        page = queries.moderation_queue_page(
            viewer=request.user,
            neighborhood_id=_int_param(request, "neighborhood_id"),
            kind=kind,
            cursor=request.query_params.get("cursor") or None,
            limit=parse_limit(request.query_params.get("limit")),
        )
        out = s.QueueCommentOutput if kind == "comment" else s.QueuePostOutput
        return Response(page_response(page, out(page.items, many=True).data))


class PostModerationLogView(APIView):
    @extend_schema(responses=s.ModerationLogOutput(many=True), summary="帖子的管理日志（只增不改）")
    def get(self, request, post_id: int):
        post = access_post_or_moderated(request.user, post_id)
        if not can_moderate_post(request.user, post):
            raise Forbidden("not_moderator", "仅限版主或居委工作人员")
        entries = ModerationLog.objects.filter(post_id=post.pk).order_by("created_at", "id")
        return Response(s.ModerationLogOutput(entries, many=True).data)


class MuteListCreateView(APIView):
    @extend_schema(
        parameters=[
            OpenApiParameter("active", bool, required=False, description="默认 true：仅仍在禁言期内的；false：含已到期/已解除的"),
            *CURSOR_PARAMS,
        ],
        responses=s.MutePageOutput,
        summary="本居委/村的禁言名单（版主/居委工作人员）",
    )
    def get(self, request, neighborhood_id: int):
        neighborhood = access_neighborhood(request.user, neighborhood_id)
        if not can_moderate(request.user, neighborhood.pk):
            raise Forbidden("not_moderator", "仅限版主或居委工作人员")
        active = _bool_param(request, "active")
        page = queries.mutes_page(
            neighborhood=neighborhood,
            active_only=active is not False,
            cursor=request.query_params.get("cursor") or None,
            limit=parse_limit(request.query_params.get("limit")),
        )
        return Response(page_response(page, s.MuteListOutput(page.items, many=True).data))

    @extend_schema(request=s.MuteInput, responses={201: s.MuteOutput}, summary="在本居委/村禁言某位居民一段时间")
    @idempotent
    def post(self, request, neighborhood_id: int):
        neighborhood = access_neighborhood(request.user, neighborhood_id)
        if not can_moderate(request.user, neighborhood.pk):
            raise Forbidden("not_moderator", "仅限版主或居委工作人员")
        data = s.MuteInput(data=request.data)
        data.is_valid(raise_exception=True)
        mute = actions.do_mute_user(neighborhood=neighborhood, actor=request.user, **data.validated_data)
        return Response(s.MuteOutput(mute).data, status=201)

