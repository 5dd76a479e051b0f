"""定期服务: the region's service plans, paused, resumed or cancelled through the services app.

services decides who may manage a plan and from which status (`_change_plan` behind
do_pause/resume/cancel_service_plan, which lock the plan and answer 409 on a stale move).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_POST

from console.access import back_url, console_view
from core.errors import Conflict, InvalidInput, NotFound
from residents.models import Region
from services.access import access_service_plan, visible_plans_for
from services.actions.plans import do_cancel_service_plan, do_pause_service_plan, do_resume_service_plan
from services.models import ServicePlan, ServiceRequest

PAGE_SIZE = 50
PlanStatus = ServicePlan.Status
# action -> (the services action, the statuses it starts from, button label)
PLAN_ACTIONS = {
    "pause": (do_pause_service_plan, (PlanStatus.ACTIVE,), "暂停"),
    "resume": (do_resume_service_plan, (PlanStatus.PAUSED,), "恢复"),
    "cancel": (do_cancel_service_plan, (PlanStatus.ACTIVE, PlanStatus.PAUSED), "取消"),
}


@console_view()
def plans(request):
    scope = request.console
    rows = visible_plans_for(request.user).filter(neighborhood_id__in=scope.neighborhood_ids)
    status = request.GET.get("status", "")
    if status in PlanStatus.values:
        rows = rows.filter(status=status)
    raw = request.GET.get("neighborhood", "")
    chosen = int(raw) if raw.isdigit() and int(raw) in scope.neighborhood_ids else None
    if chosen:
        rows = rows.filter(neighborhood_id=chosen)
    today = timezone.localdate()
    rows = (
        rows.select_related("item", "beneficiary", "requester", "neighborhood")
        .annotate(
            upcoming=Count(
                "occurrences",
                filter=Q(occurrences__occurrence_date__gte=today)
                & ~Q(occurrences__status=ServiceRequest.Status.CANCELLED),
            )
        )
        .order_by("status", "-created_at", "-id")
    )
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "console/plans.html",
        {
            "active": "plans",
            "page": page,
            "rows": [
                {"plan": p, "actions": [(k, v[2]) for k, v in PLAN_ACTIONS.items() if p.status in v[1]]}
                for p in page.object_list
            ],
            "statuses": PlanStatus.choices,
            "status": status,
            "neighborhoods": Region.objects.filter(pk__in=scope.neighborhood_ids).order_by("code"),
            "chosen": chosen,
            "querystring_base": (query.urlencode() + "&") if query else "",
        },
    )


@require_POST
@console_view()
def plan_action(request, plan_id: int, action: str):
    plan = access_service_plan(request.user, plan_id)
    if plan.neighborhood_id not in request.console.neighborhood_ids:
        raise NotFound()  # e.g. an officer's own plan as a resident: not the console's to manage
    if action not in PLAN_ACTIONS:
        raise InvalidInput("invalid_plan_action", "未知的操作")
    do_change, _, label = PLAN_ACTIONS[action]
    if request.POST.get("from_status") and request.POST["from_status"] != plan.status:
        raise Conflict("plan_state_changed", "定期服务状态已变化，请刷新后重试", current=plan.status)
    changed_plan, changed = do_change(plan.pk, actor=request.user)
    messages.success(request, f"定期服务 #{changed_plan.pk} 已{label}（影响 {changed} 次服务）")
    return redirect(back_url(request, reverse("console:plans")))
