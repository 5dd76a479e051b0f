"""Read models: the topic list (a fixed number of queries per page) and the topic detail."""

from __future__ import annotations

from django.db.models import (
    Avg,
    Count,
    Exists,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
)
from django.db.models.functions import Coalesce

from core.errors import Forbidden, NotFound
from core.pagination import Page, paginate_keyset
from deliberation.models import (
    Ballot,
    BallotMark,
    ContentStatus,
    Evaluation,
    Follow,
    Milestone,
    MilestonePhoto,
    Reply,
    Support,
    Topic,
    TopicImage,
    TopicReport,
)
from residents.access import profile
from residents.models import User

TOPIC_ORDERING = ("-created_at", "-id")
REPLY_ORDERING = ("created_at", "id")


def _count(model, **filters) -> Subquery:
    return Coalesce(
        Subquery(
            model.objects.filter(topic=OuterRef("pk"), **filters)
            .order_by()
            .values("topic")
            .annotate(n=Count("id"))
            .values("n")[:1],
            output_field=IntegerField(),
        ),
        Value(0),
    )


def visible_images(model, user: User, to_attr: str, lookup: str) -> Prefetch:
    """One query for the pictures of a whole page: only those `ImageLink.objects.visible_to(user)` allows
    (passed WeChat's check, or the viewer's own)."""
    links = model.objects.visible_to(user).select_related("image").order_by("position")
    return Prefetch(lookup, queryset=links, to_attr=to_attr)


def with_counts(queryset: QuerySet[Topic], user: User) -> QuerySet[Topic]:
    """Counts as correlated subqueries (no join fan-out) plus the caller's own flags."""
    queryset = queryset.prefetch_related(visible_images(TopicImage, user, "visible_images", "topic_images"))
    return queryset.select_related("neighborhood", "building_group", "author").annotate(
        support_count=_count(Support),
        support_households=Coalesce(
            Subquery(
                Support.objects.filter(topic=OuterRef("pk"))
                .order_by()
                .values("topic")
                .annotate(n=Count("household_key", distinct=True))
                .values("n")[:1],
                output_field=IntegerField(),
            ),
            Value(0),
        ),
        reply_count=_count(Reply, content_status=ContentStatus.PUBLISHED),
        progress_avg=Subquery(
            Milestone.objects.filter(topic=OuterRef("pk"))
            .order_by()
            .values("topic")
            .annotate(p=Avg("progress"))
            .values("p")[:1]
        ),
        supported_by_me=Exists(Support.objects.filter(topic=OuterRef("pk"), user=user)),
        followed_by_me=Exists(Follow.objects.filter(topic=OuterRef("pk"), user=user)),
        voted_by_me=Exists(Ballot.objects.filter(topic=OuterRef("pk"), user=user)),
    )


def topic_page(
    queryset: QuerySet[Topic],
    *,
    user: User,
    neighborhood_id: int | None,
    status: str | None,
    category: str | None,
    building_group_id: int | None,
    cursor: str | None,
    limit: int,
    content_status: str | None = None,
) -> Page:
    if neighborhood_id is not None:
        queryset = queryset.filter(neighborhood_id=neighborhood_id)
    if status:
        queryset = queryset.filter(status=status)
    if category:
        queryset = queryset.filter(category=category)
    if building_group_id is not None:
        queryset = queryset.filter(building_group_id=building_group_id)
    if content_status:
        queryset = queryset.filter(content_status=content_status)
    return paginate_keyset(with_counts(queryset, user), ordering=TOPIC_ORDERING, cursor=cursor, limit=limit)


def reply_page(
    topic: Topic,
    *,
    viewer: User,
    is_staff: bool,
    cursor: str | None,
    limit: int,
    stance: str | None = None,
    content_status: str | None = None,
) -> Page:
    """Residents read published replies and their own (with their status); staff also see held
    and hidden ones, to review them. Removed replies are gone for everyone."""
    queryset = Reply.objects.filter(topic=topic).exclude(content_status=ContentStatus.REMOVED).select_related("author")
    if not is_staff:
        queryset = queryset.filter(Q(content_status=ContentStatus.PUBLISHED) | Q(author_id=viewer.pk))
    if content_status:
        queryset = queryset.filter(content_status=content_status)
    if stance:
        queryset = queryset.filter(stance=stance)
    return paginate_keyset(queryset, ordering=REPLY_ORDERING, cursor=cursor, limit=limit)


EVALUATION_ORDERING = ("-created_at", "-id")


def evaluation_page(topic: Topic, *, cursor: str | None, limit: int) -> Page:
    """Individual evaluations for the committee, newest first: one query per page plus the cursor."""
    queryset = Evaluation.objects.filter(topic=topic).select_related("user")
    return paginate_keyset(queryset, ordering=EVALUATION_ORDERING, cursor=cursor, limit=limit)


def milestone_for(milestone_id: int, *, user: User) -> Milestone:
    """A milestone with the photos `user` may see, for the answer to a POST/PATCH."""
    return Milestone.objects.prefetch_related(
        visible_images(MilestonePhoto, user, "visible_photos", "milestone_photos")
    ).get(pk=milestone_id)


