"""Admin for tenancy and credentials. Secrets are shown once, on the page after creation."""

from django import forms
from django.contrib import admin, messages
from django.utils.html import format_html
from oauth2_provider import admin as oauth_admin

from .credentials import oauth_tokens_forget, plan_credentials_forget, workspace_credentials_forget
from .models import Agency, AgencyMembership, ApiKey, Membership, OAuthApplication, Plan, Workspace
from .scopes import SCOPES
from .services import (
    api_key_create,
    api_key_revoke,
    api_key_update,
    oauth_application_create,
    oauth_application_revoke_tokens,
    oauth_application_rotate_secret,
    oauth_application_update,
)

SCOPE_CHOICES = [(scope, f"{scope} — {label}") for scope, label in SCOPES.items()]


def _copy_into(target, source) -> None:
    """Let the admin's response pages see the row a service created in place of its form's."""
    for field in type(source)._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))
    target._state.adding = False


def _show_secret_once(request, what: str, secret: str) -> None:
    messages.warning(
        request,
        format_html("{}: <code>{}</code> — copy it now, it is not shown again.", what, secret),
    )


class ScopesFormMixin(forms.ModelForm):
    # Least privilege: nothing is ticked until the operator ticks it (SPEC §3).
    scopes = forms.MultipleChoiceField(choices=SCOPE_CHOICES, widget=forms.CheckboxSelectMultiple)


@admin.register(Plan)
class PlanAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "name",
        "api_access",
        "webhooks",
        "campaigns",
        "api_rate_per_minute",
        "intake_rate_per_minute",
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:  # its workspaces' cached keys carry the plan's columns (API access, limits)
            plan_credentials_forget(plan=obj)


class AgencyMembershipInline(admin.TabularInline):
    model = AgencyMembership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Agency)
class AgencyAdmin(admin.ModelAdmin):
    list_display = ("name", "created_at")
    search_fields = ("name",)
    inlines = [AgencyMembershipInline]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Workspace)
class WorkspaceAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "agency", "plan", "api_rate_per_minute_override", "intake_rate_per_minute_override")
    list_filter = ("plan", "agency")
    search_fields = ("name", "slug", "id")
    list_select_related = ("plan", "agency")
    prepopulated_fields = {"slug": ("name",)}
    inlines = [MembershipInline]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if change:
            workspace_credentials_forget(workspace=obj)

    fieldsets = (
        (None, {"fields": ("name", "slug", "agency", "plan", "country", "timezone")}),
        (
            "Rate-limit overrides",
            {
                "fields": ("api_rate_per_minute_override", "intake_rate_per_minute_override"),
                "description": "Requests per minute; blank uses the plan's limit.",
            },
        ),
    )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "workspace", "role", "created_at")
    list_filter = ("role",)
    search_fields = ("user__username", "workspace__name")
    list_select_related = ("user", "workspace")
    autocomplete_fields = ("user", "workspace")


class ApiKeyForm(ScopesFormMixin):
    class Meta:
        model = ApiKey
        fields = ("workspace", "name", "scopes")


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    form = ApiKeyForm
    list_display = ("name", "prefix", "workspace", "created_at", "last_used_at", "revoked_at")
    list_filter = ("revoked_at",)
    search_fields = ("name", "prefix", "workspace__name")
    list_select_related = ("workspace",)
    readonly_fields = ("prefix", "created_by", "created_at", "last_used_at", "revoked_at")
    autocomplete_fields = ("workspace",)
    actions = ["revoke"]

    def get_readonly_fields(self, request, obj=None):
        # A key's workspace is fixed once it exists.
        return self.readonly_fields + (("workspace",) if obj else ())

    def save_model(self, request, obj, form, change):
        if change:
            api_key_update(api_key=obj, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"])
            return
        created = api_key_create(
            workspace=form.cleaned_data["workspace"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            created_by=request.user,
        )
        _copy_into(obj, created.api_key)
        _show_secret_once(request, "API key", created.secret)

    @admin.action(description="Revoke selected API keys", permissions=["change"])
    def revoke(self, request, queryset):
        for api_key in queryset.filter(revoked_at__isnull=True):
            api_key_revoke(api_key=api_key)
        messages.success(request, "Revoked.")


class OAuthApplicationForm(ScopesFormMixin):
    class Meta:
        model = OAuthApplication
        fields = ("workspace", "name", "scopes", "disabled_at")


class OAuthApplicationAdmin(admin.ModelAdmin):
    """Registered by django-oauth-toolkit through its APPLICATION_ADMIN_CLASS setting."""

    form = OAuthApplicationForm
    list_display = ("name", "client_id", "workspace", "created", "secret_rotated_at", "disabled_at")
    list_filter = ("disabled_at",)
    search_fields = ("name", "client_id", "workspace__name")
    list_select_related = ("workspace",)
    readonly_fields = ("client_id", "secret_rotated_at", "created", "updated")
    autocomplete_fields = ("workspace",)
    fields = ("workspace", "name", "client_id", "scopes", "disabled_at", "secret_rotated_at", "created", "updated")
    actions = ["rotate_secret", "revoke_tokens"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields + (("workspace",) if obj else ())

    def get_fields(self, request, obj=None):
        return self.fields if obj else ("workspace", "name", "scopes")

    def save_model(self, request, obj, form, change):
        if change:
            oauth_application_update(
                application=obj,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                disabled_at=form.cleaned_data["disabled_at"],
            )
            return
        created = oauth_application_create(
            workspace=form.cleaned_data["workspace"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scopes"],
            created_by=request.user,
        )
        _copy_into(obj, created.application)
        messages.info(request, format_html("Client id: <code>{}</code>", created.application.client_id))
        _show_secret_once(request, "Client secret", created.client_secret)

    @admin.action(description="Rotate the client secret (the old one stops working)", permissions=["change"])
    def rotate_secret(self, request, queryset):
        if queryset.count() != 1:
            messages.error(request, "Rotate one application at a time: its new secret is shown once.")
            return
        rotated = oauth_application_rotate_secret(application=queryset.get())
        _show_secret_once(request, f"New client secret of {rotated.application.name}", rotated.client_secret)

    @admin.action(description="Revoke all access tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        total = sum(oauth_application_revoke_tokens(application=application) for application in queryset)
        messages.success(request, f"Revoked {total} tokens.")


# django-oauth-toolkit's token admins (ACCESS_TOKEN_ADMIN_CLASS, REFRESH_TOKEN_ADMIN_CLASS), with
# the permission their revoke action needs declared. (oauth2_provider.admin defines its classes
# before it imports these, so the import above finds them.)
# Revoking deletes the access tokens, which then leave the credential caches.
class AccessTokenAdmin(oauth_admin.AccessTokenAdmin):
    @admin.action(description="Revoke selected access tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        checksums = list(queryset.values_list("token_checksum", flat=True))
        response = super().revoke_tokens(request, queryset)
        oauth_tokens_forget(checksums=checksums)
        return response


class RefreshTokenAdmin(oauth_admin.RefreshTokenAdmin):
    @admin.action(description="Revoke selected refresh tokens", permissions=["change"])
    def revoke_tokens(self, request, queryset):
        checksums = [c for c in queryset.values_list("access_token__token_checksum", flat=True) if c]
        response = super().revoke_tokens(request, queryset)
        oauth_tokens_forget(checksums=checksums)
        return response
