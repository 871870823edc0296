"""The widget's public reads: a brain by its public bot_id, and which origins may embed one."""

import json

from leadhub import lookups
from leadhub.api.cors import normalize_origin, origin_allowed
from leadhub.compiled import CompiledQuery

from ..models import Brain


def brain_get_by_bot_id(*, bot_id: str) -> Brain | None:
    """The brain of a public bot_id (its workspace with it), or None."""
    if not isinstance(bot_id, str) or not bot_id or len(bot_id) > 40 or "\x00" in bot_id:
        return None  # (PostgreSQL cannot even compare a string holding NUL)
    return _BY_BOT_ID.first(bot_id)


# Every widget call starts here: compiled once (leadhub/compiled.py), as the ORM spent ~0.9 ms of
# CPU compiling it on each call. bot_id is unique: no ordering.
_BY_BOT_ID = CompiledQuery(
    lambda bot_id: Brain.objects.select_related("workspace").filter(bot_id=bot_id).order_by()[:1],
    Brain._meta.get_field("bot_id"),
)


def origin_allowed_by_any_brain(*, origin: str | None) -> bool:
    """A preflight carries no body, so no bot_id: it may proceed when some brain allows the
    origin (the actual POST is then checked against its own brain)."""
    if not origin:
        return False
    # A text match narrows the candidates on every database (SQLite has no JSON containment);
    # the exact comparison decides. Across workspaces, before any is known: on PostgreSQL the
    # named lookup answers the candidates' allowed origins, and nothing else of them.
    needle = json.dumps(normalize_origin(origin))[1:-1]
    found = lookups.rows("brain_origins", "%" + _like_escaped(needle) + "%")
    if found is None:
        found = Brain.objects.filter(allowed_origins__icontains=needle).values_list("allowed_origins", flat=True)[:50]
    return any(
        origin_allowed(origin, json.loads(allowed) if isinstance(allowed, str) else allowed) for allowed in found
    )


def _like_escaped(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
