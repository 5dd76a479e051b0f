"""Who is this user, where do they live, and what may they do there."""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone

from core.crypto import EncryptedTextField, mask_phone


class Region(models.Model):
    """区 → 街道/镇 → 居委/村 → 楼组, each with its 12-digit statistical code."""

    class Level(models.TextChoices):
        DISTRICT = "district", "区"
        STREET = "street", "街道/镇"
        NEIGHBORHOOD = "neighborhood", "居委/村"
        BUILDING_GROUP = "building_group", "楼组"

    PARENT_LEVEL = {
        Level.STREET: Level.DISTRICT,
        Level.NEIGHBORHOOD: Level.STREET,
        Level.BUILDING_GROUP: Level.NEIGHBORHOOD,
    }

    level = models.CharField("层级", max_length=16, choices=Level.choices)
    parent = models.ForeignKey("self", verbose_name="上级", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    code = models.CharField(
        "统计用区划代码", max_length=12, unique=True, validators=[RegexValidator(r"^\d{12}$", "区划代码须为12位数字")]
    )
    name = models.CharField("名称", max_length=64)
    households = models.PositiveIntegerField("户数", default=0, help_text="居委/村的户数，覆盖率分母")
    population = models.PositiveIntegerField("常住人口", default=0, help_text="居委/村的居民数，覆盖率分母")
    # The party roll is kept by the neighborhood's party organization, not on the platform,
    # so like households and population it is entered, not counted (db_default: bulk loaders
    # that name their columns keep working).
    registered_party_members = models.PositiveIntegerField(
        "在册党员数", default=0, db_default=0, help_text="居委/村党组织在册党员数，党员亮身份率分母"
    )
    # Settings a neighborhood may tune (thresholds for reports, topics, ...).
    settings = models.JSONField("参数", default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "区域"
        verbose_name_plural = "区域"
        ordering = ["code"]
        indexes = [models.Index(fields=["level", "parent"]), models.Index(fields=["level", "name"])]

    def __str__(self) -> str:
        return f"{self.name}（{self.get_level_display()}）"

    @property
    def is_neighborhood(self) -> bool:
        return self.level == self.Level.NEIGHBORHOOD

    def setting(self, name: str, default):
        return (self.settings or {}).get(name, default)


def display_name(nickname: str, first_name: str, last_name: str, username: str, deleted_at) -> str:
    """The name shown for a user, from their columns (the feed reads them without a User instance)."""
    if deleted_at:
        return "已注销用户"
    return nickname or f"{first_name} {last_name}".strip() or username


class User(AbstractUser):
    """A person. Residents come from WeChat (openid); staff may also have a password for the console."""

    openid = models.CharField(max_length=64, unique=True, null=True, blank=True)
    unionid = models.CharField(max_length=64, null=True, blank=True, db_index=True)
    nickname = models.CharField("昵称", max_length=32, blank=True)
    avatar_url = models.URLField("头像", max_length=500, blank=True)
    phone = EncryptedTextField("手机号", blank=True, default="")
    phone_bound_at = models.DateTimeField(null=True, blank=True)
    is_banned = models.BooleanField("已封禁", default=False)
    deleted_at = models.DateTimeField("注销时间", null=True, blank=True)

    objects = UserManager()

    class Meta:
        verbose_name = "用户"
        verbose_name_plural = "用户"

    def __str__(self) -> str:
        return self.display_name

    @property
    def display_name(self) -> str:
        return display_name(self.nickname, self.first_name, self.last_name, self.username, self.deleted_at)

    @property
    def masked_phone(self) -> str:
        return mask_phone(self.phone)


def _hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode("ascii")).hexdigest()


class ApiTokenQuerySet(models.QuerySet):
    def live(self):
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ApiToken(models.Model):
    """A bearer token. Only its SHA-256 is stored; the raw value is shown once at login."""

    PREFIX = "stq_"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    key_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        verbose_name = "访问令牌"
        verbose_name_plural = "访问令牌"

    @classmethod
    def issue(cls, user: User, *, user_agent: str = "", ttl: timedelta | None = None) -> tuple[ApiToken, str]:
        raw = cls.PREFIX + secrets.token_urlsafe(32)
        token = cls.objects.create(
            user=user,
            key_hash=_hash_token(raw),
            expires_at=timezone.now() + (ttl or timedelta(days=settings.API_TOKEN_TTL_DAYS)),
            user_agent=user_agent[:200],
        )
        return token, raw

    @staticmethod
    def hash_of(raw: str) -> str | None:
        """The stored hash of a raw token, or None for something that cannot be one."""
        if not raw.startswith(ApiToken.PREFIX) or len(raw) > 100:
            return None
        return _hash_token(raw)

    @classmethod
    def find(cls, raw: str) -> ApiToken | None:
        key_hash = cls.hash_of(raw)
        return cls.find_by_hash(key_hash) if key_hash else None

    @classmethod
    def find_by_hash(cls, key_hash: str) -> ApiToken | None:
        return cls.objects.select_related("user").filter(key_hash=key_hash).first()


class Membership(models.Model):
    """A user's home in a 居委/村. Approved by committee staff; one may be current."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审核"
        APPROVED = "approved", "已通过"
        REJECTED = "rejected", "已驳回"
        LEFT = "left", "已退出"

    ACTIVE_STATUSES = (Status.PENDING, Status.APPROVED)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    neighborhood = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="memberships")
    building_group = models.ForeignKey(
        Region, null=True, blank=True, on_delete=models.SET_NULL, related_name="building_memberships"
    )
    building = models.CharField("楼号", max_length=32, blank=True)
    room = EncryptedTextField("室号", blank=True, default="")
    # Keyed hash of (neighborhood, building, room): "one per household" without decrypting rooms.
    household_key = models.CharField(max_length=64, blank=True, db_index=True)
    is_owner = models.BooleanField("业主", default=False)
    floor_area = models.DecimalField("建筑面积(㎡)", max_digits=8, decimal_places=2, null=True, blank=True)
    status = models.CharField("状态", max_length=16, choices=Status.choices, default=Status.PENDING)
    is_current = models.BooleanField("当前家庭", default=False)
    joined_via = models.CharField("加入方式", max_length=16, default="choose", help_text="qrcode / choose / staff")
    reject_reason = models.CharField("驳回原因", max_length=200, blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "居民身份"
        verbose_name_plural = "居民身份"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "neighborhood"],
                condition=Q(status__in=["pending", "approved"]),
                name="membership_one_active_per_neighborhood",
            ),
            models.UniqueConstraint(fields=["user"], condition=Q(is_current=True), name="membership_one_current"),
        ]
        indexes = [
            models.Index(fields=["neighborhood", "status", "created_at"]),
            models.Index(fields=["user", "status"]),
        ]


class Role(models.Model):
    """A role held in a region. Resident-ness itself is an approved Membership, not a Role."""

    class Kind(models.TextChoices):
        PARTY_MEMBER = "party_member", "党员"
        BUILDING_LEADER = "building_leader", "楼组长"
        MODERATOR = "moderator", "版主"
        COMMITTEE_STAFF = "committee_staff", "居委干部"
        STREET_OFFICER = "street_officer", "街道干部"
        DISTRICT_ADMIN = "district_admin", "区管理员"
        SERVICE_PROVIDER = "service_provider", "服务人员"

    # Which region level each role is held at.
    LEVELS = {
        Kind.PARTY_MEMBER: Region.Level.NEIGHBORHOOD,
        Kind.BUILDING_LEADER: Region.Level.NEIGHBORHOOD,
        Kind.MODERATOR: Region.Level.NEIGHBORHOOD,
        Kind.COMMITTEE_STAFF: Region.Level.NEIGHBORHOOD,
        Kind.STREET_OFFICER: Region.Level.STREET,
        Kind.DISTRICT_ADMIN: Region.Level.DISTRICT,
        Kind.SERVICE_PROVIDER: Region.Level.STREET,
    }
    BADGE_KINDS = (Kind.PARTY_MEMBER, Kind.BUILDING_LEADER, Kind.COMMITTEE_STAFF, Kind.STREET_OFFICER)

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="roles")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="roles")
    kind = models.CharField("角色", max_length=24, choices=Kind.choices)
    title = models.CharField("职务", max_length=32, blank=True, help_text="如：党总支书记、3号楼楼组长")
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "角色"
        verbose_name_plural = "角色"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "region", "kind"], condition=Q(revoked_at__isnull=True), name="role_one_active"
            )
        ]
        indexes = [models.Index(fields=["user", "kind"]), models.Index(fields=["region", "kind"])]


class PartyIdentityRequest(models.Model):
    """亮身份: a member asks to show the 党员 badge; committee staff verify."""

    class Status(models.TextChoices):
        PENDING = "pending", "待审核"
        APPROVED = "approved", "已认证"
        REJECTED = "rejected", "已驳回"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="party_identity_requests")
    neighborhood = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")
    party_branch = models.CharField("所在党组织", max_length=64)
    joined_party_year = models.PositiveSmallIntegerField("入党年份", null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reject_reason = models.CharField(max_length=200, blank=True)
    decided_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = "亮身份申请"
        verbose_name_plural = "亮身份申请"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "neighborhood"], condition=Q(status="pending"), name="party_identity_one_pending"
            )
        ]


class PersonalInfoConsent(models.Model):
    """PIPL: a recorded consent before a kind of sensitive information is collected."""

    class Purpose(models.TextChoices):
        PHONE = "phone", "手机号（联系与通知）"
        ADDRESS = "address", "住址（上门服务）"
        HEALTH = "health", "健康状况（服务安全）"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="pi_consents")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    text_version = models.CharField("告知文本版本", max_length=16)
    granted_at = models.DateTimeField(auto_now_add=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "个人信息授权"
        verbose_name_plural = "个人信息授权"
        constraints = [
            models.UniqueConstraint(
                fields=["user", "purpose"], condition=Q(withdrawn_at__isnull=True), name="pi_consent_one_active"
            )
        ]


class Beneficiary(models.Model):
    """An elder a resident acts for (or the resident themself when they register their own details)."""

    class Mobility(models.TextChoices):
        INDEPENDENT = "independent", "行动自如"
        ASSISTED = "assisted", "需要搀扶"
        WHEELCHAIR = "wheelchair", "轮椅"
        BEDRIDDEN = "bedridden", "卧床"

    owner = models.ForeignKey(User, on_delete=models.CASCADE, related_name="beneficiaries", help_text="登记人（家属）")
    neighborhood = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="beneficiaries")
    name = models.CharField("姓名", max_length=32)
    relation = models.CharField("与登记人关系", max_length=16, help_text="本人/父亲/母亲/…")
    birth_year = models.PositiveSmallIntegerField("出生年份")
    phone = EncryptedTextField("联系电话", blank=True, default="")
    address = EncryptedTextField("住址", blank=True, default="")
    mobility = models.CharField("行动能力", max_length=16, choices=Mobility.choices, default=Mobility.INDEPENDENT)
    health_notes = EncryptedTextField("健康备注", blank=True, default="")
    is_default = models.BooleanField("默认服务对象", default=False)
    filed_by_staff = models.ForeignKey(
        User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", help_text="无手机老人由居委代为登记"
    )
    # Staff filing for an elder collect consent on paper; the notice version signed is kept here.
    offline_consent_version = models.CharField("书面告知版本", max_length=16, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    deleted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = "服务对象"
        verbose_name_plural = "服务对象"
        constraints = [
            models.UniqueConstraint(
                fields=["owner"], condition=Q(is_default=True, deleted_at__isnull=True), name="beneficiary_one_default"
            )
        ]

    @property
    def age(self) -> int:
        return timezone.localdate().year - self.birth_year


class SensitiveAccessLog(models.Model):
    """Every full view of someone else's phone, address or health notes by staff (docs/residents.md, Privacy rules)."""

    viewer = models.ForeignKey(User, on_delete=models.PROTECT, related_name="+")
    subject_user = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    subject_label = models.CharField(max_length=100, help_text="e.g. beneficiary:12 / service_request:7")
    field = models.CharField(max_length=32)
    screen = models.CharField(max_length=100, help_text="API path or console page")
    viewed_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "敏感信息查看记录"
        verbose_name_plural = "敏感信息查看记录"
