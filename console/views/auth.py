"""Session login for staff personas; the API's bearer tokens are not used here."""

from __future__ import annotations

from typing import ClassVar

from django import forms
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm

from console.access import can_use_console


class ConsoleLoginForm(AuthenticationForm):
    username = forms.CharField(
        label="用户名",
        max_length=150,
        widget=forms.TextInput(attrs={"autofocus": True, "autocomplete": "username"}),
    )
    password = forms.CharField(
        label="密码",
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    error_messages: ClassVar[dict[str, str]] = {
        "invalid_login": "用户名或密码错误。",
        "inactive": "该账号已停用。",
        "not_staff": "该账号没有工作台权限（仅限居委、街道工作人员、版主和责任单位经办人员）。",
    }

    def confirm_login_allowed(self, user) -> None:
        super().confirm_login_allowed(user)
        if not can_use_console(user):
            raise forms.ValidationError(self.error_messages["not_staff"], code="not_staff")


class ConsoleLoginView(auth_views.LoginView):
    template_name = "console/login.html"
    form_class = ConsoleLoginForm
    redirect_authenticated_user = False

    def get_default_redirect_url(self) -> str:
        return "/console/"


class ConsoleLogoutView(auth_views.LogoutView):
    next_page = "/console/login/"
