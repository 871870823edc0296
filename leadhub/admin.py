"""The Django admin's site: for operators (superusers) only.

The admin is cross-tenant (every workspace's keys, apps, endpoints and contacts), so a staff
flag or a few model permissions must not open it (SPEC §1): `has_permission` requires an
active superuser. Each state-changing action still declares the permission it needs, so that a
site with a wider door could not run it for a viewer either. Its log in is limited per client
address like the dashboard's (password guessing), and refused while the cache is down.
"""

from functools import wraps

from django import forms
from django.contrib import admin
from django.contrib.admin.forms import AdminAuthenticationForm
from django.http import HttpResponse

from leadhub.api.errors import LimitsUnavailable, RateLimited
from leadhub.api.ratelimit import public_limit_or_raise
from leadhub.tenancy import enter_operator


class OperatorAuthenticationForm(AdminAuthenticationForm):
    error_messages = {
        **AdminAuthenticationForm.error_messages,
        "invalid_login": (
            "Please enter the correct %(username)s and password of an operator (a superuser). "
            "Note that both fields may be case-sensitive."
        ),
    }

    def confirm_login_allowed(self, user):
        super().confirm_login_allowed(user)
        if not user.is_superuser:
            raise forms.ValidationError(
                self.error_messages["invalid_login"], code="invalid_login", params={"username": "username"}
            )


class OperatorsAdminSite(admin.AdminSite):
    site_header = "LeadHub operators"
    site_title = "LeadHub operators"
    login_form = OperatorAuthenticationForm

    def has_permission(self, request) -> bool:
        user = request.user
        return bool(user.is_active and user.is_superuser)

    def admin_view(self, view, cacheable=False):
        # An operator's admin pages cross workspaces: the named operator path `admin` of
        # row-level security (leadhub/tenancy.py), for those who pass has_permission only; for
        # the rest of the request (its template is rendered after the view returns), which
        # TenancyMiddleware ends.
        checked = super().admin_view(view, cacheable)

        @wraps(checked)
        def scoped(request, *args, **kwargs):
            if self.has_permission(request):
                enter_operator("admin")
            return checked(request, *args, **kwargs)

        return scoped

    def login(self, request, extra_context=None):
        if request.method == "POST":
            try:
                public_limit_or_raise(request, group="admin-login", write=True)
            except (RateLimited, LimitsUnavailable) as exc:
                response = HttpResponse(str(exc.detail), status=exc.status_code, content_type="text/plain")
                response["Retry-After"] = str(exc.wait)
                return response
        return super().login(request, extra_context)
