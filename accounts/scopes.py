"""The credential scopes of SPEC §3, shared by API keys and OAuth applications."""

SCOPES: dict[str, str] = {
    "contacts:read": "Read contacts, notes, tags and timelines",
    "contacts:write": "Create and change contacts and notes (includes lead intake)",
    "conversations:read": "Read conversations and messages",
    "conversations:write": "Change conversations",
    "messages:send": "Send WhatsApp and SMS messages",
    "campaigns:read": "Read campaigns",
    "campaigns:write": "Create and cancel campaigns",
    "knowledge:read": "Read brain knowledge documents",
    "knowledge:write": "Change brain knowledge documents",
    "bookings:read": "Read bookings",
    "bookings:write": "Create and cancel bookings",
    "webhooks:read": "Read webhook endpoints and deliveries",
    "webhooks:write": "Manage webhook endpoints and replay deliveries",
    "stats:read": "Read workspace statistics",
    "intake": "Post leads to the intake webhook",
}

ALL_SCOPES: tuple[str, ...] = tuple(SCOPES)

# A key that may write contacts may also post intake (SPEC §3).
IMPLIED_SCOPES: dict[str, frozenset[str]] = {"contacts:write": frozenset({"intake"})}


def effective_scopes(granted: "list[str] | tuple[str, ...] | frozenset[str]") -> frozenset[str]:
    scopes = set(granted)
    for scope in granted:
        scopes |= IMPLIED_SCOPES.get(scope, frozenset())
    return frozenset(scopes)


def unknown_scopes(requested: "list[str] | tuple[str, ...]") -> list[str]:
    return [scope for scope in requested if scope not in SCOPES]
