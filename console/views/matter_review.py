"""诉求内容审核: matter text held for a person (`pending_review`) in the staff member's
neighborhoods, oldest first, each approved or rejected with a reason; below, the latest
decisions (console.models.MatterTextReview). The rule and the log are
console/matter_text_review.py."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import OuterRef, Subquery
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from cases.models import CaseEvent
from console.access import back_url, console_view
from console.matter_text_review import MAX_REASON, do_review_matter_text
from console.models import MatterTextReview
from console.views.verification import _neighborhood_filter
from matters.access import visible_matters_for
from matters.models import Matter

PAGE_SIZE = 30
LOG_ROWS = 20


def review_queue(request):
    """Matters waiting for a text decision in the staff neighborhoods (an officer's own home's
    matters are not queue items), with who filed them: the resident, or the partner system the
    `submitted` timeline row names."""
    filed_by = CaseEvent.objects.filter(case_id=OuterRef("case_id"), kind=CaseEvent.Kind.SUBMITTED).values("reason")[:1]
    return (
        visible_matters_for(request.user)
        .filter(neighborhood_id__in=request.console.neighborhood_ids, text_status=Matter.TextStatus.PENDING_REVIEW)
        .select_related("item__category", "neighborhood", "reporter", "case__unit")
        .annotate(filed_by=Subquery(filed_by))
        .order_by("created_at", "id")
    )


@console_view()
def queue(request):
    scope = request.console
    neighborhoods, chosen = _neighborhood_filter(request, scope)
    matters = review_queue(request)
    if chosen:
        matters = matters.filter(neighborhood_id=chosen)
    page = Paginator(matters, PAGE_SIZE).get_page(request.GET.get("page"))
    log = (
        MatterTextReview.objects.filter(neighborhood_id__in=scope.neighborhood_ids)
        .select_related("actor", "neighborhood", "matter__item")
        .order_by("-created_at", "-id")[:LOG_ROWS]
    )
    return render(request, "console/matter_review.html", {
        "active": "matter_review", "page": page, "neighborhoods": neighborhoods, "chosen": chosen,
        "log": log, "max_reason": MAX_REASON,
    })


@require_POST
@console_view()
def decide(request, matter_id: int):
    decision = request.POST.get("decision")
    if decision not in ("approve", "reject"):
        messages.error(request, "请选择通过或不予公开")
    else:
        approve = decision == "approve"
        # NotFound (outside the staff neighborhoods) → 404; a colleague first (409) or a missing
        # reason → a message and back (console_view).
        do_review_matter_text(matter_id, actor=request.user, approve=approve, reason=request.POST.get("reason", ""))
        messages.success(request, f"诉求 #{matter_id} 的内容已{'审核通过' if approve else '不予公开'}")
    return redirect(back_url(request, reverse("console:matter_review")))
