"""Input and output shapes of the residents API. No rules here: those live in actions/access."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.crypto import mask_phone, mask_text
from residents.models import (
    Beneficiary,
    Membership,
    PartyIdentityRequest,
    PersonalInfoConsent,
    Region,
    Role,
    User,
)


class StrictInput(serializers.Serializer):
    """Rejects fields it does not know, so a typo is a 400 instead of a silent no-op."""

    def to_internal_value(self, data: Any) -> Any:
        if isinstance(data, dict):
            unknown = sorted(set(data) - set(self.fields))
            if unknown:
                raise serializers.ValidationError({name: ["不支持的字段"] for name in unknown})
        return super().to_internal_value(data)


# --- auth and me ----------------------------------------------------------------------


class WeChatLoginInput(StrictInput):
    code = serializers.CharField(max_length=128)
    nickname = serializers.CharField(max_length=32, required=False, allow_blank=True)
    avatar_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


class RegionBriefOut(serializers.ModelSerializer):
    class Meta:
        model = Region
        fields = ["id", "name", "level", "code"]


class UserBriefOut(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)

    class Meta:
        model = User
        fields = ["id", "display_name", "nickname", "avatar_url"]


class LoginOut(serializers.Serializer):
    token = serializers.CharField()
    expires_at = serializers.DateTimeField()
    user = UserBriefOut()
    created = serializers.BooleanField(help_text="是否为首次登录新建的用户")


class MembershipSummaryOut(serializers.ModelSerializer):
    neighborhood = RegionBriefOut()

    class Meta:
        model = Membership
        fields = ["id", "neighborhood", "status", "is_current"]


class RoleOut(serializers.ModelSerializer):
    region = RegionBriefOut()
    kind_display = serializers.CharField(source="get_kind_display")

    class Meta:
        model = Role
        fields = ["id", "kind", "kind_display", "title", "region", "granted_at"]


class MeOut(serializers.ModelSerializer):
    display_name = serializers.CharField(read_only=True)
    phone_masked = serializers.CharField(source="masked_phone")
    memberships = serializers.SerializerMethodField()
    roles = serializers.SerializerMethodField()
    current_neighborhood = serializers.SerializerMethodField()
    is_staff_member = serializers.SerializerMethodField(help_text="是否为居委/街道/区工作人员")

    class Meta:
        model = User
        fields = [
            "id", "display_name", "nickname", "avatar_url", "phone_masked", "phone_bound_at",
            "memberships", "roles", "current_neighborhood", "is_staff_member",
        ]

    @extend_schema_field(MembershipSummaryOut(many=True))
    def get_memberships(self, user: User) -> list:
        return MembershipSummaryOut(self.context["memberships"], many=True).data

    @extend_schema_field(RoleOut(many=True))
    def get_roles(self, user: User) -> list:
        return RoleOut(self.context["roles"], many=True).data

    @extend_schema_field(RegionBriefOut(allow_null=True))
    def get_current_neighborhood(self, user: User) -> dict | None:
        for membership in self.context["memberships"]:
            if membership.is_current and membership.status == Membership.Status.APPROVED:
                return RegionBriefOut(membership.neighborhood).data
        return None

    def get_is_staff_member(self, user: User) -> bool:
        return bool(self.context["is_staff"])


class MePatchInput(StrictInput):
    nickname = serializers.CharField(max_length=32, required=False, allow_blank=False)
    avatar_url = serializers.URLField(max_length=500, required=False, allow_blank=True)


class PhoneInput(StrictInput):
    code = serializers.CharField(max_length=128)


class PhoneOut(serializers.Serializer):
    phone = serializers.CharField(help_text="完整号码，仅本人可见")
    phone_masked = serializers.CharField()
    phone_bound_at = serializers.DateTimeField()


class ConsentInput(StrictInput):
    purpose = serializers.ChoiceField(choices=PersonalInfoConsent.Purpose.choices)
    text_version = serializers.CharField(max_length=16)


class ConsentOut(serializers.ModelSerializer):
    purpose_display = serializers.CharField(source="get_purpose_display")

    class Meta:
        model = PersonalInfoConsent
        fields = ["id", "purpose", "purpose_display", "text_version", "granted_at", "withdrawn_at"]


# --- regions --------------------------------------------------------------------------


class RegionListQuery(StrictInput):
    level = serializers.ChoiceField(choices=Region.Level.choices, required=False)
    parent = serializers.IntegerField(min_value=1, required=False)
    q = serializers.CharField(max_length=32, required=False, allow_blank=True)
    cursor = serializers.CharField(max_length=500, required=False)
    limit = serializers.CharField(max_length=4, required=False)


class RegionOut(serializers.ModelSerializer):
    level_display = serializers.CharField(source="get_level_display")
    parent_id = serializers.IntegerField(allow_null=True)
    households = serializers.SerializerMethodField()
    population = serializers.SerializerMethodField()

    class Meta:
        model = Region
        fields = ["id", "code", "name", "level", "level_display", "parent_id", "households", "population"]

    def get_households(self, region: Region) -> int | None:
        return region.households if region.is_neighborhood else None

    def get_population(self, region: Region) -> int | None:
        return region.population if region.is_neighborhood else None


class RegionDetailOut(RegionOut):
    ancestors = serializers.SerializerMethodField(help_text="上级链，从区到直接上级")

    class Meta(RegionOut.Meta):
        fields = RegionOut.Meta.fields + ["ancestors"]

    @extend_schema_field(RegionBriefOut(many=True))
    def get_ancestors(self, region: Region) -> list:
        chain = []
        parent = region.parent
        while parent is not None:
            chain.append(parent)
            parent = parent.parent
        return RegionBriefOut(list(reversed(chain)), many=True).data


class RegionPageOut(serializers.Serializer):
    results = RegionOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


# --- memberships ----------------------------------------------------------------------


class MembershipInput(StrictInput):
    neighborhood = serializers.IntegerField(min_value=1, required=False, help_text="居委/村 id（与 scene 二选一）")
    scene = serializers.RegexField(r"^n=\d{1,18}$", max_length=32, required=False, help_text="小程序码 scene，如 n=12")
    building = serializers.CharField(max_length=32)
    room = serializers.CharField(max_length=32)
    building_group = serializers.IntegerField(min_value=1, required=False, allow_null=True)
    is_owner = serializers.BooleanField(required=False, default=False)
    floor_area = serializers.DecimalField(max_digits=8, decimal_places=2, min_value=0, required=False, allow_null=True)

    def validate(self, attrs: dict) -> dict:
        if ("neighborhood" in attrs) == ("scene" in attrs):
            raise serializers.ValidationError({"neighborhood": ["请提供 neighborhood 或 scene 其中之一"]})
        return attrs


class MembershipOut(serializers.ModelSerializer):
    """The applicant's own view: the room in full (it is theirs)."""

    neighborhood = RegionBriefOut()
    building_group = RegionBriefOut(allow_null=True)
    status_display = serializers.CharField(source="get_status_display")

    class Meta:
        model = Membership
        fields = [
            "id", "neighborhood", "building_group", "building", "room", "is_owner", "floor_area", "status",
            "status_display", "is_current", "joined_via", "reject_reason", "decided_at", "created_at",
        ]


