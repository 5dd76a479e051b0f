from django.urls import path

from residents import api

urlpatterns = [
    path("auth/wechat", api.WeChatLoginView.as_view(), name="auth-wechat"),
    path("auth/logout", api.LogoutView.as_view(), name="auth-logout"),
    path("me", api.MeView.as_view(), name="me"),
    path("me/phone", api.MePhoneView.as_view(), name="me-phone"),
    path("me/consents", api.ConsentsView.as_view(), name="me-consents"),
    path("me/consents/<str:purpose>", api.ConsentDetailView.as_view(), name="me-consent"),
    path("regions", api.RegionListView.as_view(), name="regions"),
    path("regions/<int:region_id>", api.RegionDetailView.as_view(), name="region"),
    path("regions/<int:region_id>/qrcode", api.RegionQrcodeView.as_view(), name="region-qrcode"),
    path("memberships", api.MembershipsView.as_view(), name="memberships"),
    path("memberships/<int:membership_id>", api.MembershipDetailView.as_view(), name="membership"),
    path("memberships/<int:membership_id>/decision", api.MembershipDecisionView.as_view(), name="membership-decision"),
    path("memberships/<int:membership_id>/current", api.MembershipCurrentView.as_view(), name="membership-current"),
    path("party-identity", api.PartyIdentityView.as_view(), name="party-identity"),
    path("party-identity/<int:request_id>/decision", api.PartyIdentityDecisionView.as_view(), name="party-identity-decision"),
    path("roles", api.RolesView.as_view(), name="roles"),
    path("roles/<int:role_id>", api.RoleDetailView.as_view(), name="role"),
    path("beneficiaries", api.BeneficiariesView.as_view(), name="beneficiaries"),
    path("beneficiaries/<int:beneficiary_id>", api.BeneficiaryDetailView.as_view(), name="beneficiary"),
]
