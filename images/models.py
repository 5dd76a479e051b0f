"""The uploaded picture: one table shared by every app that shows user pictures (feed posts,
service requests, deliberation). They attach images by id (their link tables plug in
`ImageLink` below); the pipeline that fills and checks this table is images/pipeline.py.

The table keeps its first name, `core_image`: the model lived in core until the image pipeline
became an app of its own (images/migrations/0001_initial.py moved it without moving a row).
"""

from __future__ import annotations

from django.conf import settings
from django.db import models


class ImageQuerySet(models.QuerySet):
    def visible_to(self, user) -> ImageQuerySet:
        """Images a user may see: those that passed WeChat's check, and their own."""
        return self.filter(models.Q(status=Image.Status.PASSED) | models.Q(owner_id=getattr(user, "pk", None)))


class Image(models.Model):
    """An uploaded picture, re-encoded without metadata. Shared by the feed, service requests
    and deliberation: they attach images by id. Hidden from everyone but its owner until
    WeChat's media check (mediaCheckAsync) says pass."""

    class Status(models.TextChoices):
        PENDING_CHECK = "pending_check", "待送审"  # not yet accepted by WeChat (unreachable); the sweep retries
        CHECKING = "checking", "审核中"  # WeChat has it (trace_id); the verdict comes as a push
        PASSED = "passed", "已通过"
        REVIEW = "review", "待人工复核"  # WeChat suggests review: stays hidden until a person decides
        REJECTED = "rejected", "未通过"

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, verbose_name="上传者", on_delete=models.CASCADE, related_name="images")
    file = models.FileField("原图", max_length=200)
    thumbnail = models.FileField("缩略图", max_length=200)
    format = models.CharField("格式", max_length=8)
    width = models.PositiveIntegerField("宽")
    height = models.PositiveIntegerField("高")
    size_bytes = models.PositiveIntegerField("大小(字节)")
    status = models.CharField("审核状态", max_length=16, choices=Status.choices, default=Status.PENDING_CHECK)
    trace_id = models.CharField(max_length=64, null=True, blank=True, unique=True)
    check_attempts = models.PositiveSmallIntegerField("送审次数", default=0)
    label = models.PositiveIntegerField("审核标签", null=True, blank=True)
    checked_at = models.DateTimeField("审核时间", null=True, blank=True)
    created_at = models.DateTimeField("上传时间", auto_now_add=True)

    objects = ImageQuerySet.as_manager()

    class Meta:
        db_table = "core_image"
        verbose_name = "图片"
        verbose_name_plural = "图片"
        indexes = [
            models.Index(fields=["status", "created_at"], name="core_image_status_acc508_idx"),
            models.Index(fields=["owner", "-created_at"], name="core_image_owner_i_d3e4de_idx"),
        ]

    def __str__(self) -> str:
        return f"图片#{self.pk}（{self.get_status_display()}）"

    @property
    def is_public(self) -> bool:
        return self.status == self.Status.PASSED


class ImageLinkQuerySet(models.QuerySet):
    def visible_to(self, user) -> ImageLinkQuerySet:
        """Links whose picture `user` may see (Image.objects.visible_to: passed, or their own)."""
        return self.filter(models.Q(image__status=Image.Status.PASSED) | models.Q(image__owner_id=getattr(user, "pk", None)))


class ImageLink(models.Model):
    """Abstract: one picture attached, in order, to something a person wrote (a post, a topic, a
    milestone, a completed service request). The subclass adds the foreign key to its owner and
    a unique constraint on (owner, image). Others see the picture only once WeChat passed it."""

    image = models.ForeignKey(Image, verbose_name="图片", on_delete=models.CASCADE, related_name="%(app_label)s_%(class)s_links")
    position = models.PositiveSmallIntegerField("顺序", default=0)

    objects = ImageLinkQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["position"]

    @classmethod
    def rows(cls, image_ids: list[int], **owner: object) -> list[ImageLink]:
        """Unsaved links for `image_ids` in their order, for bulk_create."""
        return [cls(image_id=image_id, position=i, **owner) for i, image_id in enumerate(image_ids)]
