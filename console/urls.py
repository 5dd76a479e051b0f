from django.urls import path

from console.views import auth, dashboard, home, verification

app_name = "console"
urlpatterns = [
    path("login/", auth.ConsoleLoginView.as_view(), name="login"),
    path("logout/", auth.ConsoleLogoutView.as_view(), name="logout"),
    path("", home.home, name="home"),
    path("memberships/", verification.memberships, name="memberships"),
    path("memberships/<int:membership_id>/decide/", verification.membership_decide, name="membership_decide"),
    path("party-identity/", verification.party_identity, name="party_identity"),
    path("party-identity/<int:request_id>/decide/", verification.party_identity_decide, name="party_identity_decide"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
]
