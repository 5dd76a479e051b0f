"""Open311 GeoReport v2 for partner systems (a 12345 platform, a grid-management system):
their API keys and which matters they filed. docs/open311.md has the API.

A key is stored only as a keyed hash (`core.crypto.blind_index`, purpose `open311_api_key`);
the key itself is shown once, when it is made (admin or `manage.py create_open311_key`).
"""

from __future__ import annotations

from django.db import models

from matters.models import Matter, MatterItem
from residents.models import Region


class PartnerKey(models.Model):
    name = models.CharField("合作系统", max_length=64, help_text="如：宝山区12345热线平台")
    key_prefix = models.CharField("密钥前缀", max_length=12, editable=False, help_text="仅用于辨认，不能用来调用")
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    regions = models.ManyToManyField(
        Region, verbose_name="可访问区域", related_name="+",
        help_text="可在这些区域（及其下级）提交和查询诉求：区、街道或居委/村",
    )
    may_file = models.BooleanField("可提交诉求", default=False)
    is_active = models.BooleanField("启用", default=True)
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    last_used_at = models.DateTimeField("最近使用", null=True, blank=True)

    class Meta:
        verbose_name = "Open311 合作密钥"
        verbose_name_plural = "Open311 合作密钥"
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name}（{self.key_prefix}…）"


class PartnerRequest(models.Model):
    """A matter a partner system filed: it is the filer (the matter has no resident reporter),
    so it may always read it back."""

    key = models.ForeignKey(PartnerKey, verbose_name="合作密钥", on_delete=models.PROTECT, related_name="requests")
    matter = models.OneToOneField(Matter, verbose_name="诉求", on_delete=models.CASCADE, related_name="partner_request")
    # The service attributes the partner answered ({code: value}, values as sent: a list for a
    # multivaluelist), also written into the matter's text for the unit (open311/attributes.py).
    attributes = models.JSONField("附加属性", default=dict, blank=True)
    # The partner's Idempotency-Key and a keyed hash of the form it came with: a repeat within
    # REPLAY_WINDOW answers this request again (open311/idempotency.py). Cleared when reused later.
    idempotency_key = models.CharField(max_length=128, null=True, blank=True, editable=False)
    fingerprint = models.CharField(max_length=64, blank=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Open311 提交记录"
        verbose_name_plural = "Open311 提交记录"
        constraints = [
            models.UniqueConstraint(
                fields=["key", "idempotency_key"], condition=models.Q(idempotency_key__isnull=False),
                name="open311_request_idempotency_key",
            ),
        ]


class ServiceAttribute(models.Model):
    """A question a partner answers when filing a service (GeoReport v2 `attributes` in the
    service definition, `attribute[code]` on POST). A service with any active attribute is
    `metadata=true` in services.json. Configured in the admin."""

    class Datatype(models.TextChoices):
        STRING = "string", "单行文字"
        NUMBER = "number", "数字"
        DATETIME = "datetime", "日期时间"
        TEXT = "text", "多行文字"
        SINGLEVALUELIST = "singlevaluelist", "单选"
        MULTIVALUELIST = "multivaluelist", "多选"

    item = models.ForeignKey(MatterItem, verbose_name="诉求小类（服务）", on_delete=models.CASCADE, related_name="+")
    code = models.SlugField("代码", max_length=32, help_text="attribute[代码]，字母、数字、下划线或连字符")
    description = models.CharField("问题", max_length=200, help_text="向合作方提出的问题，如：路灯编号是多少？")
    datatype = models.CharField("类型", max_length=16, choices=Datatype.choices, default=Datatype.STRING)
    datatype_description = models.CharField("填写说明", max_length=200, blank=True)
    required = models.BooleanField("必填", default=False)
    order = models.PositiveSmallIntegerField("顺序", default=1)
    values = models.JSONField(
        "选项", default=list, blank=True,
        help_text='单选、多选时必填：[{"key": "1", "name": "路面"}, …]；其他类型留空',
    )
    is_active = models.BooleanField("启用", default=True)

    class Meta:
        verbose_name = "Open311 服务属性"
        verbose_name_plural = "Open311 服务属性"
        ordering = ["item", "order", "id"]
        constraints = [models.UniqueConstraint(fields=["item", "code"], name="open311_attribute_unique_code")]

    def __str__(self) -> str:
        return f"{self.item}：{self.description}"

    @property
    def is_list(self) -> bool:
        return self.datatype in (self.Datatype.SINGLEVALUELIST, self.Datatype.MULTIVALUELIST)

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        values = self.values or []
        if self.is_list:
            ok = isinstance(values, list) and values and all(
                isinstance(v, dict) and set(v) == {"key", "name"} and str(v["key"]).strip() and str(v["name"]).strip()
                for v in values
            )
            if not ok:
                raise ValidationError({"values": '单选、多选须给出选项：[{"key": "1", "name": "路面"}, …]'})
            keys = [str(v["key"]) for v in values]
            if len(set(keys)) != len(keys):
                raise ValidationError({"values": "选项的 key 不能重复"})
        elif values:
            raise ValidationError({"values": "只有单选、多选有选项"})
