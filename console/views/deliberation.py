"""议事 steering: topics of my region, their stage moves, results and milestones.

Moves, rules and figures are the deliberation app's: Topic.TRANSITIONS / can_move_to decide
which buttons show, do_transition_topic moves (closing a vote computes and publishes the
result), do_add_milestone adds milestones, VoteRulesIn validates the vote rules the same
way the API does.
"""

from __future__ import annotations

from datetime import date, datetime

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.views.decorators.http import require_POST

from console.access import back_url, console_view
from core.errors import InvalidInput
from deliberation import queries as topic_queries
from deliberation.access import access_topic_as_staff, visible_topics_for
from deliberation.actions.milestones import do_add_milestone, do_update_milestone, topic_progress
from deliberation.actions.stages import do_transition_topic
from deliberation.models import Decision, Milestone, Topic, TopicEvent, Vote
from deliberation.serializers import VoteRulesIn
from residents.models import Region

S = Topic.Status
MOVE_LABELS = {
    S.DISCUSSING: "开启讨论",
    S.VOTING: "发布讨论小结并开启表决",
    S.DECIDED: "结束表决并公布结果",
    S.IMPLEMENTING: "进入实施",
    S.EVALUATING: "实施完成，开启效果评估",
    S.CLOSED: "办结",
    S.MERGED: "合并到其他议题",
}


def region_topics(request):
    return visible_topics_for(request.user).filter(neighborhood_id__in=request.console.neighborhood_ids)


def waiting_for_a_move(now: datetime) -> Q:
    """Topics staff should look at: discussion to summarise, votes past their close, results
    to act on, implementation under way, evaluations past their window."""
    return (
        Q(status=S.DISCUSSING)
        | Q(status=S.VOTING, vote__closes_at__lte=now)
        | Q(status=S.DECIDED)
        | Q(status=S.EVALUATING, evaluation_closes_at__lte=now)
    )


def waiting_count(request) -> int:
    return region_topics(request).filter(waiting_for_a_move(timezone.now())).count()


@console_view()
def topic_list(request):
    topics = region_topics(request)
    status = request.GET.get("status", "")
    if status == "waiting":
        topics = topics.filter(waiting_for_a_move(timezone.now()))
    elif status in S.values:
        topics = topics.filter(status=status)
    raw = request.GET.get("neighborhood", "")
    chosen = int(raw) if raw.isdigit() and int(raw) in request.console.neighborhood_ids else None
    if chosen:
        topics = topics.filter(neighborhood_id=chosen)
    listing = topic_queries.with_counts(topics, request.user).order_by(*topic_queries.TOPIC_ORDERING)
    page = Paginator(listing, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "console/topics.html",
        {
            "active": "topics",
            "page": page,
            "status": status,
            "statuses": S.choices,
            "neighborhoods": Region.objects.filter(pk__in=request.console.neighborhood_ids).order_by("code"),
            "chosen": chosen,
        },
    )


def _moves(topic: Topic) -> list[dict]:
    """The staff moves the table allows, each with the Topic.MOVE_CONDITIONS entry it still
    lacks: an unmet condition shows its message instead of the button, or — where staff may
    move on anyway (终止实施) — a form that asks for the reason residents will read."""
    now = timezone.now()
    moves = []
    for to in sorted(Topic.TRANSITIONS.get(topic.status, ()), key=list(S.values).index):
        if Topic.actor_kind_for(to) != "staff" or not topic.can_move_to(to):
            continue
        moves.append({"to": to, "label": MOVE_LABELS.get(to, S(to).label), "unmet": topic.unmet_condition(to, now=now)})
    return moves


@console_view()
def topic_detail(request, topic_id: int):
    topic = access_topic_as_staff(request.user, topic_id)
    topic = topic_queries.with_counts(Topic.objects.filter(pk=topic.pk), request.user).get()
    merge_targets = (
        region_topics(request)
        .filter(neighborhood_id=topic.neighborhood_id, status__in=Topic.PRE_VOTE)
        .exclude(pk=topic.pk)
        .order_by("-created_at")[:50]
    )
    return render(
        request,
        "console/topic_detail.html",
        {
            "active": "topics",
            "topic": topic,
            "moves": _moves(topic),
            "events": TopicEvent.objects.filter(topic=topic).select_related("actor").order_by("created_at", "id"),
            "milestones": Milestone.objects.filter(topic=topic).order_by("due_date", "id"),
            "decision": Decision.objects.filter(topic=topic).first(),
            "vote": Vote.objects.filter(topic=topic).first(),
            "progress": topic_progress(topic)
            if topic.status in (S.IMPLEMENTING, S.EVALUATING, S.CLOSED)
            else None,
            "merge_targets": merge_targets,
            "vote_kinds": Vote.Kind.choices,
            "pass_rules": Vote.PassRule.choices,
            "units": Vote.Unit.choices,
            "milestone_statuses": Milestone.Status.choices,
        },
    )


