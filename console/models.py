"""Dashboard snapshots: the figures of each neighborhood per day, so that a street or the
district dashboard is a GROUP BY over (neighborhoods × days) small rows instead of a scan
of memberships, posts, requests and topics on every request.

Rows are written only by `console.snapshots.refresh_snapshots` (the scheduled task and
`manage.py refresh_dashboard_snapshots`); the dashboard never writes.

Day cohorts: `posts`, `topics_*`, services and the duration histograms count the items
*created* on `day` as they stand at `refreshed_at` (answered, completed, how far the topic
got); the coverage columns are cumulative as of the end of `day`.
"""

from django.db import models


class NeighborhoodDaySnapshot(models.Model):
    neighborhood = models.ForeignKey(
        "residents.Region", on_delete=models.CASCADE, related_name="+", verbose_name="居委/村"
    )
    day = models.DateField("日期")
    # Coverage as of the end of the day (cumulative).
    households_joined = models.PositiveIntegerField("已加入户数", default=0)
    residents_joined = models.PositiveIntegerField("已加入居民", default=0)
    party_members = models.PositiveIntegerField("亮身份党员", default=0)
    # Resident posts (发帖必响应) created that day.
    posts = models.PositiveIntegerField("居民帖子", default=0)
    posts_answered = models.PositiveIntegerField("已回应", default=0)
    # Topics proposed that day and how far they got.
    topics_proposed = models.PositiveIntegerField("提出", default=0)
    topics_discussed = models.PositiveIntegerField("进入讨论", default=0)
    topics_voted = models.PositiveIntegerField("进入表决", default=0)
    topics_passed = models.PositiveIntegerField("表决通过", default=0)
    topics_implemented = models.PositiveIntegerField("进入实施", default=0)
    topics_evaluated = models.PositiveIntegerField("完成评估", default=0)
    refreshed_at = models.DateTimeField("更新时间")

    class Meta:
        verbose_name = verbose_name_plural = "看板日快照"
        constraints = [
            models.UniqueConstraint(fields=["neighborhood", "day"], name="console_snapshot_neighborhood_day"),
        ]
        # Dashboards read a day range (or the bucket-end days) for a set of neighborhoods; the
        # newest refreshed_at is the version their cached figures are keyed on.
        indexes = [
            models.Index(fields=["day", "neighborhood"], name="console_snapshot_day"),
            models.Index(fields=["refreshed_at"], name="console_snapshot_version"),
        ]


