"""Tenancy and identity: agencies, workspaces (the tenant), plans, memberships, credentials."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.timezone import now
from oauth2_provider.models import AbstractApplication

from .scopes import ALL_SCOPES


def _all_scopes() -> list[str]:
    # The scopes' default until migration 0003 (kept for the migrations that name it).
    return list(ALL_SCOPES)


class Agency(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=200, unique=True)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        verbose_name_plural = "agencies"
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Plan(models.Model):
    """A price tier: feature flags and default limits. Rows are created by a data migration."""

    FREE = "free"
    BUSINESS = "business"
    ENTERPRISE = "enterprise"

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=100)
    api_access = models.BooleanField(default=False)
    webhooks = models.BooleanField(default=False)
    campaigns = models.BooleanField(default=False)
    api_rate_per_minute = models.PositiveIntegerField(default=120)
    intake_rate_per_minute = models.PositiveIntegerField(default=1000)
    # Webhook endpoints a workspace may have: bounds what one tenant can ask of the engine.
    max_webhook_endpoints = models.PositiveIntegerField(default=50)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.name


class Workspace(models.Model):
    """The tenant: one client business. Every tenant-owned row points here."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    agency = models.ForeignKey(Agency, null=True, blank=True, on_delete=models.PROTECT, related_name="workspaces")
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=80, unique=True)
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="workspaces")
    country = models.CharField(max_length=2, default="US", help_text="ISO 3166 code: default region for phone numbers")
    timezone = models.CharField(max_length=64, default="UTC")
    # Overrides lift (or lower) the plan's limits for one workspace, on request.
    api_rate_per_minute_override = models.PositiveIntegerField(null=True, blank=True)
    intake_rate_per_minute_override = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def api_rate_per_minute(self) -> int:
        if self.api_rate_per_minute_override is not None:
            return self.api_rate_per_minute_override
        return self.plan.api_rate_per_minute

    @property
    def intake_rate_per_minute(self) -> int:
        if self.intake_rate_per_minute_override is not None:
            return self.intake_rate_per_minute_override
        return self.plan.intake_rate_per_minute


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    AGENT = "agent", "Agent"


# Roles that may manage API keys, OAuth apps, webhook endpoints and replays (SPEC §3).
ADMIN_ROLES = frozenset({Role.OWNER, Role.ADMIN})


class Membership(models.Model):
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["workspace", "user"], name="membership_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.workspace}"


class AgencyMembership(models.Model):
    """Agency staff: the role applies to every workspace of the agency."""

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agency_memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.AGENT)
    created_at = models.DateTimeField(default=now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "user"], name="agency_membership_unique_user")]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) at {self.agency}"


class ApiKey(models.Model):
    """A secret shown once; only its SHA-256 and a short prefix are kept."""

    PREFIX_LENGTH = 11  # "lh_" and 8 characters: enough to tell keys apart in a list

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=PREFIX_LENGTH, editable=False)
    # The key carries 256 bits of randomness, so an unsalted SHA-256 cannot be reversed and
    # lets authentication find the row by an indexed equality lookup.
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)  # the least: a credential gets the scopes asked for
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL)
    created_at = models.DateTimeField(default=now, editable=False)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = "API key"
        ordering = ["-created_at"]
        indexes = [
            # The key list of a workspace (admin, dashboard), newest first.
            models.Index(fields=["workspace", "-created_at"], name="apikey_workspace_created"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class OAuthApplication(AbstractApplication):
    """django-oauth-toolkit's application, swapped in so each client belongs to one workspace.

    Client-credentials tokens have no user, so the workspace comes from here.
    """

    workspace = models.ForeignKey(Workspace, on_delete=models.CASCADE, related_name="oauth_applications")
    scopes = models.JSONField(default=list, help_text="Scopes this client may request")
    secret_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    disabled_at = models.DateTimeField(null=True, blank=True)

    class Meta(AbstractApplication.Meta):
        verbose_name = "OAuth application"

    def is_usable(self, request) -> bool:
        # Asked by django-oauth-toolkit both when issuing and when checking a token.
        return self.disabled_at is None
