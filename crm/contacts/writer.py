"""The one writer of contacts: every channel's change goes through a ContactWrite.

A ContactWrite is one use case on one contact, inside one transaction: find or create the
contact (`upsert`), change its fields (`update`: descriptive fields, identity, status, consent,
owner, line, disposition, tags), and on leaving the block write the timeline in one statement
and emit the events once, with the state after the whole block:

    with ContactWrite(workspace=workspace, source="intake") as write:
        write.upsert(phone=phone, email=email, values=values)
        write.update({"owner": owner, "tags_add": [tag]})
    # lead.created (owner and tag included), or lead.updated naming nothing twice

So the same change emits the same events whichever channel made it (API, intake, Zapier, the
widget, a conversation, the dashboard): there is no other code that writes a contact.
"""

from dataclasses import dataclass, field
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from accounts.models import Workspace
from leadhub.exceptions import AlreadyExists, Invalid
from webhooks.services import events_ctes, events_dispatch, events_emit

from ..models import HOT_MESSAGE_COUNT, Contact, Tag, TimelineEntry
from ..normalize import Phone, place_fields
from ..stats.counters import Counted, counted, counters_add, deltas
from . import selectors
from .fields import (
    IDENTITY_FIELDS,
    RELATION_FIELDS,
    STATE_FIELDS,
    TEXT_FIELDS,
    VALUE_FIELDS,
    contact_payload,
)
from .storage import contact_find, contact_insert_new, contact_new
from .tags import contact_tags_change
from .values import blanks_filled, identity_joined, relation_entry, touch_of, with_name

SETTABLE = frozenset(TEXT_FIELDS + VALUE_FIELDS)
UPDATABLE = frozenset(TEXT_FIELDS + VALUE_FIELDS + IDENTITY_FIELDS + STATE_FIELDS + RELATION_FIELDS)


@dataclass
class UpsertResult:
    contact: Contact
    created: bool
    changed: bool
    changed_fields: list[str] = field(default_factory=list)