class ServiceDaySnapshot(models.Model):
    """Service requests created on `day` in a neighborhood, per category (rows only where there were requests)."""

    neighborhood = models.ForeignKey(
        "residents.Region", on_delete=models.CASCADE, related_name="+", verbose_name="居委/村"
    )
    day = models.DateField("日期")
    category_id = models.BigIntegerField("服务大类")  # services.ServiceCategory id; 0 when the item has none
    requests = models.PositiveIntegerField("工单数", default=0)
    completed = models.PositiveIntegerField("已完成", default=0)
    overdue = models.PositiveIntegerField("超时数", default=0)
    rated = models.PositiveIntegerField("评价数", default=0)
    satisfied = models.PositiveIntegerField("满意数", default=0)
    refreshed_at = models.DateTimeField("更新时间")

    class Meta:
        verbose_name = verbose_name_plural = "看板服务日快照"
        constraints = [
            models.UniqueConstraint(
                fields=["neighborhood", "day", "category_id"], name="console_service_snapshot_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["day", "neighborhood"], name="console_service_snapshot_day"),
            # A dashboard reads a few regions over a day range: with the sums in the index it is an
            # index-only range scan per region, not the day index's scan of every region's rows
            # with a heap fetch each (the district's 90 days: 22 → 3 ms at Baoshan scale, bench/README.md).
            models.Index(
                fields=["neighborhood", "day"],
                include=["category_id", "requests", "completed", "overdue", "rated", "satisfied"],
                name="console_service_region",
            ),
        ]


class BucketCounts(models.Model):
    """How many items took a duration that falls in `bucket` (see console.durations.duration_bucket),
    per region, metric and service category: medians cannot be summed, bucket counts can. A day's
    rows (`DurationHistogram`) and a week's (`DurationHistogramWeek`) share these fields."""

    class Metric(models.TextChoices):
        POST_RESPONSE = "post_response", "帖子回应时间"
        SERVICE_ACCEPT = "service_accept", "工单受理时间"
        SERVICE_COMPLETE = "service_complete", "工单完成时间"

    neighborhood = models.ForeignKey(
        "residents.Region", on_delete=models.CASCADE, related_name="+", verbose_name="居委/村"
    )
    metric = models.CharField("指标", max_length=24, choices=Metric.choices)
    category_id = models.BigIntegerField("服务大类", default=0)  # 0 for posts
    bucket = models.PositiveSmallIntegerField("区间")
    count = models.PositiveIntegerField("数量")
    refreshed_at = models.DateTimeField("更新时间")

    class Meta:
        abstract = True


class DurationHistogram(BucketCounts):
    """The bucket counts of a day cohort: the items created on `day`."""

    day = models.DateField("日期")

    class Meta:
        verbose_name = verbose_name_plural = "看板时长分布"
        constraints = [
            models.UniqueConstraint(
                fields=["neighborhood", "day", "metric", "category_id", "bucket"], name="console_histogram_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["metric", "day", "neighborhood"], name="console_histogram_day"),
            # A dashboard reads a few regions' buckets over a day range: with bucket and count in
            # the index it is an index-only range scan per region (PostgreSQL; the district's 12
            # streets over 90 days took 146 ms through the day index, fetching every region's rows).
            models.Index(
                fields=["metric", "neighborhood", "day"],
                include=["category_id", "bucket", "count"],
                name="console_histogram_region",
            ),
        ]


class DurationHistogramWeek(BucketCounts):
    """A week's `DurationHistogram` rows summed (`week`: its Monday), always equal to the sum of
    the week's day rows: `console.snapshots` rewrites the weeks a refresh touched from the day
    rows. A period's histogram is its whole weeks' rows plus its edge days' rows
    (`console.figures`): for the dashboard's default 90 days ~13 week rows and up to 12 day rows
    per region and bucket instead of 90 day rows (bench/README.md, "Session 9")."""

    week = models.DateField("周一")

    class Meta:
        verbose_name = verbose_name_plural = "看板时长分布(周)"
        constraints = [
            models.UniqueConstraint(
                fields=["neighborhood", "week", "metric", "category_id", "bucket"], name="console_histogram_week_unique"
            ),
        ]
        indexes = [
            # As DurationHistogram's region index: an index-only range scan per region of the view.
            models.Index(
                fields=["metric", "neighborhood", "week"],
                include=["category_id", "bucket", "count"],
                name="console_histogram_week",
            ),
        ]


class MatterTextReview(models.Model):
    """The log of staff decisions on matter text held for review (`pending_review`: partner
    filings through Open311, WeChat's "review" verdict, the re-check sweep's late one): written
    only by `console.matter_text_review.do_review_matter_text`, never changed. No copy of the
    text: erasing a reporter (matters/pipl.py) must leave nothing of it here."""

    class Decision(models.TextChoices):
        APPROVED = "approved", "审核通过"
        REJECTED = "rejected", "不予公开"

    matter = models.ForeignKey("matters.Matter", on_delete=models.CASCADE, related_name="+", verbose_name="诉求")
    neighborhood = models.ForeignKey("residents.Region", on_delete=models.CASCADE, related_name="+", verbose_name="居委/村")
    actor = models.ForeignKey(
        "residents.User", null=True, on_delete=models.SET_NULL, related_name="+", verbose_name="审核人"
    )
    decision = models.CharField("结论", max_length=16, choices=Decision.choices)
    reason = models.CharField("原因", max_length=200, blank=True)
    created_at = models.DateTimeField("时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "诉求内容审核记录"
        indexes = [models.Index(fields=["neighborhood", "-created_at"], name="console_text_review_log")]


class CaseDaySnapshot(models.Model):
    """Matter cases finished on `day` (confirmed or closed), per neighborhood, the unit that held
    them when they were answered and their street: how many, and how many were closed loops
    (confirmed by the resident, answered by the 办结 deadline). Rows only where a case finished;
    a street's rows (under the street's id) sum its neighborhoods'. Filled by
    console.snapshots, read by console.figures.Figures.closed_loops."""

    neighborhood = models.ForeignKey(
        "residents.Region", on_delete=models.CASCADE, related_name="+", verbose_name="居委/村"
    )
    day = models.DateField("日期")
    unit = models.ForeignKey("cases.ResponsibleUnit", on_delete=models.CASCADE, related_name="+", verbose_name="责任单位")
    street = models.ForeignKey("residents.Region", on_delete=models.CASCADE, related_name="+", verbose_name="街道")
    finished = models.PositiveIntegerField("办结诉求", default=0)
    closed_loops = models.PositiveIntegerField("闭环", default=0)
    refreshed_at = models.DateTimeField("更新时间")

    class Meta:
        verbose_name = verbose_name_plural = "看板诉求闭环日快照"
        constraints = [
            models.UniqueConstraint(fields=["neighborhood", "day", "unit", "street"], name="console_case_snapshot_unique"),
        ]
        indexes = [
            models.Index(fields=["day", "neighborhood"], name="console_case_snapshot_day"),
            # As ServiceDaySnapshot's: an index-only range scan per region of the view.
            models.Index(
                fields=["neighborhood", "day"],
                include=["unit", "street", "finished", "closed_loops"],
                name="console_case_region",
            ),
        ]


class SensorDaySnapshot(models.Model):
    """物联感知 alerts opened on `day` per neighborhood (docs/sensors.md, Console): the alarms they
    took in, the cases (one per alert), how many are closed with an outcome, how many of those
    were answered within the case's 办结 deadline, and how many were 误报. Counted in the cohort
    of the day the alert opened (the refresh recomputes recent days, so a later close shows);
    rows only where an alert opened; a street's rows (under the street's id) sum its
    neighborhoods'. Filled by console.snapshots, read by console.figures.Figures.sensor_alarms."""

    neighborhood = models.ForeignKey(
        "residents.Region", on_delete=models.CASCADE, related_name="+", verbose_name="居委/村"
    )
    day = models.DateField("日期")
    alarms = models.PositiveIntegerField("报警次数", default=0)
    cases = models.PositiveIntegerField("告警案件", default=0)
    closed = models.PositiveIntegerField("已处置", default=0)
    closed_in_time = models.PositiveIntegerField("按时处置", default=0)
    false_alarms = models.PositiveIntegerField("误报", default=0)
    refreshed_at = models.DateTimeField("更新时间")

    class Meta:
        verbose_name = verbose_name_plural = "看板物联告警日快照"
        constraints = [models.UniqueConstraint(fields=["neighborhood", "day"], name="console_sensor_snapshot_unique")]
