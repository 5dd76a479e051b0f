from django.urls import path

from console.views import auth, dashboard, home, verification

app_name = "console"
urlpatterns = [
    path("login/", auth.ConsoleLoginView.as_view(), name="login"),
    path("logout/", auth.ConsoleLogoutView.as_view(), name="logout"),
    path("", home.home, name="home"),
    path("memberships/", verification.memberships, name="memberships"),
    path("party-identity/", verification.party_identity, name="party_identity"),
    path("dashboard/", dashboard.dashboard, name="dashboard"),
]