class ContactWrite:
    """One use case on one contact; see the module's docstring."""

    def __init__(
        self,
        *,
        workspace: Workspace,
        source: str,
        bot_id: str | None = None,
        contact: Contact | None = None,
        alone: bool = False,
    ):
        """`alone`: the caller changes nothing after upsert when upsert creates the contact. On
        PostgreSQL, outside a transaction, a new contact is then written with its timeline,
        counts and events in one statement that commits on its own (one round trip instead of
        BEGIN, the contact, the events, COMMIT); any other outcome is a transaction, as always."""
        self.workspace = workspace
        self.source = source
        self.bot_id = bot_id
        self.contact = contact
        self.created = False
        self.changed: list[str] = []  # model fields (and "tags") changed after finding the contact
        self._timeline: list[tuple[str, dict]] = []
        self._qualified_at_insert = False
        self._tags: list[str] | None = None  # the names after the write, when known without a query
        # What the contact counted for in the daily counters before this write (None: not yet
        # counted, i.e. created by this write).
        self._counted: Counted | None = counted(contact) if contact is not None else None
        self._atomic = transaction.atomic()
        self._alone = alone
        self._in_atomic = False
        self._written = False  # alone: the new contact and its events are committed

    # --- the block ---------------------------------------------------------------------------

    def __enter__(self) -> "ContactWrite":
        if not (self._alone and connection.vendor == "postgresql" and not connection.in_atomic_block):
            self._begin()
        return self

    def _begin(self) -> None:
        if self._written:
            raise RuntimeError("This ContactWrite was alone: its new contact is written, nothing may follow.")
        if not self._in_atomic:
            self._atomic.__enter__()
            self._in_atomic = True

    def __exit__(self, exc_type, exc, tb) -> bool | None:
        if not self._in_atomic:  # written alone, or nothing written
            return None
        if exc_type is None and self.contact is not None:
            try:
                self._finish()
            except BaseException as error:
                self._atomic.__exit__(type(error), error, error.__traceback__)
                raise
        return self._atomic.__exit__(exc_type, exc, tb)

    def timeline(self, kind: str, data: dict) -> None:
        """An entry on the contact's timeline, written with the others when the block ends."""
        self._begin()
        self._timeline.append((kind, data))

    # --- find or create ----------------------------------------------------------------------

    def upsert(
        self,
        *,
        phone: Phone | None,
        email: str | None,
        values: dict[str, Any],
        update_existing: bool,
        attribution: dict[str, str] | None = None,
        initial: dict[str, Any] | None = None,
        on_create: dict[str, Any] | None = None,
        submitted: list[str] | None = None,
        public: bool = False,
        own: Contact | None = None,
        own_identity: bool = False,
        claimed: dict[str, Any] | None = None,
    ) -> UpsertResult:
        """Create the contact, or find the one this person already is and (if update_existing)
        update it with the given non-empty values.

        `initial` values are used only when the contact is created (the widget's source, for
        one); so are `on_create` relations and state (owner, line, disposition_status, status),
        which then go into the same INSERT. `submitted` names the fields a submission carried:
        the submission goes on the contact's timeline, created or not.

        `public=True` is for calls anyone can make (the widget, SPEC §5.2): a contact may be
        created, but an existing one only gets its blank PUBLIC_FILL_FIELDS filled; nothing is
        overwritten, no phone or e-mail added, no touch, session or count changed, and
        `update_existing` is ignored; a `session_id` in `values` does not find a contact. The
        caller's `own` contact (the one its session has) is found when the identity matches no
        other contact; with `own_identity` (the caller proved it holds the session that created
        it) its blank phone and e-mail are filled too. `claimed` is what the caller said about
        the person: it goes on the timeline whatever was applied.

        The unique constraints on (workspace, phone) and (workspace, e-mail without phone) make
        concurrent upserts of one person end in one contact: the loser's insert fails, and it
        takes the winner's row.
        """
        workspace = self.workspace
        values = with_name({key: value for key, value in values.items() if key in SETTABLE})
        if phone is not None:
            for key, derived in place_fields(phone).items():
                if derived and not values.get(key):
                    values[key] = derived
        touch = touch_of(attribution or {})
        e164 = phone.e164 if phone else None
        email = email or None
        session_id = None if public else values.get("session_id") or None

        fields = {
            key: value
            for key, value in {**(initial or {}), **values}.items()
            if key in SETTABLE and value not in (None, "")
        }
        # A lead that arrives with a name and a phone or e-mail is stored qualified at once.
        qualified = bool(fields.get("name")) and bool(e164 or email)
        if qualified:
            fields.update(status=Contact.Status.QUALIFIED, qualified_at=timezone.now())
        for key, value in (on_create or {}).items():
            if key in RELATION_FIELDS + STATE_FIELDS and value is not None:
                fields[key] = value

        submission: dict[str, Any] | None = None
        if submitted is not None or claimed:
            submission = {"source": self.source}
            if submitted is not None:
                submission["fields"] = sorted(submitted)
            if claimed:
                submission["claimed"] = claimed
        # What a new contact's timeline starts with.
        opening: list[tuple[str, dict]] = [(TimelineEntry.Kind.CREATED, submission or {"source": self.source})]
        arrived = Contact.Status.QUALIFIED if qualified else Contact.Status.NEW
        if qualified:
            opening.append((TimelineEntry.Kind.STATUS, {"from": "new", "to": "qualified"}))
        if fields.get("status", arrived) != arrived:  # a status given with the creation (booked …)
            opening.append((TimelineEntry.Kind.STATUS, {"from": arrived, "to": fields["status"]}))
        opening += [relation_entry(key, fields[key]) for key in RELATION_FIELDS if key in fields]

        contact = None
        # The one-statement insert is for callers that name the person only by phone or e-mail
        # (not a public caller's own contact, not a widget session).
        if connection.vendor == "postgresql" and session_id is None and own is None and not public:
            new = contact_new(
                {
                    "workspace": workspace,
                    "phone_number": e164,
                    "email": email,
                    "first_touch": touch,
                    "latest_touch": touch,
                    **fields,
                }
            )
            alone = not self._in_atomic
            events = (lambda: self._events_of_new(new, qualified)) if alone else None
            delivery_ids = contact_insert_new(new, opening, events=events)
            if delivery_ids is not None:
                contact, self.created = new, True
                self._counted = counted(new)  # counted by the same statement
                if alone:
                    self.contact, self._written = new, True
                    events_dispatch(delivery_ids)
                    return UpsertResult(contact=new, created=True, changed=False)
        self._begin()
        if contact is None and not self.created:
            contact = contact_find(workspace, phone=e164, email=email, session_id=session_id, own=own)
        if contact is None:
            try:
                with transaction.atomic():  # a savepoint: the insert may lose a race
                    contact = Contact.objects.create(
                        workspace=workspace,
                        phone_number=e164,
                        email=email,
                        first_touch=touch,
                        latest_touch=touch,
                        **fields,
                    )
                self.created = True
                self._timeline += opening
            except IntegrityError:
                contact = contact_find(workspace, phone=e164, email=email, session_id=None)
                if contact is None:
                    raise
        self.contact = contact

        if self.created:
            self._qualified_at_insert = qualified
            self._tags = []
            return UpsertResult(contact=contact, created=True, changed=False)

        self._counted = counted(contact)
        if submission is not None:
            self.timeline(TimelineEntry.Kind.INTAKE, submission)
        if public:
            changed = self._fill_blank(
                values=values, identity=(e164, email) if own_identity and own == contact else None
            )
            return UpsertResult(contact=contact, created=False, changed=bool(changed), changed_fields=changed)
        changed = self._touch_and_fill(e164=e164, email=email, values=values, touch=touch, update=update_existing)
        return UpsertResult(contact=contact, created=False, changed=bool(changed), changed_fields=changed)

    def _touch_and_fill(
        self, *, e164: str | None, email: str | None, values: dict, touch: dict, update: bool
    ) -> list[str]:
        contact = self.contact
        changed: list[str] = []
        silent: list[str] = []  # attribution: recorded, but not a change worth an event
        if touch:
            if not contact.first_touch:
                contact.first_touch = touch
                silent.append("first_touch")
            contact.latest_touch = touch
            silent.append("latest_touch")
        if update:
            changed += identity_joined(contact, e164, email)
            for key, value in values.items():
                if value in (None, "", [], {}) or getattr(contact, key) == value:
                    continue
                if key == "custom_fields":
                    value = {**contact.custom_fields, **value}
                    if value == contact.custom_fields:
                        continue
                setattr(contact, key, value)
                changed.append(key)
        if changed or silent:
            contact.save(update_fields=[*silent, *changed, "updated_at"])
        if changed:
            self.timeline(TimelineEntry.Kind.UPDATED, {"source": self.source, "fields": changed})
            self.changed += changed
        return changed

    def _fill_blank(self, *, values: dict, identity: tuple[str | None, str | None] | None) -> list[str]:
        """A public caller's change of an existing contact: blanks only (see upsert)."""
        contact = self.contact
        changed = blanks_filled(contact, values=values, identity=identity)
        if changed:
            contact.save(update_fields=[*changed, "updated_at"])
            self.timeline(TimelineEntry.Kind.UPDATED, {"source": self.source, "fields": changed})
            self.changed += changed
        return changed

    # --- change fields -------------------------------------------------------------------------

    def update(self, values: dict[str, Any]) -> list[str]:
        """Set exactly these fields (an empty value clears one) and return what changed.

        Keys: the descriptive and value fields, `phone_number`/`email` (identity: a contact
        keeps one of them, and another contact's identity is AlreadyExists), `status`,
        `sms_opt_out`, `owner`, `line`, `disposition_status` (objects or None), `tags` (the
        exact set, Tag objects) and `tags_add` (Tags to add).
        """
        self._begin()
        contact = self.contact
        unknown = set(values) - UPDATABLE - {"tags", "tags_add"}
        if unknown:
            raise ValueError(f"Not fields of a contact: {', '.join(sorted(unknown))}")
        if "phone_number" in values or "email" in values:
            self._check_identity(values)
        changed: list[str] = []
        plain: list[str] = []
        counters: list[str] = []
        for key, value in values.items():
            if key in ("tags", "tags_add"):
                continue
            if key == "message_count":
                # A counter: message.received and message.sent say each message, so a count that
                # moves is no change of the lead (no timeline entry, no lead.updated), from every
                # channel; the count that makes the lead hot (`hot` in its representation) is.
                if contact.message_count == value:
                    continue
                if contact.message_count < HOT_MESSAGE_COUNT <= value:
                    changed.append(key)
                contact.message_count = value
                counters.append(key)
                continue
            if key in RELATION_FIELDS:
                if getattr(contact, f"{key}_id") == (value.pk if value is not None else None):
                    continue
                setattr(contact, key, value)
                self.timeline(*relation_entry(key, value))
            elif key == "status":
                if contact.status == value:
                    continue
                self.timeline(TimelineEntry.Kind.STATUS, {"from": contact.status, "to": value})
                contact.status = value
            else:
                if getattr(contact, key) == value:
                    continue
                setattr(contact, key, value)
                plain.append(key)
            changed.append(key)
        counted_only = [key for key in counters if key not in changed]
        if changed and ("phone_number" in changed or "email" in changed):
            try:
                with transaction.atomic():  # the identity may be taken concurrently since the check
                    contact.save(update_fields=[*changed, *counted_only, "updated_at"])
            except IntegrityError:
                field_name = "phone_number" if contact.phone_number else "email"
                raise AlreadyExists(f"Another contact already has this {field_name}.", field=field_name) from None
        elif changed:
            contact.save(update_fields=[*changed, *counted_only, "updated_at"])
        elif counted_only:
            contact.save(update_fields=counted_only)
        if plain:
            self.timeline(TimelineEntry.Kind.UPDATED, {"source": self.source, "fields": plain})
        if "tags" in values and self._set_tags(values["tags"], exact=True):
            changed.append("tags")
        if values.get("tags_add") and self._set_tags(values["tags_add"], exact=False):
            changed.append("tags")
        self.changed += [key for key in changed if key not in self.changed]
        return changed

    def _check_identity(self, values: dict[str, Any]) -> None:
        contact = self.contact
        phone = values.get("phone_number", contact.phone_number) or None
        email = values.get("email", contact.email) or None
        if not phone and not email:
            raise Invalid({"phone_number": ["A contact keeps a phone_number or an email."]})
        clash = selectors.contact_identity_clash(
            workspace=self.workspace, phone_number=phone, email=email, exclude=contact
        )
        if clash is not None:
            field_name, other = clash
            raise AlreadyExists(f"Another contact already has this {field_name}.", field=field_name, existing=other)

    def _set_tags(self, tags: list[Tag] | tuple[Tag, ...], *, exact: bool) -> bool:
        change = contact_tags_change(self.contact, tags, exact=exact, has_none=self._tags == [] and self.created)
        if change is None:
            return False
        self._tags = change.names
        self.timeline(
            TimelineEntry.Kind.TAG,
            {"added": sorted(tag.name for tag in change.added), "removed": sorted(tag.name for tag in change.removed)},
        )
        return True

    # --- when the block ends -----------------------------------------------------------------

    def _qualify(self) -> bool:
        """Qualified the first time it has a name and a phone or e-mail: lead.qualified, once."""
        contact = self.contact
        if contact.qualified_at is not None or not contact.name or not (contact.phone_number or contact.email):
            return False
        # Guarded on qualified_at in the database, so that concurrent writes emit it once.
        fields: dict[str, Any] = {"qualified_at": timezone.now()}
        if contact.status == Contact.Status.NEW:
            fields["status"] = Contact.Status.QUALIFIED
        if not Contact.objects.filter(pk=contact.pk, qualified_at__isnull=True).update(**fields):
            return False
        for key, value in fields.items():
            setattr(contact, key, value)
        if "status" in fields:
            self.timeline(TimelineEntry.Kind.STATUS, {"from": Contact.Status.NEW, "to": Contact.Status.QUALIFIED})
        return True

    def _finish(self) -> None:
        contact = self.contact
        qualified = self._qualified_at_insert or self._qualify()
        counters_add(deltas(self.workspace.pk, self._counted, counted(contact)))
        if self._timeline:
            TimelineEntry.objects.bulk_create(
                [
                    TimelineEntry(workspace_id=self.workspace.pk, contact=contact, kind=kind, data=data)
                    for kind, data in self._timeline
                ]
            )
        types = ["lead.created"] if self.created else ["lead.updated"] if self.changed else []
        if qualified:
            types.append("lead.qualified")
        if types:
            payload = contact_payload(contact, tags=self._tags)
            events_emit(workspace=self.workspace, events=[(type_, payload) for type_ in types], bot_id=self.bot_id)

    def _events_of_new(self, contact: Contact, qualified: bool) -> tuple[str, list]:
        """A new contact's events (as _finish emits them), for its one-statement insert."""
        payload = contact_payload(contact, tags=[])
        types = ["lead.created", "lead.qualified"] if qualified else ["lead.created"]
        return events_ctes(
            workspace_id=self.workspace.pk, events=[(type_, payload) for type_ in types], bot_id=self.bot_id, gate="new"
        )
