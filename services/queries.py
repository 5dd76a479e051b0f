"""Read models: the catalog, the queues (overdue first), counts and satisfaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

import django_filters
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    Prefetch,
    Q,
    QuerySet,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Now
from django.utils import timezone

from core.memo import ProcessMemo
from services.models import (
    SatisfactionDaily,
    ServiceCategory,
    ServiceItem,
    ServiceRequest,
    ServiceRequestEvent,
    ServiceRequestPhoto,
    TextStatus,
)

Status = ServiceRequest.Status
MAX_ID = 2**63 - 1  # larger ids overflow the database driver: refused as invalid_filter, not a 500
# Queue order: late first, open before closed, then the nearest deadline; id keeps it stable.
QUEUE_ORDERING = ("-is_overdue", "-in_open_state", "due_at", "id")
NEWEST_ORDERING = ("-created_at", "-id")


CATALOG = ProcessMemo("services.catalog", ttl_seconds=60)  # cleared by catalog saves (services.apps)


def catalog_item(item_id: int) -> ServiceItem | None:
    """A catalog item with its category and default provider, as every one-tap create needs it.

    The catalog is reference data (48 items, edited in the admin), so each process keeps what it
    read for a minute (core.memo). Read-only: callers must not change the instance."""
    return CATALOG.get(
        item_id, lambda pk: ServiceItem.objects.select_related("category", "default_provider").filter(pk=pk).first()
    )


def catalog() -> QuerySet[ServiceCategory]:
    """Active categories with their active items: two queries whatever the size."""
    items = ServiceItem.objects.filter(is_active=True).select_related(None).order_by("sort_order", "id")
    return ServiceCategory.objects.filter(is_active=True).prefetch_related(Prefetch("items", queryset=items))


def overdue_condition(now: dt.datetime | Now) -> Q:
    """Waiting for the committee past the accept deadline, or open past the completion deadline."""
    return Q(status__in=ServiceRequest.ACCEPT_PHASE, accept_due_at__lt=now) | Q(
        status__in=ServiceRequest.OPEN_STATUSES, complete_due_at__lt=now
    )


def with_deadlines(queryset: QuerySet[ServiceRequest], now: dt.datetime | Now | None = None) -> QuerySet[ServiceRequest]:
    """The queue's order: `now` a time, or Now() (the database's clock) for a queryset built once."""
    now = now or timezone.now()
    return queryset.annotate(
        is_overdue=Case(When(overdue_condition(now), then=Value(True)), default=Value(False), output_field=BooleanField()),
        in_open_state=Case(
            When(status__in=ServiceRequest.OPEN_STATUSES, then=Value(True)), default=Value(False), output_field=BooleanField()
        ),
        due_at=Case(When(status__in=ServiceRequest.ACCEPT_PHASE, then=F("accept_due_at")), default=F("complete_due_at")),
    )


def visible_photos(viewer: Any) -> Prefetch:
    """Completion photos the viewer may see (the image's own rule), as `.visible_photos`: one
    query for a whole page of requests or events."""
    photos = ServiceRequestPhoto.objects.visible_to(viewer).select_related("image")
    return Prefetch("photos", queryset=photos, to_attr="visible_photos")


def for_list(queryset: QuerySet[ServiceRequest], viewer: Any = None) -> QuerySet[ServiceRequest]:
    """The list's joins; with a `viewer`, also the completion photos they may see (`.visible_photos`)."""
    # The small reference tables (catalog, regions, organizations) come by prefetch, not by
    # join: with all seven joined, PostgreSQL spent 18 ms planning the staff queue's query for
    # 15 ms of executing it (bench/README.md). Three more statements, the same for any page size.
    listing = (
        with_deadlines(queryset)
        .select_related("assigned_user", "beneficiary", "rating")
        .prefetch_related("item__category", "neighborhood", "assigned_org")
    )
    return listing.prefetch_related(visible_photos(viewer)) if viewer is not None else listing


def timeline(service_request: ServiceRequest, viewer: Any) -> QuerySet[ServiceRequestEvent]:
    return (
        ServiceRequestEvent.objects.filter(request=service_request)
        .select_related("actor")
        .prefetch_related(visible_photos(viewer))
    )


class ServiceRequestFilter(django_filters.FilterSet):
    # No DISTINCT (django-filter adds one by default): a status filter joins nothing, and
    # DISTINCT made PostgreSQL sort whole rows of the staff queue.
    status = django_filters.MultipleChoiceFilter(choices=Status.choices, distinct=False)
    category = django_filters.NumberFilter(field_name="item__category_id", min_value=1, max_value=MAX_ID)
    item = django_filters.NumberFilter(field_name="item_id", min_value=1, max_value=MAX_ID)
    neighborhood = django_filters.NumberFilter(field_name="neighborhood_id", min_value=1, max_value=MAX_ID)
    street = django_filters.NumberFilter(field_name="street_id", min_value=1, max_value=MAX_ID)
    plan = django_filters.NumberFilter(field_name="plan_id", min_value=1, max_value=MAX_ID)
    # Strict true/false: a typo must not silently mean "no filter".
    overdue = django_filters.ChoiceFilter(choices=[("true", "超时"), ("false", "未超时")], method="filter_overdue")
    created_from = django_filters.DateFilter(field_name="created_at", lookup_expr="date__gte")
    created_to = django_filters.DateFilter(field_name="created_at", lookup_expr="date__lte")
    # Staff's review queue: a note or rating comment the content check held back.
    text_pending = django_filters.ChoiceFilter(choices=[("true", "有待审核内容")], method="filter_text_pending")
    # Low ratings waiting for staff's call-back; "overdue" = past its deadline.
    follow_up = django_filters.ChoiceFilter(choices=[("open", "待回访"), ("overdue", "回访超时")], method="filter_follow_up")
    scope = django_filters.ChoiceFilter(
        choices=[("mine", "我和家人的申请"), ("assigned", "派给我的"), ("region", "本辖区")], method="filter_scope"
    )

    class Meta:
        model = ServiceRequest
        fields: list[str] = []

    _form_class = None

    def get_form_class(self):
        # django-filter builds a new form class (type(...)) per request; the fields depend on
        # nothing but this class, so one serves every request (a third of the filter's cost).
        cls = type(self)
        if cls.__dict__.get("_form_class") is None:
            cls._form_class = super().get_form_class()
        return cls._form_class

    def filter_overdue(self, queryset, name, value):
        condition = overdue_condition(timezone.now())
        return queryset.filter(condition) if value == "true" else queryset.exclude(condition)

    def filter_follow_up(self, queryset, name, value):
        waiting = queryset.filter(follow_up_due_at__isnull=False, followed_up_at__isnull=True)
        return waiting.filter(follow_up_due_at__lt=timezone.now()) if value == "overdue" else waiting

    def filter_text_pending(self, queryset, name, value):
        waiting = TextStatus.waiting()
        return queryset.filter(Q(note_status__in=waiting) | Q(rating__comment_status__in=waiting))

    def filter_scope(self, queryset, name, value):
        from residents.access import profile
        from services.access import provider_org_ids

        user = self.request.user
        if value == "mine":
            return queryset.filter(Q(requester=user) | Q(beneficiary__owner=user))
        if value == "assigned":
            return queryset.filter(Q(assigned_user=user) | Q(assigned_org_id__in=provider_org_ids(user)))
        return queryset.filter(neighborhood_id__in=profile(user).staff_of)


def counts_by_status(queryset: QuerySet[ServiceRequest]) -> dict[str, Any]:
    """One query: per-status counts plus the overdue count."""
    now = timezone.now()
    aggregates = {status.value: Count("id", filter=Q(status=status.value)) for status in Status}
    aggregates["overdue"] = Count("id", filter=overdue_condition(now))
    aggregates["total"] = Count("id")
    result = queryset.order_by().aggregate(**aggregates)
    return {
        "by_status": {status.value: result[status.value] for status in Status},
        "overdue": result["overdue"],
        "total": result["total"],
    }


SATISFACTION_GROUPS: dict[str, tuple[str, str]] = {
    # group_by → (id path, name path) on SatisfactionDaily
    "item": ("item_id", "item__name"),
    "provider": ("provider_id", "provider__name"),
    "neighborhood": ("neighborhood_id", "neighborhood__name"),
    "street": ("street_id", "street__name"),
}


def satisfaction(
    neighborhood_ids: frozenset[int] | set[int], *, group_by: str, date_from: dt.date | None, date_to: dt.date | None
) -> dict[str, Any]:
    """Share of ratings ≥ 4 stars, and the average score, per group, within the staff's region.

    Reads the daily aggregate (services.models.SatisfactionDaily, kept by the rating action):
    two queries over (neighborhood, date)-indexed rows, however many ratings there are."""
    rows_in_scope = SatisfactionDaily.objects.filter(neighborhood_id__in=neighborhood_ids)
    if date_from:
        rows_in_scope = rows_in_scope.filter(date__gte=date_from)
    if date_to:
        rows_in_scope = rows_in_scope.filter(date__lte=date_to)
    id_path, name_path = SATISFACTION_GROUPS[group_by]
    metrics = {"ratings": Sum("ratings"), "satisfied": Sum("satisfied"), "score_sum": Sum("score_sum")}
    rows = (
        rows_in_scope.values(group_id=F(id_path), group_name=F(name_path))
        .annotate(**metrics)
        .order_by("group_id")
    )
    overall = rows_in_scope.aggregate(**metrics)

    def shape(row: dict[str, Any]) -> dict[str, Any]:
        count = row["ratings"] or 0
        return {
            "ratings": count,
            "satisfied": row["satisfied"] or 0,
            "satisfaction_rate": round(row["satisfied"] / count, 4) if count else None,
            "average_score": round(row["score_sum"] / count, 2) if count else None,
        }

    return {
        "group_by": group_by,
        "overall": shape(overall),
        "groups": [
            {"id": row["group_id"], "name": row["group_name"] or "未派单", **shape(row)} for row in rows
        ],
    }


def overdue_request_count(now: dt.datetime | None = None) -> int:
    """Open requests past their deadline, district-wide: the /metrics gauge (services/apps.py)."""
    return ServiceRequest.objects.filter(overdue_condition(now or timezone.now())).count()
