"""一键表达: a resident's matter (诉求/随手拍), its category tree, routing and area bounds.

A matter is the resident-facing row; its status, unit, deadlines and timeline are its case
(`cases.Case`, one-to-one). docs/matters.md has the model and the states.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models

from cases.models import Case, ResponsibleUnit
from images.models import ImageLink
from residents.models import Region


class MatterCategory(models.Model):
    name = models.CharField("名称", max_length=32, unique=True)
    sort_order = models.PositiveSmallIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "诉求大类"
        verbose_name_plural = "诉求大类"
        ordering = ["sort_order", "id"]

    def __str__(self) -> str:
        return self.name


class MatterItem(models.Model):
    category = models.ForeignKey(MatterCategory, verbose_name="大类", on_delete=models.PROTECT, related_name="items")
    name = models.CharField("名称", max_length=32)
    accept_hours = models.PositiveIntegerField("受理时限(小时)", default=24)
    resolve_hours = models.PositiveIntegerField("办结时限(小时)", default=120)
    sort_order = models.PositiveSmallIntegerField("排序", default=0)
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "诉求小类"
        verbose_name_plural = "诉求小类"
        ordering = ["category__sort_order", "sort_order", "id"]
        constraints = [models.UniqueConstraint(fields=["category", "name"], name="matter_item_unique_name")]

    def __str__(self) -> str:
        return f"{self.category.name}·{self.name}"


class RoutingRule(models.Model):
    """Which unit a category's matters go to in a region. The neighborhood's rule wins over
    its street's, the street's over its district's."""

    region = models.ForeignKey(Region, verbose_name="区域", on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(MatterCategory, verbose_name="大类", on_delete=models.CASCADE, related_name="routes")
    unit = models.ForeignKey(ResponsibleUnit, verbose_name="责任单位", on_delete=models.PROTECT, related_name="routes")

    class Meta:
        verbose_name = "派单规则"
        verbose_name_plural = "派单规则"
        constraints = [models.UniqueConstraint(fields=["region", "category"], name="matter_route_unique")]

    def __str__(self) -> str:
        return f"{self.region.name} {self.category.name} → {self.unit.name}"


class RegionBounds(models.Model):
    """The latitude/longitude box a region covers (WGS-84, as the phone reports). A matter's
    point must fall in the nearest configured box of its neighborhood, street or district."""

    region = models.OneToOneField(Region, verbose_name="区域", on_delete=models.CASCADE, related_name="bounds")
    min_lat = models.DecimalField("最小纬度", max_digits=9, decimal_places=6)
    max_lat = models.DecimalField("最大纬度", max_digits=9, decimal_places=6)
    min_lng = models.DecimalField("最小经度", max_digits=9, decimal_places=6)
    max_lng = models.DecimalField("最大经度", max_digits=9, decimal_places=6)

    class Meta:
        verbose_name = "区域范围"
        verbose_name_plural = "区域范围"

    def __str__(self) -> str:
        return f"{self.region.name}：{self.min_lat}–{self.max_lat}, {self.min_lng}–{self.max_lng}"

    def contains(self, lat, lng) -> bool:
        return self.min_lat <= lat <= self.max_lat and self.min_lng <= lng <= self.max_lng


class Matter(models.Model):
    class TextStatus(models.TextChoices):
        # The values moderation.content.check_text returns.
        PUBLISHED = "published", "已发布"
        PENDING_REVIEW = "pending_review", "待人工审核"
        PENDING_CHECK = "pending_check", "待内容检查"
        REMOVED = "removed", "已删除"  # the re-check sweep's late risky verdict (moderation.recheck)

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="matter")
    item = models.ForeignKey(MatterItem, verbose_name="小类", on_delete=models.PROTECT, related_name="+")
    category = models.ForeignKey(MatterCategory, verbose_name="大类", on_delete=models.PROTECT, related_name="+")
    neighborhood = models.ForeignKey(Region, verbose_name="居委/村", on_delete=models.PROTECT, related_name="+")
    reporter = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="反映人", null=True, on_delete=models.SET_NULL, related_name="matters"
    )
    text = models.TextField("内容")
    text_status = models.CharField("内容状态", max_length=16, choices=TextStatus.choices)
    latitude = models.DecimalField("纬度", max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField("经度", max_digits=9, decimal_places=6, null=True, blank=True)
    place = models.CharField("地点", max_length=64, help_text="楼号或小区内的位置")
    hide_name = models.BooleanField("对邻居隐藏姓名", default=False)
    supporters_count = models.PositiveIntegerField("我也遇到", default=0)
    merged_into = models.ForeignKey(
        "self", verbose_name="并入", null=True, blank=True, on_delete=models.PROTECT, related_name="merged",
        help_text="工作人员合并后，此件由被并入的诉求一并办理",
    )
    # The feed post staff turned into this matter (console.matter_from_post). An id, not a foreign
    # key: matters and community are siblings and never import each other (.importlinter).
    source_post_id = models.PositiveBigIntegerField("来源帖子", null=True, blank=True, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "诉求"
        verbose_name_plural = "诉求"
        indexes = [
            models.Index(fields=["neighborhood", "category", "created_at"], name="matter_similar"),
            models.Index(fields=["neighborhood", "created_at", "id"], name="matter_neighborhood_feed"),
            models.Index(fields=["reporter", "created_at", "id"], name="matter_reporter"),
        ]

    def __str__(self) -> str:
        return f"{self.item}：{self.text[:20]}"


class MatterPhoto(ImageLink):
    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="photos")

    class Meta(ImageLink.Meta):
        verbose_name = "诉求照片"
        verbose_name_plural = "诉求照片"
        constraints = [models.UniqueConstraint(fields=["matter", "image"], name="matter_photo_unique")]


class MatterSupport(models.Model):
    """我也遇到: a neighbor with the same problem follows the matter and hears its answer."""

    matter = models.ForeignKey(Matter, on_delete=models.CASCADE, related_name="supports")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="matter_supports")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["matter", "user"], name="matter_support_once")]
