"""django-oauth-toolkit extension points: per-application scopes and workspace-aware tokens."""

import hashlib

from oauth2_provider.models import get_access_token_model
from oauth2_provider.oauth2_validators import OAuth2Validator
from oauth2_provider.scopes import BaseScopes

from .credentials import oauth_tokens_forget
from .scopes import ALL_SCOPES, SCOPES


class WorkspaceScopes(BaseScopes):
    """A client may ask for the scopes its application was granted; by default it gets them all."""

    def get_all_scopes(self) -> dict[str, str]:
        return SCOPES

    def get_available_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        if application is None:
            return list(ALL_SCOPES)
        return [scope for scope in application.scopes if scope in SCOPES]

    def get_default_scopes(self, application=None, request=None, *args, **kwargs) -> list[str]:
        return self.get_available_scopes(application, request)


class WorkspaceOAuth2Validator(OAuth2Validator):
    def _load_access_token(self, token):
        # The API needs the token's workspace and plan on every request: load them with the
        # token in one query instead of two more. Same lookup as the parent otherwise.
        checksum = hashlib.sha256(token.encode("utf-8")).hexdigest()
        return (
            get_access_token_model()
            .objects.select_related("application__workspace__plan", "user")
            .filter(token_checksum=checksum)
            .first()
        )

    def revoke_token(self, token, token_type_hint, request, *args, **kwargs):
        # The revoke endpoint (RFC 7009): the token leaves the credential caches with its row.
        super().revoke_token(token, token_type_hint, request, *args, **kwargs)
        oauth_tokens_forget(checksums=[hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()])
