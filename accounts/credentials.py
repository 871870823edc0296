"""The credential cache: what an API request's key or OAuth access token is, remembered in each
process for CREDENTIAL_LOCAL_SECONDS and in the shared cache for CREDENTIAL_CACHE_SECONDS, and
forgotten at once wherever a change makes it stale. accounts.services (the writes) calls the
forgetting; leadhub.api.authentication the rest."""

import hashlib
import time
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.db import router, transaction
from django.utils import timezone
from oauth2_provider.models import get_access_token_model

from leadhub.lookups import found_scope

from .models import Agency, ApiKey, OAuthApplication, Plan, Workspace

API_KEY_PREFIX = "lh_"
# last_used_at is kept to the minute: writing it on every request would cost a write
# per API call for no information anyone reads at a finer grain.
LAST_USED_GRANULARITY = timedelta(minutes=1)
CREDENTIAL_CACHE_SECONDS = 60
# Each process also keeps the keys it has read for this long, so that an API request needs
# neither Redis nor the database for its credential. Revoking a key, changing its scopes or its
# workspace's limits therefore takes effect in every process within these seconds (at once in
# the process that made the change): the figure Kong's key-auth cache uses.
CREDENTIAL_LOCAL_SECONDS = 5.0
_LOCAL_MAX = 10_000  # keys remembered per process; beyond it the memory starts over
_local_keys: dict[str, tuple[float, "ApiKey"]] = {}
_clock = time.monotonic  # tests move it


def api_key_hash(raw_key: str) -> str:
    # surrogatepass: a client may send a lone surrogate; it hashes to no key instead of failing.
    return hashlib.sha256(raw_key.encode("utf-8", "surrogatepass")).hexdigest()


def _credential_cache_key(key_hash: str) -> str:
    return f"credential:api_key:{key_hash}"


def _token_cache_key(checksum: str) -> str:
    return f"credential:oauth:{checksum}"


def credentials_forget(key_hashes: list[str], checksums: list[str] | tuple[str, ...] = ()) -> None:
    """Drop API keys (by hash) and OAuth access tokens (by checksum) from the shared cache and
    this process's memory."""
    # Now, and again after commit: a request that read the old row before the commit may
    # have cached it in between.
    keys = [_credential_cache_key(key_hash) for key_hash in key_hashes]
    keys += [_token_cache_key(checksum) for checksum in checksums]

    def forget() -> None:
        for key_hash in key_hashes:
            _local_keys.pop(key_hash, None)
        for checksum in checksums:
            _local_tokens.pop(checksum, None)
        cache.delete_many(keys)

    if keys:
        forget()
        transaction.on_commit(forget)


def token_checksums(**filters) -> list[str]:
    return list(get_access_token_model().objects.filter(**filters).values_list("token_checksum", flat=True))


def workspace_credentials_forget(*, workspace: Workspace) -> None:
    """Drop the workspace's cached credentials, after a change to the workspace or its limits."""
    credentials_forget(
        list(ApiKey.objects.filter(workspace=workspace).values_list("key_hash", flat=True)),
        token_checksums(application__workspace=workspace),
    )


def plan_credentials_forget(*, plan: Plan) -> None:
    """Drop the cached credentials of every workspace on the plan, after a change to the plan
    (its API access, its limits): a cached credential carries its plan's columns."""
    credentials_forget(
        list(ApiKey.objects.filter(workspace__plan=plan, revoked_at__isnull=True).values_list("key_hash", flat=True)),
        token_checksums(application__workspace__plan=plan),
    )


def api_key_forget_deleted(*, api_key: ApiKey) -> None:
    """A key's row is gone (the admin's delete, its workspace's): it must not outlive it in a cache.
    Called for every deleted row (accounts.apps connects it to post_delete), whatever deleted it."""
    credentials_forget([api_key.key_hash])


def oauth_tokens_forget(*, checksums: list[str]) -> None:
    """Drop access tokens (by their checksum) from the credential caches, when they are revoked
    outside our services: django-oauth-toolkit's revoke endpoint (accounts.oauth) and its admin
    actions (accounts.admin). Not a post_delete receiver, which would catch every deletion: a
    receiver makes Django collect the tokens of a deleted application instead of deleting them
    first, and then may delete them after the application, when row-level security (a token is
    visible while its application is) no longer shows them to the DELETE."""
    credentials_forget([], checksums)


def api_key_authenticate(*, secret: str) -> ApiKey | None:
    """The active key with this secret, its workspace and plan loaded; None when there is none.

    Every API request asks this, so the answer is kept in the process for
    CREDENTIAL_LOCAL_SECONDS and in the shared cache for CREDENTIAL_CACHE_SECONDS. Revoking or
    changing a key, or changing its workspace's limits, drops it from the shared cache and this
    process at once (see credentials_forget), and from the other processes within
    CREDENTIAL_LOCAL_SECONDS; so do deleting a key (with its workspace or alone) and changing its
    plan (plan_credentials_forget). last_used_at is written when the key is loaded, so at most once per
    expiry: that is its granularity.
    """
    if not secret.startswith(API_KEY_PREFIX):
        return None
    key_hash = api_key_hash(secret)
    remembered = _local_keys.get(key_hash)
    if remembered is not None and remembered[0] > _clock():
        return remembered[1]
    cache_key = _credential_cache_key(key_hash)
    row = cache.get(cache_key)
    if row is not None:
        api_key = _api_key_thawed(row)
        _remember(key_hash, api_key)
        return api_key
    # Found by its hash before its workspace is known: the named lookup of row-level security
    # (leadhub/lookups.py) answers its workspace, where the key is then read.
    with found_scope("credential_by_hash", key_hash) as found:
        try:
            if not found:
                raise ApiKey.DoesNotExist
            api_key = ApiKey.objects.select_related("workspace__plan", "workspace__agency").get(
                key_hash=key_hash, revoked_at__isnull=True
            )
        except ApiKey.DoesNotExist:
            return None
        now = timezone.now()
        if api_key.last_used_at is None or now - api_key.last_used_at >= LAST_USED_GRANULARITY:
            ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
            api_key.last_used_at = now
    cache.set(cache_key, _api_key_frozen(api_key), CREDENTIAL_CACHE_SECONDS)
    _remember(key_hash, api_key)
    return api_key