def topic_detail(topic_id: int, *, queryset: QuerySet[Topic], user: User) -> Topic:
    """One topic with everything the detail page shows, as attributes for TopicDetailOut."""
    from deliberation.access import home_in_scope, is_topic_staff
    from deliberation.rules import support_threshold

    topic = with_counts(queryset.filter(pk=topic_id), user).select_related("vote", "decision").get()
    topic.vote_rules = getattr(topic, "vote", None) if hasattr(topic, "vote") else None
    topic.decision_row = topic.decision if hasattr(topic, "decision") else None
    topic.support_threshold = support_threshold(topic)
    topic.my_ballot = None
    topic.household_voted = False
    if topic.vote_rules is not None:
        ballot = Ballot.objects.filter(topic=topic, user=user).first()
        if ballot is not None:
            topic.my_ballot = {
                "choices": sorted(BallotMark.objects.filter(ballot=ballot).values_list("option", flat=True)),
                "cast_at": ballot.created_at,
                "updated_at": ballot.updated_at,
            }
        home = home_in_scope(user, topic)
        if home is not None:
            topic.household_voted = Ballot.objects.filter(topic=topic, voter_key=home.voter_household).exists()
    topic.milestones_list = list(
        Milestone.objects.filter(topic=topic)
        .prefetch_related(visible_images(MilestonePhoto, user, "visible_photos", "milestone_photos"))
        .order_by("due_date", "id")
    )
    topic.events_list = list(topic.events.select_related("actor").order_by("id"))
    mine = Evaluation.objects.filter(topic=topic, user=user).values("rating", "comment", "created_at").first()
    topic.my_evaluation = mine
    topic.can_manage = is_topic_staff(user, topic)
    topic.editable_by_me = topic.can_edit(user)
    return topic


MY_TOPICS_ORDERING = ("-created_at", "-id")


def my_topics_page(*, user: User, cursor: str | None, limit: int) -> Page:
    """The user's own topics, newest first, held and hidden ones too (with their content_status),
    wherever they were proposed; removed ones are gone, as in GET /topics/{id}."""
    queryset = Topic.objects.filter(author_id=user.pk).exclude(content_status=ContentStatus.REMOVED)
    return paginate_keyset(with_counts(queryset, user), ordering=MY_TOPICS_ORDERING, cursor=cursor, limit=limit)


QUEUE_ORDERING = ("created_at", "id")


def _open_reports(**outer: OuterRef) -> Coalesce:
    counted = (
        TopicReport.objects.filter(status=TopicReport.Status.OPEN, **outer)
        .order_by()
        .values("status")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(counted, output_field=IntegerField()), Value(0))


def moderation_queue_items(neighborhood_ids: set[int] | frozenset[int], kind: str) -> QuerySet:
    """Held for review, hidden by reports, or published with open reports (the feed's queue rule)."""
    if kind == "reply":
        has_reports = Exists(TopicReport.objects.filter(reply=OuterRef("pk"), status=TopicReport.Status.OPEN))
        return Reply.objects.filter(topic__neighborhood_id__in=neighborhood_ids).filter(
            Q(content_status=ContentStatus.PENDING_REVIEW)
            | Q(content_status=ContentStatus.HIDDEN, hidden_by_reports=True)
            | Q(has_reports, content_status=ContentStatus.PUBLISHED)
        )
    has_reports = Exists(
        TopicReport.objects.filter(topic=OuterRef("pk"), reply__isnull=True, status=TopicReport.Status.OPEN)
    )
    return Topic.objects.filter(neighborhood_id__in=neighborhood_ids).filter(
        Q(content_status=ContentStatus.PENDING_REVIEW)
        | Q(content_status=ContentStatus.HIDDEN, hidden_by_reports=True)
        | Q(has_reports, content_status=ContentStatus.PUBLISHED)
    )


def moderation_queue_page(
    *, user: User, neighborhood_id: int | None, kind: str, cursor: str | None, limit: int
) -> Page:
    """What needs 议事 staff: held topics/replies, hidden by reports, or published with open reports; oldest first."""
    neighborhood_ids = set(profile(user).staff_of)
    if not neighborhood_ids:
        raise Forbidden("staff_only", "仅限本居委工作人员操作")
    if neighborhood_id is not None:
        if neighborhood_id not in neighborhood_ids:
            raise NotFound()
        neighborhood_ids = {neighborhood_id}
    if kind == "reply":
        items = (
            moderation_queue_items(neighborhood_ids, "reply")
            .select_related("author", "topic")
            .annotate(open_report_count=_open_reports(reply=OuterRef("pk")))
        )
    else:
        items = with_counts(moderation_queue_items(neighborhood_ids, "topic"), user).annotate(
            open_report_count=_open_reports(topic=OuterRef("pk"), reply__isnull=True)
        )
    return paginate_keyset(items, ordering=QUEUE_ORDERING, cursor=cursor, limit=limit)
