"""Writes for tenancy and credentials: workspaces, memberships, API keys, OAuth applications.
What a credential is, as a request reads it, and its caches: accounts.credentials."""

import secrets
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.utils import timezone
from django.utils.text import slugify
from oauth2_provider.generators import generate_client_secret
from oauth2_provider.models import get_access_token_model

from leadhub.exceptions import NotAllowed

from .credentials import (
    API_KEY_PREFIX,
    api_key_hash,
    application_tokens_forget,
    credentials_forget,
    token_checksums,
    workspace_credentials_forget,
)
from .models import ADMIN_ROLES, Agency, ApiKey, Membership, OAuthApplication, Plan, Role, Workspace
from .scopes import ALL_SCOPES, unknown_scopes
from .selectors import workspace_role


class ScopeError(ValueError):
    """A credential was asked for a scope that does not exist."""


def _check_scopes(scopes: list[str] | tuple[str, ...]) -> list[str]:
    bad = unknown_scopes(scopes)
    if bad:
        raise ScopeError(f"Unknown scopes: {', '.join(bad)}")
    return list(dict.fromkeys(scopes))


def scopes_allowed_for_role(role: str | None) -> frozenset[str]:
    """What a credential made by a person of this role may hold (SPEC §3): owners and admins
    manage credentials and may grant any scope; agents and people outside the workspace make
    none."""
    return frozenset(ALL_SCOPES) if role in ADMIN_ROLES else frozenset()


def _check_creator(workspace: Workspace, created_by: AbstractBaseUser | None, scopes: list[str]) -> None:
    """A credential's scopes never exceed what its creator's role allows. Without a person
    (createworkspace, bootstrap, createkey: an operator at the console) or by a superuser
    (the operators' admin) there is no role to cap them."""
    if created_by is None or created_by.is_superuser:
        return
    allowed = scopes_allowed_for_role(workspace_role(user=created_by, workspace=workspace))
    if not allowed:
        raise NotAllowed("Only an owner or admin of the workspace may create its API keys and OAuth apps.")
    beyond = [scope for scope in scopes if scope not in allowed]
    if beyond:
        raise NotAllowed(f"Your role may not grant the scopes {', '.join(beyond)}.")


def _unique_slug(name: str) -> str:
    base = slugify(name)[:60] or "workspace"
    slug, n = base, 1
    while Workspace.objects.filter(slug=slug).exists():
        n += 1
        slug = f"{base}-{n}"
    return slug


def workspace_create(
    *,
    name: str,
    plan_code: str = Plan.BUSINESS,
    agency_name: str | None = None,
    slug: str | None = None,
    country: str = "US",
    timezone_name: str = "UTC",
    api_rate_per_minute: int | None = None,
    intake_rate_per_minute: int | None = None,
) -> Workspace:
    plan = Plan.objects.get(code=plan_code)
    agency = Agency.objects.get_or_create(name=agency_name)[0] if agency_name else None
    return Workspace.objects.create(
        name=name,
        slug=slug or _unique_slug(name),
        plan=plan,
        agency=agency,
        country=country.upper(),
        timezone=timezone_name,
        api_rate_per_minute_override=api_rate_per_minute,
        intake_rate_per_minute_override=intake_rate_per_minute,
    )


def workspace_set_limits(
    *,
    workspace: Workspace,
    api_rate_per_minute: int | None = None,
    intake_rate_per_minute: int | None = None,
) -> Workspace:
    """Set the given overrides; a limit left as None keeps its current value."""
    fields = []
    if api_rate_per_minute is not None:
        workspace.api_rate_per_minute_override = api_rate_per_minute
        fields.append("api_rate_per_minute_override")
    if intake_rate_per_minute is not None:
        workspace.intake_rate_per_minute_override = intake_rate_per_minute
        fields.append("intake_rate_per_minute_override")
    if fields:
        workspace.save(update_fields=fields)
        workspace_credentials_forget(workspace=workspace)
    return workspace


def membership_set(*, workspace: Workspace, user: AbstractBaseUser, role: str) -> Membership:
    membership, _ = Membership.objects.update_or_create(workspace=workspace, user=user, defaults={"role": role})
    return membership