# The shared cache holds JSON, never pickles (a pickle from a Redis anyone reached would run code
# in every web process): a key travels there as its columns and those of its workspace, plan and
# agency, and comes back as model instances as if loaded from the database.


def _columns(instance) -> dict:
    return {field.attname: getattr(instance, field.attname) for field in instance._meta.concrete_fields}


def _loaded(model, columns: dict):
    fields = model._meta.concrete_fields
    values = [field.to_python(columns[field.attname]) for field in fields]
    return model.from_db(router.db_for_read(model), [field.attname for field in fields], values)


def _workspace_frozen(workspace: Workspace) -> dict:
    return {
        "workspace": _columns(workspace),
        "plan": _columns(workspace.plan),
        "agency": _columns(workspace.agency) if workspace.agency_id else None,
    }


def _workspace_thawed(row: dict) -> Workspace:
    workspace = _loaded(Workspace, row["workspace"])
    workspace.plan = _loaded(Plan, row["plan"])
    if row["agency"] is not None:
        workspace.agency = _loaded(Agency, row["agency"])
    return workspace


def _api_key_frozen(api_key: ApiKey) -> dict:
    return {"api_key": _columns(api_key), **_workspace_frozen(api_key.workspace)}


def _api_key_thawed(row: dict) -> ApiKey:
    api_key = _loaded(ApiKey, row["api_key"])
    api_key.workspace = _workspace_thawed(row)
    return api_key


def _remember(key_hash: str, api_key: ApiKey) -> None:
    if len(_local_keys) >= _LOCAL_MAX:
        _local_keys.clear()
    _local_keys[key_hash] = (_clock() + CREDENTIAL_LOCAL_SECONDS, api_key)


# OAuth access tokens are remembered as API keys are: by their SHA-256 (django-oauth-toolkit's
# token_checksum; the token itself is not stored, COMPLIANT_BCP_RFC9700_TOKEN_STORAGE), in each
# process for CREDENTIAL_LOCAL_SECONDS as what authentication made of the token, and in the
# shared cache for CREDENTIAL_CACHE_SECONDS as an OAuthGrant's columns (JSON), neither beyond
# the token's expiry. A change to the application, its workspace or plan, or the token's
# deletion (revocation) drops it from the shared cache and the process that made the change
# at once, and from every other process within CREDENTIAL_LOCAL_SECONDS.
_local_tokens: dict[str, tuple[float, str, object]] = {}  # checksum: (until, client_id, credential)


@dataclass(frozen=True)
class OAuthGrant:
    """What a client-credentials access token lets its holder do, as the shared cache keeps it."""

    client_id: str
    name: str  # the application's
    workspace: Workspace
    granted: frozenset[str]  # the token's scopes that its application still has
    expires: float  # the token's expiry, seconds since the epoch


def oauth_token_recall(*, checksum: str) -> object | None:
    remembered = _local_tokens.get(checksum)
    if remembered is not None and remembered[0] > _clock():
        return remembered[2]
    return None


def oauth_token_remember(*, checksum: str, client_id: str, credential: object, seconds: float) -> None:
    if len(_local_tokens) >= _LOCAL_MAX:
        _local_tokens.clear()
    _local_tokens[checksum] = (_clock() + min(CREDENTIAL_LOCAL_SECONDS, seconds), client_id, credential)


def oauth_token_shared(*, checksum: str) -> OAuthGrant | None:
    """The grant another request stored in the shared cache (oauth_token_share), or None."""
    row = cache.get(_token_cache_key(checksum))
    if row is None:
        return None
    return OAuthGrant(
        client_id=row["client_id"],
        name=row["name"],
        workspace=_workspace_thawed(row),
        granted=frozenset(row["granted"]),
        expires=row["expires"],
    )


def oauth_token_share(*, checksum: str, grant: OAuthGrant) -> None:
    seconds = min(CREDENTIAL_CACHE_SECONDS, int(grant.expires - time.time()))
    if seconds <= 0:
        return
    row = {
        "client_id": grant.client_id,
        "name": grant.name,
        "granted": sorted(grant.granted),
        "expires": grant.expires,
        **_workspace_frozen(grant.workspace),
    }
    cache.set(_token_cache_key(checksum), row, seconds)


def application_tokens_forget(application: OAuthApplication, checksums: list[str]) -> None:
    """Drop the application's tokens (`checksums`, read before any was deleted) from the caches."""
    client_id = application.client_id
    credentials_forget([], checksums)

    def forget() -> None:
        # And what this process holds of tokens no longer in the database.
        for checksum, entry in list(_local_tokens.items()):  # a copy: other threads add entries
            if entry[1] == client_id:
                _local_tokens.pop(checksum, None)

    forget()
    transaction.on_commit(forget)
