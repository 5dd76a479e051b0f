"""The residents API: login, me, regions, memberships, 亮身份, roles, beneficiaries.

Views are thin: validate with an input serializer, `access_*`, one action or query, serialize.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers as drf_serializers
from rest_framework import status
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from core.cache import get_if_up, set_if_up
from core.errors import Forbidden, NotFound
from core.idempotency import idempotent
from core.pagination import page_response, parse_limit
from core.throttling import LoginThrottle, MembershipThrottle
from privacy.api import ERASE_SCHEMA, erase_me
from residents import access, actions, queries
from residents import serializers as s
from residents.models import Beneficiary, Membership, PersonalInfoConsent, Region, User
from wechat import client as wechat

JOIN_PAGE = "pages/join/index"
QRCODE_CACHE_SECONDS = 7 * 24 * 3600


def _validated(serializer_class: type[drf_serializers.Serializer], data: Any) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return dict(serializer.validated_data)


def _limit(query: dict) -> int:
    return parse_limit(query.get("limit"))


# --- auth -----------------------------------------------------------------------------


class WeChatLoginView(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes = [LoginThrottle]

    @extend_schema(
        tags=["auth"],
        summary="微信登录（wx.login 的 code 换取访问令牌）",
        request=s.WeChatLoginInput,
        responses={200: s.LoginOut, 201: s.LoginOut},
        auth=[],
    )
    def post(self, request):
        data = _validated(s.WeChatLoginInput, request.data)
        session = wechat.code_to_session(data["code"])
        user, raw, token, created = actions.do_login_wechat(
            openid=session.openid,
            unionid=session.unionid,
            nickname=data.get("nickname", ""),
            avatar_url=data.get("avatar_url", ""),
            user_agent=request.headers.get("User-Agent", ""),
        )
        body = s.LoginOut({"token": raw, "expires_at": token.expires_at, "user": user, "created": created}).data
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class LogoutView(APIView):
    @extend_schema(tags=["auth"], summary="退出登录（吊销当前令牌）", request=None, responses={204: None})
    def post(self, request):
        actions.do_logout(token=request.auth)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- me -------------------------------------------------------------------------------


def _me_response(user: User) -> Response:
    return Response(s.MeOut(user, context=queries.me_context(user)).data)


class MeView(APIView):
    @extend_schema(tags=["me"], summary="我的资料、家庭、角色", responses={200: s.MeOut})
    def get(self, request):
        return _me_response(request.user)

    @extend_schema(tags=["me"], summary="修改昵称、头像", request=s.MePatchInput, responses={200: s.MeOut})
    def patch(self, request):
        changes = _validated(s.MePatchInput, request.data)
        user = actions.do_update_profile(actor=request.user, changes=changes)
        return _me_response(user)

    @ERASE_SCHEMA
    def delete(self, request):
        return erase_me(request)


class MePhoneView(APIView):
    @extend_schema(
        tags=["me"],
        summary="绑定手机号（getPhoneNumber 按钮的 code；须先同意 phone 授权）",
        request=s.PhoneInput,
        responses={200: s.PhoneOut},
    )
    def post(self, request):
        data = _validated(s.PhoneInput, request.data)
        # Check consent before spending the single-use code with WeChat.
        actions.require_consent(request.user, PersonalInfoConsent.Purpose.PHONE)
        info = wechat.get_phone_number(data["code"])
        user = actions.do_bind_phone(actor=request.user, pure_phone_number=info.pure_phone_number)
        return Response(
            s.PhoneOut({"phone": user.phone, "phone_masked": user.masked_phone, "phone_bound_at": user.phone_bound_at}).data
        )


class ConsentsView(APIView):
    @extend_schema(tags=["me"], summary="我的个人信息授权（含已撤回）", responses={200: s.ConsentOut(many=True)})
    def get(self, request):
        consents = PersonalInfoConsent.objects.filter(user=request.user).order_by("-granted_at", "-id")[:100]
        return Response(s.ConsentOut(consents, many=True).data)

    @extend_schema(
        tags=["me"], summary="记录一项个人信息授权", request=s.ConsentInput,
        responses={200: s.ConsentOut, 201: s.ConsentOut},
    )
    @idempotent
    def post(self, request):
        data = _validated(s.ConsentInput, request.data)
        consent, created = actions.do_record_consent(actor=request.user, **data)
        return Response(s.ConsentOut(consent).data, status=201 if created else 200)


class ConsentDetailView(APIView):
    @extend_schema(
        tags=["me"], summary="撤回授权（撤回 phone 会清除手机号）", responses={204: None},
        parameters=[OpenApiParameter("purpose", str, OpenApiParameter.PATH, enum=PersonalInfoConsent.Purpose.values)],
    )
    def delete(self, request, purpose: str):
        if purpose not in PersonalInfoConsent.Purpose.values:
            raise NotFound("consent_not_found", "没有该项有效授权")
        actions.do_withdraw_consent(actor=request.user, purpose=purpose)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- regions --------------------------------------------------------------------------


class RegionListView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["regions"], operation_id="regions_list", summary="区域列表（按层级、上级、名称搜索）", parameters=[s.RegionListQuery],
        responses={200: s.RegionPageOut}, auth=[],
    )
    def get(self, request):
        query = _validated(s.RegionListQuery, request.query_params)
        page = queries.region_list(
            level=query.get("level"), parent_id=query.get("parent"), q=query.get("q"),
            cursor=query.get("cursor"), limit=_limit(query),
        )
        return Response(page_response(page, s.RegionOut(page.items, many=True).data))


class RegionDetailView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(tags=["regions"], summary="区域详情（含上级链、户数与人口）", responses={200: s.RegionDetailOut}, auth=[])
    def get(self, request, region_id: int):
        return Response(s.RegionDetailOut(queries.region_detail(region_id)).data)


class RegionQrcodeView(APIView):
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["regions"], summary="居委/村的入驻小程序码（PNG，scene 为 n=<id>）",
        responses={(200, "image/png"): OpenApiTypes.BINARY}, auth=[],
    )
    def get(self, request, region_id: int):
        neighborhood = queries.neighborhood_or_404(region_id)
        key = f"residents:join_qrcode:{neighborhood.pk}"
        image = get_if_up(key)
        if image is None:
            image = wechat.get_unlimited_qrcode(scene=f"n={neighborhood.pk}", page=JOIN_PAGE)
            # Unlimited codes never expire; caching also saves the daily quota.
            set_if_up(key, image, QRCODE_CACHE_SECONDS)
        response = HttpResponse(image, content_type="image/png")
        response["Cache-Control"] = "public, max-age=86400"
        return response


# --- memberships ----------------------------------------------------------------------


class MembershipsView(APIView):
    throttle_classes = [MembershipThrottle]

    @extend_schema(
        tags=["memberships"],
        operation_id="memberships_list",
        summary="我的居民身份；scope=staff 为工作人员审核队列（室号打码）",
        parameters=[s.MembershipListQuery],
        responses={200: s.MembershipPageOut},
    )
    def get(self, request):
        query = _validated(s.MembershipListQuery, request.query_params)
        if query["scope"] == "staff":
            page = queries.staff_membership_queue(
                request.user, status=query.get("status"), neighborhood_id=query.get("neighborhood"),
                cursor=query.get("cursor"), limit=_limit(query),
            )
            return Response(page_response(page, s.StaffMembershipOut(page.items, many=True).data))
        mine = queries.my_memberships(request.user)
        if query.get("status"):
            mine = [m for m in mine if m.status == query["status"]]
        return Response({"results": s.MembershipListItemOut(mine, many=True).data, "next_cursor": None})

    @extend_schema(
        tags=["memberships"],
        summary="申请加入居委/村（选择或扫码 scene）",
        request=s.MembershipInput,
        responses={200: s.MembershipOut, 201: s.MembershipOut},
    )
    @idempotent
    def post(self, request):
        data = _validated(s.MembershipInput, request.data)
        joined_via = "choose"
        neighborhood_id = data.get("neighborhood")
        if "scene" in data:
            neighborhood_id, joined_via = int(data["scene"][2:]), "qrcode"
        neighborhood = queries.neighborhood_or_404(neighborhood_id)
        building_group = None
        if data.get("building_group"):
            building_group = Region.objects.filter(pk=data["building_group"], level=Region.Level.BUILDING_GROUP).first()
            if building_group is None:
                raise NotFound("region_not_found", "楼组不存在")
        membership, created = actions.do_apply_membership(
            actor=request.user, neighborhood=neighborhood, building=data["building"], room=data["room"],
            building_group=building_group, is_owner=data.get("is_owner", False), floor_area=data.get("floor_area"),
            joined_via=joined_via,
        )
        return Response(s.MembershipOut(membership).data, status=201 if created else 200)


class MembershipDetailView(APIView):
    @extend_schema(tags=["memberships"], summary="居民身份详情（本人完整，工作人员室号打码）", responses={200: s.MembershipOut})
    def get(self, request, membership_id: int):
        membership = access.access_membership(request.user, membership_id)
        if membership.user_id == request.user.pk:
            return Response(s.MembershipOut(membership).data)
        return Response(s.StaffMembershipOut(membership).data)

    @extend_schema(tags=["memberships"], summary="退出家庭 / 撤回申请", responses={200: s.MembershipOut})
    def delete(self, request, membership_id: int):
        membership = access.access_membership(request.user, membership_id)
        if membership.user_id != request.user.pk:
            raise Forbidden("owner_only", "只能退出自己的家庭")
        return Response(s.MembershipOut(actions.do_leave_membership(membership_id=membership.pk, actor=request.user)).data)


class MembershipDecisionView(APIView):
    @extend_schema(
        tags=["memberships"], summary="审核入驻申请（通过/驳回）", request=s.DecisionInput,
        responses={200: s.StaffMembershipOut},
    )
    def post(self, request, membership_id: int):
        data = _validated(s.DecisionInput, request.data)
        membership = access.access_membership(request.user, membership_id)
        membership = actions.do_decide_membership(
            membership_id=membership.pk, actor=request.user, approve=data["decision"] == "approve", reason=data["reason"]
        )
        return Response(s.StaffMembershipOut(membership).data)


class MembershipCurrentView(APIView):
    @extend_schema(tags=["memberships"], summary="设为当前家庭", request=None, responses={200: s.MembershipOut})
    def post(self, request, membership_id: int):
        membership = access.access_membership(request.user, membership_id)
        if membership.user_id != request.user.pk:
            raise NotFound()
        membership = actions.do_set_current_membership(membership_id=membership.pk, actor=request.user)
        return Response(s.MembershipOut(membership).data)


# --- party identity -------------------------------------------------------------------


class PartyIdentityView(APIView):
    throttle_classes = [MembershipThrottle]

    @extend_schema(
        tags=["party-identity"], summary="我的亮身份申请；scope=staff 为审核队列", parameters=[s.PartyIdentityListQuery],
        responses={200: s.PartyIdentityPageOut},
    )
    def get(self, request):
        query = _validated(s.PartyIdentityListQuery, request.query_params)
        page = queries.party_identity_requests(
            request.user, staff=query["scope"] == "staff", status=query.get("status"),
            neighborhood_id=query.get("neighborhood"), cursor=query.get("cursor"), limit=_limit(query),
        )
        return Response(page_response(page, s.PartyIdentityOut(page.items, many=True).data))

    @extend_schema(
        tags=["party-identity"], summary="申请亮明党员身份（须为该居委/村认证居民）", request=s.PartyIdentityInput,
        responses={200: s.PartyIdentityOut, 201: s.PartyIdentityOut},
    )
    @idempotent
    def post(self, request):
        data = _validated(s.PartyIdentityInput, request.data)
        neighborhood = queries.neighborhood_or_404(data["neighborhood"])
        party_request, created = actions.do_request_party_identity(
            actor=request.user, neighborhood=neighborhood, party_branch=data["party_branch"],
            joined_party_year=data.get("joined_party_year"),
        )
        return Response(s.PartyIdentityOut(party_request).data, status=201 if created else 200)


class PartyIdentityDecisionView(APIView):
    @extend_schema(
        tags=["party-identity"], summary="审核亮身份申请", request=s.DecisionInput,
        responses={200: s.PartyIdentityOut},
    )
    def post(self, request, request_id: int):
        data = _validated(s.DecisionInput, request.data)
        party_request = access.access_party_identity_request(request.user, request_id)
        party_request = actions.do_decide_party_identity(
            request_id=party_request.pk, actor=request.user, approve=data["decision"] == "approve", reason=data["reason"]
        )
        return Response(s.PartyIdentityOut(party_request).data)


# --- roles ----------------------------------------------------------------------------


class RolesView(APIView):
    @extend_schema(
        tags=["roles"], summary="区域内的角色（限该区域工作人员）", parameters=[s.RoleListQuery],
        responses={200: s.RolePageOut},
    )
    def get(self, request):
        query = _validated(s.RoleListQuery, request.query_params)
        page = queries.roles_in_region(request.user, query["region"], cursor=query.get("cursor"), limit=_limit(query))
        return Response(page_response(page, s.StaffRoleOut(page.items, many=True).data))

    @extend_schema(
        tags=["roles"], summary="授予角色", request=s.RoleInput,
        responses={201: s.StaffRoleOut},
    )
    @idempotent
    def post(self, request):
        data = _validated(s.RoleInput, request.data)
        region = access.access_region_as_staff(request.user, data["region"])
        grantee = User.objects.filter(pk=data["user"], deleted_at__isnull=True).first()
        if grantee is None:
            raise NotFound("user_not_found", "用户不存在")
        role = actions.do_grant_role(
            actor=request.user, grantee=grantee, region=region, kind=data["kind"], title=data["title"]
        )
        return Response(s.StaffRoleOut(role).data, status=201)


class RoleDetailView(APIView):
    @extend_schema(tags=["roles"], summary="撤销角色", responses={204: None})
    def delete(self, request, role_id: int):
        role = access.access_role(request.user, role_id)
        actions.do_revoke_role(role_id=role.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- beneficiaries --------------------------------------------------------------------


def _beneficiary_values(data: dict) -> dict:
    fields = ("name", "relation", "birth_year", "phone", "address", "mobility", "health_notes", "is_default")
    return {k: data[k] for k in fields if k in data}


class BeneficiariesView(APIView):
    @extend_schema(
        tags=["beneficiaries"], operation_id="beneficiaries_list", summary="我登记的服务对象；scope=staff 为本辖区（敏感信息打码）",
        parameters=[s.BeneficiaryListQuery], responses={200: s.BeneficiaryPageOut},
    )
    def get(self, request):
        query = _validated(s.BeneficiaryListQuery, request.query_params)
        page = queries.beneficiaries(
            request.user, staff=query["scope"] == "staff", neighborhood_id=query.get("neighborhood"),
            cursor=query.get("cursor"), limit=_limit(query),
        )
        return Response(page_response(page, s.BeneficiaryListOut(page.items, many=True).data))

    @extend_schema(
        tags=["beneficiaries"],
        summary="登记服务对象（住址须 address 授权，健康备注须 health 授权；工作人员可代无手机老人登记）",
        request=s.BeneficiaryCreateInput,
        responses={201: s.BeneficiaryDetailOut},
    )
    @idempotent
    def post(self, request):
        data = _validated(s.BeneficiaryCreateInput, request.data)
        values = _beneficiary_values(data)
        user = request.user
        if data["filed_by_staff"]:
            access.require_staff(user)
            if not data.get("neighborhood"):
                raise Forbidden("neighborhood_required", "代为登记须指定居委/村")
            neighborhood = access.access_neighborhood_as_staff(user, data["neighborhood"])
            owner = user
            if data.get("owner"):
                owner = User.objects.filter(
                    pk=data["owner"],
                    memberships__neighborhood=neighborhood,
                    memberships__status=Membership.Status.APPROVED,
                ).first()
                if owner is None:
                    raise NotFound("user_not_found", "该居委/村没有此居民")
        else:
            if data.get("owner") or data.get("offline_consent_version"):
                raise Forbidden("staff_only", "仅限工作人员代为登记")
            neighborhood_id = data.get("neighborhood") or access.current_neighborhood_id(user)
            if neighborhood_id is None or not access.is_member(user, neighborhood_id):
                raise Forbidden("membership_required", "请先成为居委/村的认证居民")
            neighborhood = Region.objects.get(pk=neighborhood_id)
            owner = user
        beneficiary = actions.do_create_beneficiary(
            actor=user, owner=owner, neighborhood=neighborhood, values=values,
            filed_by_staff=data["filed_by_staff"], offline_consent_version=data.get("offline_consent_version", ""),
        )
        return Response(s.BeneficiaryDetailOut(beneficiary).data, status=201)


def _beneficiary_detail(request, beneficiary: Beneficiary) -> Response:
    if beneficiary.owner_id != request.user.pk:
        # Staff of the region looking at someone else's elder: every full view is logged.
        shown = [f for f in ("phone", "address", "health_notes") if getattr(beneficiary, f)]
        actions.log_sensitive_access(
            viewer=request.user, subject_user_id=beneficiary.owner_id, subject_label=f"beneficiary:{beneficiary.pk}",
            fields=shown, screen=request.path,
        )
    return Response(s.BeneficiaryDetailOut(beneficiary).data)


class BeneficiaryDetailView(APIView):
    @extend_schema(tags=["beneficiaries"], summary="服务对象详情（登记人或本辖区工作人员可见完整信息，工作人员查看留痕）",
                   responses={200: s.BeneficiaryDetailOut})
    def get(self, request, beneficiary_id: int):
        beneficiary = access.access_beneficiary(request.user, beneficiary_id)
        return _beneficiary_detail(request, beneficiary)

    @extend_schema(tags=["beneficiaries"], summary="修改服务对象", request=s.BeneficiaryPatchInput,
                   responses={200: s.BeneficiaryDetailOut})
    def patch(self, request, beneficiary_id: int):
        data = _validated(s.BeneficiaryPatchInput, request.data)
        beneficiary = access.access_beneficiary(request.user, beneficiary_id)
        beneficiary = actions.do_update_beneficiary(
            beneficiary_id=beneficiary.pk, actor=request.user, changes=_beneficiary_values(data)
        )
        return _beneficiary_detail(request, access.access_beneficiary(request.user, beneficiary.pk))

    @extend_schema(tags=["beneficiaries"], summary="删除服务对象（同时清除敏感信息）", responses={204: None})
    def delete(self, request, beneficiary_id: int):
        beneficiary = access.access_beneficiary(request.user, beneficiary_id)
        actions.do_delete_beneficiary(beneficiary_id=beneficiary.pk, actor=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)