@dataclass(frozen=True)
class NewUser:
    user: AbstractBaseUser
    password: str


def owner_create(*, workspace: Workspace) -> NewUser:
    """A login for the workspace owner, with a generated password shown once."""
    User = get_user_model()
    base = f"{workspace.slug}-owner"
    username, n = base, 1
    while User.objects.filter(username=username).exists():
        n += 1
        username = f"{base}-{n}"
    password = secrets.token_urlsafe(18)
    user = User.objects.create_user(username=username, password=password)
    membership_set(workspace=workspace, user=user, role=Role.OWNER)
    return NewUser(user=user, password=password)


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    secret: str


def api_key_create(
    *,
    workspace: Workspace,
    name: str,
    scopes: list[str] | tuple[str, ...],
    created_by: AbstractBaseUser | None = None,
) -> NewApiKey:
    """A key with exactly the scopes asked for (never all by default), capped by the role of
    `created_by`; the secret is shown once and stored as a hash."""
    scopes = _check_scopes(scopes)
    _check_creator(workspace, created_by, scopes)
    secret = API_KEY_PREFIX + secrets.token_urlsafe(32)
    api_key = ApiKey.objects.create(
        workspace=workspace,
        name=name,
        prefix=secret[: ApiKey.PREFIX_LENGTH],
        key_hash=api_key_hash(secret),
        scopes=scopes,
        created_by=created_by,
    )
    return NewApiKey(api_key=api_key, secret=secret)


def api_key_update(*, api_key: ApiKey, name: str, scopes: list[str] | tuple[str, ...]) -> ApiKey:
    api_key.name = name
    api_key.scopes = _check_scopes(scopes)
    api_key.save(update_fields=["name", "scopes"])
    credentials_forget([api_key.key_hash])
    return api_key


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    credentials_forget([api_key.key_hash])
    return api_key


@dataclass(frozen=True)
class NewOAuthApplication:
    application: OAuthApplication
    client_secret: str


def oauth_application_create(
    *,
    workspace: Workspace,
    name: str,
    scopes: list[str] | tuple[str, ...],
    created_by: AbstractBaseUser | None = None,
) -> NewOAuthApplication:
    """A confidential client-credentials client with exactly the scopes asked for, capped by the
    role of `created_by`; its secret is hashed on save and shown once."""
    scopes = _check_scopes(scopes)
    _check_creator(workspace, created_by, scopes)
    client_secret = generate_client_secret()
    application = OAuthApplication.objects.create(
        workspace=workspace,
        name=name,
        user=created_by,
        client_type=OAuthApplication.CLIENT_CONFIDENTIAL,
        authorization_grant_type=OAuthApplication.GRANT_CLIENT_CREDENTIALS,
        client_secret=client_secret,
        scopes=scopes,
    )
    return NewOAuthApplication(application=application, client_secret=client_secret)


def oauth_application_update(
    *,
    application: OAuthApplication,
    name: str,
    scopes: list[str] | tuple[str, ...],
    disabled_at=None,
) -> OAuthApplication:
    """Rename, rescope or disable an application. Its tokens' scopes follow at once: a token
    may use only the scopes it was issued with that the application still has."""
    application.name = name
    application.scopes = _check_scopes(scopes)
    application.disabled_at = disabled_at
    application.save(update_fields=["name", "scopes", "disabled_at", "updated"])
    application_tokens_forget(application, token_checksums(application=application))
    return application


def oauth_application_rotate_secret(*, application: OAuthApplication) -> NewOAuthApplication:
    """A new client secret; the old one stops working at once. Tokens already issued keep
    working until they expire (revoke them with oauth_application_revoke_tokens)."""
    client_secret = generate_client_secret()
    application.client_secret = client_secret
    application.secret_rotated_at = timezone.now()
    application.save(update_fields=["client_secret", "secret_rotated_at", "updated"])
    return NewOAuthApplication(application=application, client_secret=client_secret)


def oauth_application_revoke_tokens(*, application: OAuthApplication) -> int:
    checksums = token_checksums(application=application)
    deleted, _ = get_access_token_model().objects.filter(application=application).delete()
    application_tokens_forget(application, checksums)
    return deleted
