"""工作台: what needs doing in my region, each count a link to its queue."""

from __future__ import annotations

from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from community.queries import moderation_queue_count_for, unanswered_count_for
from console import queries
from console.access import console_view, is_unit_only
from console.views.deliberation import waiting_count
from console.views.dispatch import realtime_streams, region_requests
from services.queries import counts_by_status


def home_cards(request, scope) -> list[queries.HomeCard]:
    cards: list[queries.HomeCard] = []
    if scope.is_staff:
        counts = counts_by_status(region_requests(request))
        dispatch = reverse("console:dispatch")
        cards += [
            queries.HomeCard(
                "service_new",
                "新服务申请（待受理）",
                counts["by_status"]["submitted"],
                f"{dispatch}?status=submitted",
                urgent=True,
            ),
            queries.HomeCard("service_overdue", "超时工单", counts["overdue"], f"{dispatch}?overdue=true", urgent=True),
            queries.HomeCard(
                "unanswered",
                "待回复的居民帖子",
                unanswered_count_for(request.user),
                reverse("console:unanswered"),
                urgent=True,
            ),
        ]
    if scope.moderated_ids:
        cards.append(
            queries.HomeCard(
                "reported",
                "被举报/待审内容",
                moderation_queue_count_for(request.user),
                reverse("console:moderation"),
                urgent=True,
            )
        )
    if scope.is_staff:
        ids = scope.neighborhood_ids
        cards += [
            queries.HomeCard(
                "topics_waiting", "待推进的议题", waiting_count(request), reverse("console:topics") + "?status=waiting"
            ),
            queries.HomeCard(
                "memberships", "待审核入户申请", queries.pending_memberships_count(ids), reverse("console:memberships")
            ),
            queries.HomeCard(
                "party_identity",
                "待审核亮身份申请",
                queries.pending_party_identity_count(ids),
                reverse("console:party_identity"),
            ),
        ]
    return cards


@console_view(moderation=True, units=True)
def home(request):
    scope = request.console
    if is_unit_only(request):
        return redirect("console:matters")  # a 物业 or 城管 member works only the matters board
    return render(
        request,
        "console/home.html",
        {
            "cards": home_cards(request, scope),
            "active": "home",
            "realtime_streams": realtime_streams(scope) if scope.is_staff else [],
        },
    )


@console_view(moderation=True)
def home_counts(request):
    """Every card's count, for the page to redraw when a service request changes live."""
    return JsonResponse({card.key: card.count for card in home_cards(request, request.console)})