class MembershipListItemOut(MembershipOut):
    """A row of GET /memberships: whose it is, and the room (in full in one's own list,
    masked in the staff queue). One shape for both, so the schema tells the truth."""

    user = UserBriefOut()

    class Meta(MembershipOut.Meta):
        fields = MembershipOut.Meta.fields + ["user"]


class StaffMembershipOut(MembershipListItemOut):
    """The staff queue: who applied, with the room masked (docs/residents.md, Privacy rules)."""

    room = serializers.SerializerMethodField()

    def get_room(self, membership: Membership) -> str:
        return mask_text(membership.room, keep=1)


class MembershipPageOut(serializers.Serializer):
    results = MembershipListItemOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class MembershipListQuery(StrictInput):
    scope = serializers.ChoiceField(choices=[("mine", "mine"), ("staff", "staff")], required=False, default="mine")
    status = serializers.ChoiceField(choices=Membership.Status.choices, required=False)
    neighborhood = serializers.IntegerField(min_value=1, required=False)
    cursor = serializers.CharField(max_length=500, required=False)
    limit = serializers.CharField(max_length=4, required=False)


class DecisionInput(StrictInput):
    decision = serializers.ChoiceField(choices=[("approve", "通过"), ("reject", "驳回")])
    reason = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


# --- party identity -------------------------------------------------------------------


def _year_validator(value: int) -> None:
    if not 1921 <= value <= timezone.localdate().year:
        raise serializers.ValidationError("入党年份不合理")


class PartyIdentityInput(StrictInput):
    neighborhood = serializers.IntegerField(min_value=1)
    party_branch = serializers.CharField(max_length=64)
    joined_party_year = serializers.IntegerField(required=False, allow_null=True, validators=[_year_validator])


class PartyIdentityOut(serializers.ModelSerializer):
    neighborhood = RegionBriefOut()
    user = UserBriefOut()
    status_display = serializers.CharField(source="get_status_display")

    class Meta:
        model = PartyIdentityRequest
        fields = [
            "id", "user", "neighborhood", "party_branch", "joined_party_year", "status", "status_display",
            "reject_reason", "decided_at", "created_at",
        ]


