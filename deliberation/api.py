"""Thin views: validate, access_*, one action or query, serialize."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import APIView

from core.errors import NotFound
from core.idempotency import idempotent
from core.pagination import page_response, parse_limit
from core.throttling import CommentThrottle, ReportThrottle, TopicThrottle, VoteThrottle
from deliberation import queries
from deliberation import serializers as s
from deliberation.access import access_topic, access_topic_as_staff, is_topic_staff, visible_topics_for
from deliberation.actions.evaluations import do_add_evaluation
from deliberation.actions.milestones import do_add_milestone, do_update_milestone
from deliberation.actions.moderation import do_moderate_reply, do_moderate_topic
from deliberation.actions.replies import do_add_reply
from deliberation.actions.reports import check_report_reply, do_report
from deliberation.actions.stages import do_transition_topic
from deliberation.actions.supports import do_add_support, do_follow_topic, do_remove_support, do_unfollow_topic
from deliberation.actions.topics import do_create_topic, do_edit_topic
from deliberation.actions.votes import do_cast_ballot, hash_receipt
from deliberation.models import Ballot, BallotRevision, Topic
from deliberation.rules import support_threshold

TAG = ["topics"]


IDEMPOTENCY = OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)


def _detail(request, topic_id: int) -> dict:
    topic = queries.topic_detail(topic_id, queryset=visible_topics_for(request.user), user=request.user)
    return s.TopicDetailOut(topic).data


class TopicListView(APIView):
    throttle_classes = [TopicThrottle]

    @extend_schema(
        tags=TAG,
        summary="议题列表",
        operation_id="topics_list",
        parameters=[s.TopicListQuery],
        responses={200: s.TopicPageOut},
    )
    def get(self, request):
        query = s.TopicListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        page = queries.topic_page(
            visible_topics_for(request.user),
            user=request.user,
            neighborhood_id=q.get("neighborhood"),
            status=q.get("status"),
            category=q.get("category"),
            building_group_id=q.get("building_group"),
            content_status=q.get("content_status"),
            cursor=q.get("cursor") or None,
            limit=parse_limit(request.query_params.get("limit")),
        )
        return Response(page_response(page, s.TopicListItemOut(page.items, many=True).data))

    @extend_schema(
        tags=TAG,
        summary="提出议题",
        request=s.TopicCreateIn,
        parameters=[IDEMPOTENCY],
        responses={201: s.TopicDetailOut},
    )
    @idempotent
    def post(self, request):
        data = s.TopicCreateIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        topic = do_create_topic(
            actor=request.user,
            neighborhood_id=v["neighborhood"],
            building_group_id=v.get("building_group"),
            category=v["category"],
            title=v["title"],
            body=v["body"],
            image_ids=v["image_ids"],
        )
        return Response(_detail(request, topic.pk), status=status.HTTP_201_CREATED)


class TopicDetailView(APIView):
    @extend_schema(tags=TAG, summary="议题详情", responses={200: s.TopicDetailOut})
    def get(self, request, topic_id: int):
        access_topic(request.user, topic_id)
        return Response(_detail(request, topic_id))

    @extend_schema(
        tags=TAG,
        summary="提议人修改议题（提议阶段、可修改时间内；改动的文字重新送内容安全检测）",
        request=s.TopicEditIn,
        responses={200: s.TopicDetailOut},
    )
    def patch(self, request, topic_id: int):
        access_topic(request.user, topic_id)
        data = s.TopicEditIn(data=request.data)
        data.is_valid(raise_exception=True)
        do_edit_topic(topic_id=topic_id, actor=request.user, **data.validated_data)
        return Response(_detail(request, topic_id))


class TopicModerationView(APIView):
    @extend_schema(
        tags=TAG,
        summary="工作人员隐藏/恢复（通过审核）/删除议题",
        request=s.ModerationIn,
        responses={200: s.TopicDetailOut},
    )
    def post(self, request, topic_id: int):
        access_topic_as_staff(request.user, topic_id)
        data = s.ModerationIn(data=request.data)
        data.is_valid(raise_exception=True)
        do_moderate_topic(topic_id=topic_id, actor=request.user, **data.validated_data)
        return Response(_detail(request, topic_id))


class ReplyModerationView(APIView):
    @extend_schema(
        tags=TAG,
        summary="工作人员隐藏/恢复（通过审核）/删除发言",
        request=s.ModerationIn,
        responses={200: s.ReplyOut},
    )
    def post(self, request, topic_id: int, reply_id: int):
        access_topic_as_staff(request.user, topic_id)
        data = s.ModerationIn(data=request.data)
        data.is_valid(raise_exception=True)
        reply = do_moderate_reply(
            topic_id=topic_id, reply_id=reply_id, actor=request.user, **data.validated_data
        )
        return Response(s.ReplyOut(reply).data)


def _support_state(request, topic: Topic) -> dict:
    topic.refresh_from_db(fields=["status"])
    return s.SupportOut(
        {
            "topic_id": topic.pk,
            "supported": topic.supports.filter(user=request.user).exists(),
            "support_households": topic.supports.values("household_key").distinct().count(),
            "support_threshold": support_threshold(topic),
            "status": topic.status,
        }
    ).data


class TopicSupportView(APIView):
    throttle_classes = [VoteThrottle]

    @extend_schema(
        tags=TAG,
        summary="附议（幂等）",
        request=None,
        parameters=[IDEMPOTENCY],
        responses={200: s.SupportOut, 201: s.SupportOut},
    )
    @idempotent
    def post(self, request, topic_id: int):
        access_topic(request.user, topic_id)
        topic, created = do_add_support(topic_id=topic_id, actor=request.user)
        return Response(_support_state(request, topic), status=201 if created else 200)

    @extend_schema(tags=TAG, summary="撤回附议（幂等）", request=None, responses={200: s.SupportOut})
    def delete(self, request, topic_id: int):
        access_topic(request.user, topic_id)
        topic = do_remove_support(topic_id=topic_id, actor=request.user)
        return Response(_support_state(request, topic))


class TopicFollowView(APIView):
    @extend_schema(tags=TAG, summary="关注议题（幂等）", request=None, responses={200: s.FollowOut})
    def post(self, request, topic_id: int):
        topic = access_topic(request.user, topic_id)
        do_follow_topic(topic=topic, actor=request.user)
        return Response(s.FollowOut({"topic_id": topic.pk, "following": True}).data)

    @extend_schema(tags=TAG, summary="取消关注（幂等）", request=None, responses={200: s.FollowOut})
    def delete(self, request, topic_id: int):
        topic = access_topic(request.user, topic_id)
        do_unfollow_topic(topic=topic, actor=request.user)
        return Response(s.FollowOut({"topic_id": topic.pk, "following": False}).data)


class TopicRepliesView(APIView):
    throttle_classes = [CommentThrottle]

    @extend_schema(
        tags=TAG,
        summary="讨论发言（按时间正序，游标分页）",
        parameters=[s.ReplyListQuery, OpenApiParameter("limit", int, required=False)],
        responses={200: s.ReplyPageOut},
    )
    def get(self, request, topic_id: int):
        topic = access_topic(request.user, topic_id)
        query = s.ReplyListQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        page = queries.reply_page(
            topic,
            viewer=request.user,
            is_staff=is_topic_staff(request.user, topic),
            cursor=q.get("cursor") or None,
            limit=parse_limit(request.query_params.get("limit")),
            stance=q.get("stance"),
            content_status=q.get("content_status"),
        )
        return Response(page_response(page, s.ReplyOut(page.items, many=True).data))

    @extend_schema(
        tags=TAG,
        summary="发言（居民须选择立场；工作人员可发布官方回复）",
        request=s.ReplyIn,
        parameters=[IDEMPOTENCY],
        responses={201: s.ReplyOut},
    )
    @idempotent
    def post(self, request, topic_id: int):
        access_topic(request.user, topic_id)
        data = s.ReplyIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        reply = do_add_reply(
            topic_id=topic_id, actor=request.user, body=v["body"], stance=v["stance"], official=v["official"]
        )
        return Response(s.ReplyOut(reply).data, status=status.HTTP_201_CREATED)


class TopicTransitionView(APIView):
    @extend_schema(
        tags=TAG,
        summary="推进议题阶段（工作人员；撤回限提议人）",
        request=s.TopicTransitionIn,
        parameters=[IDEMPOTENCY],
        responses={200: s.TopicDetailOut},
    )
    @idempotent
    def post(self, request, topic_id: int):
        access_topic(request.user, topic_id)
        data = s.TopicTransitionIn(data=request.data)
        data.is_valid(raise_exception=True)
        v = data.validated_data
        do_transition_topic(
            topic_id=topic_id,
            actor=request.user,
            to=v["to"],
            note=v["note"],
            expected_from=v.get("from_status"),
            summary=v["summary"],
            vote_rules=v.get("vote"),
            merge_into_id=v.get("merge_into"),
            evaluation_closes_at=v.get("evaluation_closes_at"),
            stop_implementation=v["stop_implementation"],
        )
        return Response(_detail(request, topic_id))


class TopicBallotView(APIView):
    throttle_classes = [VoteThrottle]

    @extend_schema(
        tags=TAG,
        summary="投票（回执码只返回一次）",
        request=s.BallotIn,
        parameters=[IDEMPOTENCY],
        responses={201: s.BallotOut, 200: s.BallotOut},
    )
    @idempotent
    def post(self, request, topic_id: int):
        access_topic(request.user, topic_id)
        data = s.BallotIn(data=request.data)
        data.is_valid(raise_exception=True)
        result = do_cast_ballot(topic_id=topic_id, actor=request.user, choices=data.validated_data["choices"])
        body = s.BallotOut(
            {
                "topic_id": topic_id,
                "choices": sorted(data.validated_data["choices"]),
                "receipt_code": result.receipt_code,
                "changed": result.changed,
                "cast_at": result.ballot.updated_at,
            }
        ).data
        return Response(body, status=200 if result.changed else 201)


class TopicReceiptView(APIView):
    @extend_schema(
        tags=TAG, summary="核验回执码：选票是否按所投计入（不显示投票人）", responses={200: s.ReceiptOut}
    )
    def get(self, request, topic_id: int, code: str):
        topic = access_topic(request.user, topic_id)
        receipt_hash = hash_receipt(code)
        ballot = Ballot.objects.filter(topic=topic, receipt_hash=receipt_hash).first()
        if ballot is not None:
            state = (
                "counted"
                if hasattr(topic, "decision") or topic.status not in (*Topic.PRE_VOTE, "voting")
                else "recorded"
            )
            choices = sorted(ballot.marks.values_list("option", flat=True))
            recorded_at = ballot.updated_at
        else:
            revision = BallotRevision.objects.filter(ballot__topic=topic, receipt_hash=receipt_hash).first()
            if revision is None:
                raise NotFound("receipt_not_found", "回执码不存在")
            state, choices, recorded_at = "superseded", revision.choices, revision.replaced_at
        return Response(
            s.ReceiptOut({"topic_id": topic.pk, "status": state, "choices": choices, "recorded_at": recorded_at}).data
        )


class TopicMilestonesView(APIView):
    @extend_schema(
        tags=TAG,
        summary="新增实施节点（工作人员）",
        request=s.MilestoneIn,
        parameters=[IDEMPOTENCY],
        responses={201: s.MilestoneOut},
    )
    @idempotent
    def post(self, request, topic_id: int):
        access_topic_as_staff(request.user, topic_id)
        data = s.MilestoneIn(data=request.data)
        data.is_valid(raise_exception=True)
        milestone = do_add_milestone(topic_id=topic_id, actor=request.user, **data.validated_data)
        milestone = queries.milestone_for(milestone.pk, user=request.user)
        return Response(s.MilestoneOut(milestone).data, status=status.HTTP_201_CREATED)


class MilestoneDetailView(APIView):
    @extend_schema(
        tags=TAG,
        summary="更新实施节点（工作人员）",
        request=s.MilestonePatchIn,
        responses={200: s.MilestoneOut},
    )
    def patch(self, request, topic_id: int, milestone_id: int):
        access_topic_as_staff(request.user, topic_id)
        data = s.MilestonePatchIn(data=request.data)
        data.is_valid(raise_exception=True)
        milestone = do_update_milestone(
            topic_id=topic_id, milestone_id=milestone_id, actor=request.user, changes=dict(data.validated_data)
        )
        return Response(s.MilestoneOut(queries.milestone_for(milestone.pk, user=request.user)).data)


class TopicEvaluationsView(APIView):
    @extend_schema(
        tags=TAG,
        summary="逐条效果评价（仅本居委工作人员；居民只看汇总）",
        parameters=[OpenApiParameter("cursor", str, required=False), OpenApiParameter("limit", int, required=False)],
        responses={200: s.EvaluationPageOut},
    )
    def get(self, request, topic_id: int):
        topic = access_topic_as_staff(request.user, topic_id)
        page = queries.evaluation_page(
            topic,
            cursor=request.query_params.get("cursor") or None,
            limit=parse_limit(request.query_params.get("limit")),
        )
        return Response(page_response(page, s.EvaluationListItemOut(page.items, many=True).data))

    @extend_schema(
        tags=TAG,
        summary="效果评价（1–5 分，每人一次）",
        request=s.EvaluationIn,
        parameters=[IDEMPOTENCY],
        responses={201: s.EvaluationOut},
    )
    @idempotent
    def post(self, request, topic_id: int):
        access_topic(request.user, topic_id)
        data = s.EvaluationIn(data=request.data)
        data.is_valid(raise_exception=True)
        evaluation = do_add_evaluation(topic_id=topic_id, actor=request.user, **data.validated_data)
        return Response(s.EvaluationOut(evaluation).data, status=status.HTTP_201_CREATED)


CURSOR_PARAMS = [OpenApiParameter("cursor", str, required=False), OpenApiParameter("limit", int, required=False)]


class MyTopicsView(APIView):
    @extend_schema(
        tags=TAG,
        summary="我提出的议题（含待审核、已隐藏的，按时间倒序）",
        parameters=CURSOR_PARAMS,
        responses={200: s.MyTopicPageOut},
    )
    def get(self, request):
        page = queries.my_topics_page(
            user=request.user,
            cursor=request.query_params.get("cursor") or None,
            limit=parse_limit(request.query_params.get("limit")),
        )
        return Response(page_response(page, s.MyTopicOut(page.items, many=True).data))


class TopicReportView(APIView):
    throttle_classes = [ReportThrottle]

    @extend_schema(
        tags=TAG,
        summary="举报议题",
        request=s.TopicReportIn,
        parameters=[IDEMPOTENCY],
        responses={201: s.TopicReportOut},
    )
    @idempotent
    def post(self, request, topic_id: int):
        topic = access_topic(request.user, topic_id)
        data = s.TopicReportIn(data=request.data)
        data.is_valid(raise_exception=True)
        report = do_report(actor=request.user, topic=topic, **data.validated_data)
        return Response(s.TopicReportOut(report).data, status=status.HTTP_201_CREATED)


class ReplyReportView(APIView):
    throttle_classes = [ReportThrottle]

    @extend_schema(
        tags=TAG,
        summary="举报议事发言",
        request=s.TopicReportIn,
        parameters=[IDEMPOTENCY],
        responses={201: s.TopicReportOut},
    )
    @idempotent
    def post(self, request, topic_id: int, reply_id: int):
        topic = access_topic(request.user, topic_id)
        reply = check_report_reply(actor=request.user, topic=topic, reply_id=reply_id)
        data = s.TopicReportIn(data=request.data)
        data.is_valid(raise_exception=True)
        report = do_report(actor=request.user, topic=topic, reply=reply, **data.validated_data)
        return Response(s.TopicReportOut(report).data, status=status.HTTP_201_CREATED)


class ModerationQueueView(APIView):
    @extend_schema(
        tags=TAG,
        summary="议事待处理队列：待人工审核、因举报隐藏、有未处理举报的议题/发言（最早的在前）",
        parameters=[s.ModerationQueueQuery, OpenApiParameter("limit", int, required=False)],
        responses={200: s.QueueTopicPageOut},
    )
    def get(self, request):
        query = s.ModerationQueueQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        q = query.validated_data
        page = queries.moderation_queue_page(
            user=request.user,
            neighborhood_id=q.get("neighborhood"),
            kind=q["kind"],
            cursor=q.get("cursor") or None,
            limit=parse_limit(request.query_params.get("limit")),
        )
        out = s.QueueReplyOut if q["kind"] == "reply" else s.QueueTopicOut
        return Response(page_response(page, out(page.items, many=True).data))
