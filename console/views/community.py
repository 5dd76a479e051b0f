"""内容审核, 待回复 and 发布公告 over the community app's access helpers, queries and actions."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from community import actions as community_actions
from community import queries as community_queries
from community.access import (
    access_comment_for_moderation,
    access_post,
    access_post_for_moderation,
    moderated_neighborhood_ids,
)
from community.models import ContentStatus, ModerationLog, Post, Report, sections
from console.access import back_url, console_view
from residents.models import Region

PAGE_SIZE = 30
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
    comment = community_actions.do_create_comment(post=post, author=request.user, body=body[:500], official=True)
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
                author=request.user,
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


def unanswered_count(neighborhood_ids) -> int:
    # Mirrors community.queries.unanswered_page's filter (that function returns a page, not a count).
    return Post.objects.filter(
        region_id__in=neighborhood_ids,
        scope=Post.Scope.NEIGHBORHOOD,
        needs_answer=True,
        answered_at__isnull=True,
        status=ContentStatus.PUBLISHED,
    ).count()


def reported_count(neighborhood_ids) -> int:
    # Posts in community.queries.moderation_queue_page: held for review, hidden by reports, or with open reports.
    open_reports = Report.objects.filter(status=Report.Status.OPEN, comment__isnull=True).values("post_id")
    return (
        Post.objects.filter(region_id__in=neighborhood_ids)
        .filter(
            Q(status=ContentStatus.PENDING_REVIEW)
            | Q(status=ContentStatus.HIDDEN, hidden_by_reports=True)
            | Q(status=ContentStatus.PUBLISHED, pk__in=open_reports)
        )
        .count()
    )
