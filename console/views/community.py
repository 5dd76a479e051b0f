"""内容审核, 待回复 and 发布公告 over the community app's access helpers, queries and actions."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from community import actions as community_actions
from community import queries as community_queries
from community.access import (
    access_comment_for_moderation,
    access_post,
    access_post_for_moderation,
    moderated_neighborhood_ids,
)
from community.models import ContentStatus, ModerationLog, Mute, Post, Report, sections
from console.access import back_url, console_view
from core.errors import InvalidInput, NotFound
from residents.models import Region

PAGE_SIZE = 30
MAX_MUTE_HOURS = 24 * 90  # what the API's MuteInput allows
ACTION_LABELS = dict(ModerationLog.Action.choices)


def _neighborhood_param(request, allowed: set[int] | frozenset[int]) -> int | None:
    raw = request.GET.get("neighborhood", "")
    return int(raw) if raw.isdigit() and int(raw) in allowed else None


def _report_summary(kind: str, ids: list[int]) -> dict[int, list[dict]]:
    """Open reports per item, grouped by reason: one query for the page."""
    if not ids:
        return {}
    reports = Report.objects.filter(status=Report.Status.OPEN)
    if kind == "comment":
        reports, key = reports.filter(comment_id__in=ids), "comment_id"
    else:
        reports, key = reports.filter(post_id__in=ids, comment__isnull=True), "post_id"
    summary: dict[int, list[dict]] = {}
    reasons = dict(Report.Reason.choices)
    for row in reports.values(key, "reason").annotate(n=Count("id")).order_by(key, "-n"):
        summary.setdefault(row[key], []).append({"reason": reasons.get(row["reason"], row["reason"]), "n": row["n"]})
    return summary


@console_view(moderation=True)
def moderation_queue(request):
    region_ids = moderated_neighborhood_ids(request.user)
    kind = "comment" if request.GET.get("kind") == "comment" else "post"
    chosen = _neighborhood_param(request, region_ids)
    page = community_queries.moderation_queue_page(
        viewer=request.user, neighborhood_id=chosen, kind=kind, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
    )
    reports = _report_summary(kind, [item.pk for item in page.items])
    return render(
        request,
        "console/moderation_queue.html",
        {
            "active": "moderation",
            "kind": kind,
            "items": [{"item": item, "reports": reports.get(item.pk, [])} for item in page.items],
            "next_cursor": page.next_cursor,
            "neighborhoods": Region.objects.filter(pk__in=region_ids).order_by("code"),
            "chosen": chosen,
        },
    )


@require_POST
@console_view(moderation=True)
def moderate(request, kind: str, item_id: int):
    action = request.POST.get("action", "")
    reason = request.POST.get("reason", "")[:200]
    if kind == "comment":
        comment = access_comment_for_moderation(request.user, item_id)
        community_actions.do_moderate_comment(comment_id=comment.pk, actor=request.user, action=action, reason=reason)
    else:
        post = access_post_for_moderation(request.user, item_id)
        community_actions.do_moderate_post(post_id=post.pk, actor=request.user, action=action, reason=reason)
    messages.success(request, f"已{ACTION_LABELS.get(action, action)}")
    return redirect(back_url(request, reverse("console:moderation")))


@console_view(moderation=True)
def moderation_log(request):
    scope = request.console
    # Broadcast announcements are logged on their street or district.
    region_ids = moderated_neighborhood_ids(request.user) | set(scope.street_ids) | set(scope.district_ids)
    entries = (
        ModerationLog.objects.filter(region_id__in=region_ids)
        .select_related("actor", "post", "comment", "target_user", "region")
        .order_by("-created_at", "-id")
    )
    chosen = _neighborhood_param(request, region_ids)
    if chosen:
        entries = entries.filter(region_id=chosen)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    return render(request, "console/moderation_log.html", {"active": "moderation", "page": page})


@console_view()
def unanswered(request):
    scope = request.console
    chosen = _neighborhood_param(request, scope.neighborhood_ids)
    page = community_queries.unanswered_page(
        viewer=request.user, neighborhood_id=chosen, cursor=request.GET.get("cursor"), limit=PAGE_SIZE
    )
    return render(
        request,
        "console/unanswered.html",
        {
            "active": "unanswered",
            "posts": page.items,
            "next_cursor": page.next_cursor,
            "neighborhoods": Region.objects.filter(pk__in=scope.neighborhood_ids).order_by("code"),
            "chosen": chosen,
        },
    )


@require_POST
@console_view()
def official_reply(request, post_id: int):
    post = access_post(request.user, post_id)
    body = request.POST.get("body", "").strip()
    if not body:
        messages.error(request, "请填写回复内容")
        return redirect(back_url(request, reverse("console:unanswered")))
    comment = community_actions.do_create_comment(post=post, actor=request.user, body=body[:500], official=True)
    if comment.status == ContentStatus.PUBLISHED:
        messages.success(request, f"已官方回复《{post.title}》")
    else:
        messages.info(request, "回复已提交，内容安全检查通过后显示")
    return redirect(back_url(request, reverse("console:unanswered")))


def announcement_targets(scope) -> list[dict]:
    """Where this staff member may publish: their neighborhoods, and whole streets / the district they run."""
    targets = []
    for region in Region.objects.filter(pk__in=scope.district_ids | scope.street_ids).order_by("level", "code"):
        targets.append(
            {"value": f"broadcast:{region.pk}", "label": f"{region.name}（全{region.get_level_display()}广播）"}
        )
    for region in Region.objects.filter(pk__in=scope.neighborhood_ids).order_by("code"):
        targets.append({"value": f"neighborhood:{region.pk}", "label": region.name})
    return targets


@console_view()
def announce(request):
    scope = request.console
    staff_sections = [s for s in sections() if s.get("staff_only")]
    form = {"title": "", "body": "", "target": "", "section": staff_sections[0]["key"] if staff_sections else ""}
    if request.method == "POST":
        form = {k: request.POST.get(k, "").strip() for k in form}
        kind, _, raw_id = form["target"].partition(":")
        if not (form["title"] and form["body"] and raw_id.isdigit() and kind in ("broadcast", "neighborhood")):
            messages.error(request, "请填写标题、正文并选择发布范围")
        else:
            post = community_actions.do_create_post(
                actor=request.user,
                section=form["section"],
                title=form["title"][:60],
                body=form["body"][:2000],
                neighborhood_id=int(raw_id) if kind == "neighborhood" else None,
                broadcast_region_id=int(raw_id) if kind == "broadcast" else None,
            )
            if post.status == ContentStatus.PUBLISHED:
                messages.success(request, f"公告《{post.title}》已发布（{post.get_scope_display()}）")
            else:
                messages.info(request, f"公告《{post.title}》已提交，状态：{post.get_status_display()}")
            return redirect(reverse("console:announce"))
    recent = (
        Post.objects.filter(author=request.user, section__in=[s["key"] for s in staff_sections])
        .select_related("region")
        .order_by("-created_at", "-id")[:10]
    )
    return render(
        request,
        "console/announce.html",
        {
            "active": "announce",
            "form": form,
            "sections": staff_sections,
            "targets": announcement_targets(scope),
            "recent": recent,
        },
    )


@console_view(moderation=True)
def mutes(request):
    """禁言管理: active mutes in the neighborhoods I moderate; mute and lift through community's actions."""
    region_ids = moderated_neighborhood_ids(request.user)
    chosen = _neighborhood_param(request, region_ids)
    active = (
        Mute.objects.filter(neighborhood_id__in=[chosen] if chosen else region_ids, until__gt=timezone.now())
        .select_related("user", "created_by", "neighborhood")
        .order_by("until", "id")
    )
    page = Paginator(active, 50).get_page(request.GET.get("page"))
    prefill = request.GET.get("user", "")
    return render(
        request,
        "console/mutes.html",
        {
            "active": "mutes",
            "page": page,
            "neighborhoods": Region.objects.filter(pk__in=region_ids).order_by("code"),
            "chosen": chosen,
            "prefill_user": prefill if prefill.isdigit() else "",
        },
    )


