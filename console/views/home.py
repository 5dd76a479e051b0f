"""工作台: what needs doing in my region, each count a link to its queue."""

from __future__ import annotations

from django.shortcuts import render
from django.urls import reverse

from console import queries
from console.access import console_view
from console.views.community import reported_count, unanswered_count
from console.views.deliberation import waiting_count
from console.views.dispatch import region_requests
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
                unanswered_count(scope.neighborhood_ids),
                reverse("console:unanswered"),
                urgent=True,
            ),
        ]
    if scope.moderated_ids:
        cards.append(
            queries.HomeCard(
                "reported",
                "被举报/待审内容",
                reported_count(scope.moderated_ids),
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


@console_view(moderation=True)
def home(request):
    return render(request, "console/home.html", {"cards": home_cards(request, request.console), "active": "home"})
