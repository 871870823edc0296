"""Authentication by API key or OAuth token; each sets request.workspace and the credential."""

import hashlib
import time
from dataclasses import dataclass

from django.contrib.auth.models import AnonymousUser
from oauth2_provider.contrib.rest_framework import OAuth2Authentication
from rest_framework.authentication import BaseAuthentication
from rest_framework.exceptions import AuthenticationFailed
from rest_framework.request import Request

from accounts import credentials as account_credentials
from accounts.credentials import API_KEY_PREFIX, api_key_authenticate
from accounts.models import ApiKey, Workspace
from accounts.scopes import effective_scopes
from leadhub import lookups, tenancy


@dataclass(frozen=True)
class Credential:
    """What authenticated a request: request.auth for every API view."""

    kind: str  # "api_key" or "oauth"
    id: str  # the API key's id or the OAuth client_id
    label: str  # a key's visible prefix or the OAuth application's name
    workspace: Workspace
    scopes: frozenset[str]  # effective: with the scopes that granted ones imply
    granted: frozenset[str] = frozenset()  # as the credential was given them

    @property
    def rate_key(self) -> str:
        # Limits count per credential: per key, and per OAuth client (not per token, so that
        # fetching new tokens does not reset the count).
        return f"{self.kind}:{self.id}"

    def has_scopes(self, required: "set[str] | frozenset[str] | tuple[str, ...]") -> bool:
        return set(required) <= self.scopes


def credential_of(request) -> Credential | None:
    auth = getattr(request, "auth", None)
    return auth if isinstance(auth, Credential) else None


def _attach(request: Request, credential: Credential) -> None:
    # On the Django request too, so that middleware and plain views see them.
    request._request.workspace = credential.workspace
    request._request.credential = credential
    # From here the request's queries see its workspace's rows only (row-level security).
    tenancy.enter_workspace(credential.workspace.pk)


def _bearer(request: Request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip()


class _ApiKeyAuthentication(BaseAuthentication):
    www_authenticate_realm = "api"

    def presented_key(self, request: Request) -> str | None:
        raise NotImplementedError

    def authenticate(self, request: Request):
        secret = self.presented_key(request)
        if secret is None:
            return None
        api_key = api_key_authenticate(secret=secret) if secret else None
        if api_key is None:
            raise AuthenticationFailed("The API key is invalid or has been revoked.")
        credential = _api_key_credential(api_key)
        _attach(request, credential)
        return AnonymousUser(), credential

    def authenticate_header(self, request: Request) -> str:
        return f'Bearer realm="{self.www_authenticate_realm}"'


def _api_key_credential(api_key: ApiKey) -> Credential:
    # Built once per loaded key: accounts.credentials keeps the same instance for
    # CREDENTIAL_LOCAL_SECONDS, and every change to a key loads a new one.
    credential = api_key.__dict__.get("_credential")
    if credential is None or credential.workspace is not api_key.workspace:
        credential = api_key.__dict__["_credential"] = _new_api_key_credential(api_key)
    return credential


def _new_api_key_credential(api_key: ApiKey) -> Credential:
    return Credential(
        kind="api_key",
        id=str(api_key.id),
        label=api_key.prefix,
        workspace=api_key.workspace,
        scopes=effective_scopes(api_key.scopes),
        granted=frozenset(api_key.scopes),
    )


class BearerApiKeyAuthentication(_ApiKeyAuthentication):
    """`Authorization: Bearer lh_…`. Other bearer tokens are left to OAuthTokenAuthentication."""

    def presented_key(self, request: Request) -> str | None:
        token = _bearer(request)
        if token is None or not token.startswith(API_KEY_PREFIX):
            return None
        return token


class HeaderApiKeyAuthentication(_ApiKeyAuthentication):
    """`X-LeadHub-Key: lh_…`."""

    def presented_key(self, request: Request) -> str | None:
        value = request.META.get("HTTP_X_LEADHUB_KEY")
        return None if value is None else value.strip()


# Access tokens are remembered as API keys are (accounts.credentials, by the token's SHA-256 as
# django-oauth-toolkit stores it): in the process for CREDENTIAL_LOCAL_SECONDS, in the shared
# cache for CREDENTIAL_CACHE_SECONDS, neither past the token's expiry. A revoked token, a
# disabled or rescoped application stops working in every process within the first, and at once
# in the process that made the change; in the steady state a token costs no database query.


class OAuthTokenAuthentication(OAuth2Authentication):
    """An access token from `POST /o/token/` (client credentials); the workspace is the
    application's, since such tokens have no user. A token may use the scopes it was issued
    with that its application still has: taking a scope from an application takes it from
    the tokens already issued."""

    def authenticate(self, request: Request):
        token = _bearer(request)
        if token is None or token.startswith(API_KEY_PREFIX):
            return None
        checksum = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        remembered = account_credentials.oauth_token_recall(checksum=checksum)
        if isinstance(remembered, Credential):
            _attach(request, remembered)
            return AnonymousUser(), remembered
        user = None
        grant = account_credentials.oauth_token_shared(checksum=checksum) if token else None
        if grant is None:
            # The token and its application found by the token's hash, before the workspace is
            # known: the named lookup answers the application's workspace, where
            # django-oauth-toolkit reads them.
            with lookups.found_scope("access_token_by_checksum", checksum) as found:
                result = super().authenticate(request) if token and found else None
                if result is None:
                    raise AuthenticationFailed("The access token is invalid, expired or revoked.")
                user, access_token = result
                application = access_token.application
            grant = account_credentials.OAuthGrant(
                client_id=application.client_id,
                name=application.name,
                workspace=application.workspace,
                granted=frozenset(access_token.scope.split()) & frozenset(application.scopes),
                expires=access_token.expires.timestamp(),
            )
            if user is None:  # client credentials: the grant is all there is to remember
                account_credentials.oauth_token_share(checksum=checksum, grant=grant)
        credential = Credential(
            kind="oauth",
            id=grant.client_id,
            label=grant.name,
            workspace=grant.workspace,
            scopes=effective_scopes(grant.granted),
            granted=grant.granted,
        )
        if user is None:
            account_credentials.oauth_token_remember(
                checksum=checksum,
                client_id=grant.client_id,
                credential=credential,
                seconds=grant.expires - time.time(),
            )
        _attach(request, credential)
        return user or AnonymousUser(), credential


INTAKE_ONLY = frozenset({"intake"})
TOKEN_PARAMETER_NOT_INTAKE_ONLY = (
    "A key in the body or the query string (api_token) must have only the intake scope, since it "
    "ends up in web pages, form tools and logs. Use an intake key there (createworkspace prints "
    "one as intake_key), or send this key in the Authorization or X-LeadHub-Key header."
)


class TokenParameterAuthentication(_ApiKeyAuthentication):
    """`api_token` in the query string or the body (JSON or form): for form tools that cannot
    set headers. Only the intake webhook uses it, and only with a key whose one scope is
    `intake` (SPEC §5.1): a broader key there is refused (401) even though it is valid."""

    def authenticate(self, request: Request):
        result = super().authenticate(request)
        if result is not None and frozenset(result[1].granted) != INTAKE_ONLY:
            raise AuthenticationFailed(TOKEN_PARAMETER_NOT_INTAKE_ONLY)
        return result

    def presented_key(self, request: Request) -> str | None:
        value = request.query_params.get("api_token")
        if value is None:
            data = request.data
            value = data.get("api_token") if hasattr(data, "get") else None
        return None if value is None else str(value).strip()