class PartyIdentityPageOut(serializers.Serializer):
    results = PartyIdentityOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class PartyIdentityListQuery(StrictInput):
    scope = serializers.ChoiceField(choices=[("mine", "mine"), ("staff", "staff")], required=False, default="mine")
    status = serializers.ChoiceField(choices=PartyIdentityRequest.Status.choices, required=False)
    neighborhood = serializers.IntegerField(min_value=1, required=False)
    cursor = serializers.CharField(max_length=500, required=False)
    limit = serializers.CharField(max_length=4, required=False)


# --- roles ----------------------------------------------------------------------------


class RoleListQuery(StrictInput):
    region = serializers.IntegerField(min_value=1)
    cursor = serializers.CharField(max_length=500, required=False)
    limit = serializers.CharField(max_length=4, required=False)


class RoleInput(StrictInput):
    user = serializers.IntegerField(min_value=1)
    region = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=Role.Kind.choices)
    title = serializers.CharField(max_length=32, required=False, allow_blank=True, default="")


class StaffRoleOut(RoleOut):
    user = UserBriefOut()

    class Meta(RoleOut.Meta):
        fields = RoleOut.Meta.fields + ["user"]


class RolePageOut(serializers.Serializer):
    results = StaffRoleOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


# --- beneficiaries --------------------------------------------------------------------


class BeneficiaryFields(StrictInput):
    name = serializers.CharField(max_length=32)
    relation = serializers.CharField(max_length=16)
    birth_year = serializers.IntegerField(min_value=1900, max_value=2100)
    phone = serializers.RegexField(r"^\+?\d{5,20}$", max_length=21, required=False, allow_blank=True)
    address = serializers.CharField(max_length=200, required=False, allow_blank=True)
    mobility = serializers.ChoiceField(choices=Beneficiary.Mobility.choices, required=False)
    health_notes = serializers.CharField(max_length=500, required=False, allow_blank=True)
    is_default = serializers.BooleanField(required=False)

    def validate_birth_year(self, value: int) -> int:
        if value > timezone.localdate().year:
            raise serializers.ValidationError("出生年份不能晚于今年")
        return value


class BeneficiaryCreateInput(BeneficiaryFields):
    neighborhood = serializers.IntegerField(min_value=1, required=False, help_text="默认为当前家庭所在居委/村")
    filed_by_staff = serializers.BooleanField(required=False, default=False, help_text="工作人员代无手机老人登记")
    owner = serializers.IntegerField(min_value=1, required=False, allow_null=True, help_text="代登记时的家属用户 id，缺省为工作人员本人")
    offline_consent_version = serializers.CharField(max_length=16, required=False, allow_blank=True, default="")


class BeneficiaryPatchInput(BeneficiaryFields):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs["partial"] = True
        super().__init__(*args, **kwargs)


class BeneficiaryListOut(serializers.ModelSerializer):
    """Lists mask phone, address and health notes for everyone, owner included."""

    neighborhood = RegionBriefOut()
    phone = serializers.SerializerMethodField()
    address = serializers.SerializerMethodField()
    health_notes = serializers.SerializerMethodField()
    age = serializers.IntegerField(read_only=True)
    mobility_display = serializers.CharField(source="get_mobility_display")
    filed_by_staff = serializers.SerializerMethodField()

    class Meta:
        model = Beneficiary
        fields = [
            "id", "name", "relation", "birth_year", "age", "phone", "address", "mobility", "mobility_display",
            "health_notes", "is_default", "neighborhood", "filed_by_staff", "created_at",
        ]

    def get_phone(self, b: Beneficiary) -> str:
        return mask_phone(b.phone)

    def get_address(self, b: Beneficiary) -> str:
        return mask_text(b.address)

    def get_health_notes(self, b: Beneficiary) -> str:
        return "已填写" if b.health_notes else ""

    def get_filed_by_staff(self, b: Beneficiary) -> bool:
        return b.filed_by_staff_id is not None


class BeneficiaryDetailOut(BeneficiaryListOut):
    phone = serializers.CharField()
    address = serializers.CharField()
    health_notes = serializers.CharField()
    owner = UserBriefOut()

    class Meta(BeneficiaryListOut.Meta):
        fields = BeneficiaryListOut.Meta.fields + ["owner", "offline_consent_version"]


class BeneficiaryPageOut(serializers.Serializer):
    results = BeneficiaryListOut(many=True)
    next_cursor = serializers.CharField(allow_null=True)


class BeneficiaryListQuery(StrictInput):
    scope = serializers.ChoiceField(choices=[("mine", "mine"), ("staff", "staff")], required=False, default="mine")
    neighborhood = serializers.IntegerField(min_value=1, required=False)
    cursor = serializers.CharField(max_length=500, required=False)
    limit = serializers.CharField(max_length=4, required=False)