def _local_datetime(raw: str) -> datetime | None:
    value = parse_datetime(raw) if raw else None
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value)
    return value


def _vote_rules(post) -> dict:
    data = {
        "kind": post.get("kind", ""),
        "pass_rule": post.get("pass_rule", ""),
        "closes_at": _local_datetime(post.get("closes_at", "")),
        "quorum_percent": post.get("quorum_percent") or "0",
        "is_major_matter": post.get("is_major_matter") == "on",
        "allow_change": post.get("allow_change") == "on",
    }
    if post.get("unit"):
        data["unit"] = post["unit"]
    options = [line.strip() for line in post.get("options", "").splitlines() if line.strip()]
    if options:
        data["options"] = options
    if post.get("max_choices", "").isdigit():
        data["max_choices"] = int(post["max_choices"])
    if data["closes_at"] is None:
        data.pop("closes_at")
    serializer = VoteRulesIn(data=data)
    if not serializer.is_valid():
        fields = ", ".join(serializer.errors)
        raise InvalidInput("invalid_vote_rules", f"表决规则填写有误：{fields}")
    return dict(serializer.validated_data)


@require_POST
@console_view()
def topic_transition(request, topic_id: int):
    topic = access_topic_as_staff(request.user, topic_id)
    to = request.POST.get("to", "")
    if to not in S.values:
        raise InvalidInput("invalid_transition", "未知的操作")
    kwargs: dict = {
        "note": request.POST.get("note", "")[:500],
        "expected_from": request.POST.get("from_status") or None,
    }
    if to == S.VOTING:
        kwargs["summary"] = request.POST.get("summary", "")
        kwargs["vote_rules"] = _vote_rules(request.POST)
    elif to == S.EVALUATING:
        if request.POST.get("evaluation_closes_at"):
            kwargs["evaluation_closes_at"] = _local_datetime(request.POST["evaluation_closes_at"])
        kwargs["stop_implementation"] = request.POST.get("stop_implementation") == "on"
    elif to == S.MERGED:
        raw = request.POST.get("merge_into", "")
        kwargs["merge_into_id"] = int(raw) if raw.isdigit() else None
    moved = do_transition_topic(topic_id=topic.pk, actor=request.user, to=to, **kwargs)
    text = f"议题已{S(moved.status).label}"
    if moved.status == S.DECIDED and moved.outcome:
        text += f"：{Topic.Outcome(moved.outcome).label}"
    messages.success(request, text)
    return redirect(back_url(request, reverse("console:topic_detail", args=[topic.pk])))


def _milestone_fields(post) -> dict:
    """The milestone form's fields, checked the way the API's serializer checks them."""
    title = post.get("title", "").strip()[:80]
    if not title:
        raise InvalidInput("title_required", "请填写节点名称")
    raw_due = post.get("due_date", "")
    try:
        due = date.fromisoformat(raw_due) if raw_due else None
        progress = max(0, min(100, int(post.get("progress") or 0)))
    except ValueError:
        raise InvalidInput("invalid_milestone", "日期或进度格式有误") from None
    status = post.get("status") or Milestone.Status.PLANNED
    if status not in Milestone.Status.values:
        raise InvalidInput("invalid_milestone", "节点状态无效")
    return {
        "title": title,
        "due_date": due,
        "status": status,
        "progress": progress,
        "responsible_party": post.get("responsible_party", "").strip()[:64],
        "note": post.get("note", "").strip()[:500],
    }


@require_POST
@console_view()
def add_milestone(request, topic_id: int):
    topic = access_topic_as_staff(request.user, topic_id)
    fields = _milestone_fields(request.POST)
    do_add_milestone(topic_id=topic.pk, actor=request.user, **fields)
    messages.success(request, f"已添加实施节点「{fields['title']}」")
    return redirect(back_url(request, reverse("console:topic_detail", args=[topic.pk])))


@require_POST
@console_view()
def edit_milestone(request, topic_id: int, milestone_id: int):
    topic = access_topic_as_staff(request.user, topic_id)
    fields = _milestone_fields(request.POST)
    # The action checks the milestone belongs to this topic (404 otherwise) and records only what changed.
    do_update_milestone(topic_id=topic.pk, milestone_id=milestone_id, actor=request.user, changes=fields)
    messages.success(request, f"已更新实施节点「{fields['title']}」")
    return redirect(back_url(request, reverse("console:topic_detail", args=[topic.pk])))