def _moderated_neighborhood(request) -> Region:
    raw = request.POST.get("neighborhood", "")
    if not raw.isdigit() or int(raw) not in moderated_neighborhood_ids(request.user):
        raise NotFound()
    return Region.objects.get(pk=int(raw))


@require_POST
@console_view(moderation=True)
def mute(request):
    neighborhood = _moderated_neighborhood(request)
    raw_user, raw_hours = request.POST.get("user", ""), request.POST.get("hours", "")
    reason = request.POST.get("reason", "").strip()[:200]
    if not (raw_user.isdigit() and raw_hours.isdigit() and 1 <= int(raw_hours) <= MAX_MUTE_HOURS and reason):
        raise InvalidInput("invalid_mute", f"请填写用户编号、禁言时长（1–{MAX_MUTE_HOURS} 小时）和原因")
    try:
        muted = community_actions.do_mute_user(
            neighborhood=neighborhood, actor=request.user, user_id=int(raw_user), hours=int(raw_hours), reason=reason
        )
    except NotFound:
        raise InvalidInput("user_not_member", f"用户 {raw_user} 不是{neighborhood.name}的居民") from None
    messages.success(request, f"已禁言 {muted.user.display_name} 至 {timezone.localtime(muted.until):%Y-%m-%d %H:%M}")
    return redirect(back_url(request, reverse("console:mutes")))


@require_POST
@console_view(moderation=True)
def unmute(request):
    neighborhood = _moderated_neighborhood(request)
    raw_user = request.POST.get("user", "")
    if not raw_user.isdigit():
        raise InvalidInput("invalid_user", "请选择要解除禁言的用户")
    community_actions.do_unmute_user(
        neighborhood=neighborhood,
        actor=request.user,
        user_id=int(raw_user),
        reason=request.POST.get("reason", "")[:200],
    )
    messages.success(request, "已解除禁言")
    return redirect(back_url(request, reverse("console:mutes")))
