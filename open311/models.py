"""Open311 GeoReport v2 for partner systems (a 12345 platform, a grid-management system):
their API keys and which matters they filed. docs/open311.md has the API.

A key is stored only as a keyed hash (`core.crypto.blind_index`, purpose `open311_api_key`);
the key itself is shown once, when it is made (admin or `manage.py create_open311_key`).
"""

from __future__ import annotations

from django.db import models

from matters.models import Matter
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
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "Open311 提交记录"
        verbose_name_plural = "Open311 提交记录"
