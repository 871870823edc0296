"""Writes for contacts. contact_upsert is the one way a lead enters, from every channel."""

import random
from dataclasses import dataclass, field
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F, Max, Min, Q
from django.utils import timezone

from accounts.models import Workspace
from webhooks.services import event_emit

from .models import (
    Contact,
    DispositionStatus,
    Enrollment,
    Line,
    Note,
    PowerDialerEntry,
    RingGroup,
    RingGroupMember,
    Sequence,
    SequenceStep,
    Tag,
    TimelineEntry,
)
from .normalize import Phone, place_fields

# Plain text fields a channel may set.
TEXT_FIELDS = (
    "name",
    "first_name",
    "last_name",
    "company_name",
    "website",
    "address",
    "city",
    "state",
    "zipcode",
    "country",
    "timezone",
    "lead_source",
    "source",
    "notes",
    "csf1",
    "csf2",
)
# Other fields a channel may set, with their kinds of value.
VALUE_FIELDS = ("date_of_birth", "other_phone_numbers", "custom_fields", "session_id", "message_count")
ATTRIBUTION_FIELDS = (
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "page_url",
    "referrer",
)
PLACE_FIELDS = ("city", "state", "country", "timezone")


def contact_payload(contact: Contact) -> dict[str, Any]:
    """The contact as lead events carry it (SPEC §6: id, name, phone, email, interest, status …)."""
    return {
        "id": str(contact.id),
        "name": contact.name,
        "first_name": contact.first_name,
        "last_name": contact.last_name,
        "phone": contact.phone_number,
        "email": contact.email,
        "company_name": contact.company_name,
        "interest": contact.custom_fields.get("interest") if isinstance(contact.custom_fields, dict) else None,
        "status": contact.status,
        "lead_source": contact.lead_source,
        "source": contact.source,
        "session_id": contact.session_id,
        "message_count": contact.message_count,
        "hot": contact.is_hot,
        "owner_id": contact.owner_id,
        "city": contact.city,
        "state": contact.state,
        "country": contact.country,
        "timezone": contact.timezone,
        "first_touch": contact.first_touch,
        "latest_touch": contact.latest_touch,
        "created_at": contact.created_at.isoformat().replace("+00:00", "Z"),
    }


def _timeline(contact: Contact, kind: str, data: dict | None = None) -> None:
    TimelineEntry.objects.create(workspace_id=contact.workspace_id, contact=contact, kind=kind, data=data or {})


@dataclass
class UpsertResult:
    contact: Contact
    created: bool
    changed: bool
    changed_fields: list[str] = field(default_factory=list)


def _find(workspace: Workspace, *, phone: str | None, email: str | None, session_id: str | None) -> Contact | None:
    """The contact this person already is: by phone, else e-mail, else widget session.

    One query for all three, locked for the update that follows; the preference is applied
    to the few rows it returns.
    """
    conditions = Q()
    if phone:
        conditions |= Q(phone_number=phone)
    if email:
        # Without a phone the e-mail identifies; with one, an e-mail match joins only a
        # contact that has no phone yet.
        conditions |= Q(email=email, phone_number__isnull=True) if phone else Q(email=email)
    if session_id:
        conditions |= Q(session_id=session_id)
    if not conditions:
        return None
    rows = list(Contact.objects.select_for_update().filter(conditions, workspace=workspace).order_by("created_at")[:10])
    for matches in (
        lambda c: phone and c.phone_number == phone,
        lambda c: email and c.email == email,
        lambda c: session_id and c.session_id == session_id,
    ):
        for contact in rows:
            if matches(contact):
                return contact
    return None


def _touch(attribution: dict[str, str]) -> dict[str, str]:
    touch = {key: value for key, value in attribution.items() if key in ATTRIBUTION_FIELDS and value}
    if touch:
        touch["at"] = timezone.now().isoformat().replace("+00:00", "Z")
    return touch


def _with_name(values: dict[str, Any]) -> dict[str, Any]:
    if not values.get("name") and (values.get("first_name") or values.get("last_name")):
        name = f"{values.get('first_name', '')} {values.get('last_name', '')}".strip()
        values["name"] = name[: Contact._meta.get_field("name").max_length]
    return values


def contact_upsert(
    *,
    workspace: Workspace,
    phone: Phone | None,
    email: str | None,
    values: dict[str, Any],
    source: str,
    update_existing: bool,
    attribution: dict[str, str] | None = None,
    bot_id: str | None = None,
    initial: dict[str, Any] | None = None,
    submitted: list[str] | None = None,
) -> UpsertResult:
    """Create the contact, or find the one this person already is and (if update_existing)
    update it with the given non-empty values. One transaction with its events. `initial`
    values are used only when the contact is created (the widget's source, for one).
    `submitted` names the fields a submission carried: the submission goes on the
    contact's timeline, created or not.

    The unique constraints on (workspace, phone) and (workspace, e-mail without phone) make
    concurrent upserts of one person end in one contact: the loser's insert fails, and it
    takes the winner's row.
    """
    values = _with_name({key: value for key, value in values.items() if key in TEXT_FIELDS + VALUE_FIELDS})
    if phone is not None:
        for key, derived in place_fields(phone).items():
            if derived and not values.get(key):
                values[key] = derived
    touch = _touch(attribution or {})
    e164 = phone.e164 if phone else None
    email = email or None
    session_id = values.get("session_id") or None

    fields = {
        key: value
        for key, value in {**(initial or {}), **values}.items()
        if key in TEXT_FIELDS + VALUE_FIELDS and value not in (None, "")
    }
    # A lead that arrives with a name and a phone or e-mail is stored qualified at once.
    qualified = bool(fields.get("name")) and bool(e164 or email)
    if qualified:
        fields.update(status=Contact.Status.QUALIFIED, qualified_at=timezone.now())

    # Inside a caller's transaction this joins it: no savepoint of its own is needed.
    with transaction.atomic(savepoint=False):
        contact = _find(workspace, phone=e164, email=email, session_id=session_id)
        created = False
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
                created = True
            except IntegrityError:
                contact = _find(workspace, phone=e164, email=email, session_id=None)
                if contact is None:
                    raise

        timeline = []
        submission = {"source": source, "fields": sorted(submitted)} if submitted is not None else {"source": source}
        if created:
            timeline.append((TimelineEntry.Kind.CREATED, submission))
            if qualified:
                timeline.append((TimelineEntry.Kind.STATUS, {"from": "new", "to": "qualified"}))
            changed_fields: list[str] = []
        else:
            if submitted is not None:
                timeline.append((TimelineEntry.Kind.INTAKE, submission))
            changed_fields = _apply(contact, e164=e164, email=email, values=values, touch=touch, update=update_existing)
            if changed_fields:
                contact.save(update_fields=[*changed_fields, "updated_at"])
                timeline.append((TimelineEntry.Kind.UPDATED, {"source": source, "fields": changed_fields}))
        TimelineEntry.objects.bulk_create(
            [TimelineEntry(workspace=workspace, contact=contact, kind=kind, data=data) for kind, data in timeline]
        )
        if created:
            payload = contact_payload(contact)
            event_emit(workspace=workspace, type="lead.created", data=payload, bot_id=bot_id)
            if qualified:
                event_emit(workspace=workspace, type="lead.qualified", data=payload, bot_id=bot_id)
        else:
            if changed_fields:
                event_emit(workspace=workspace, type="lead.updated", data=contact_payload(contact), bot_id=bot_id)
            _qualify(contact, workspace=workspace, bot_id=bot_id)
    return UpsertResult(contact=contact, created=created, changed=bool(changed_fields), changed_fields=changed_fields)


def _apply(
    contact: Contact, *, e164: str | None, email: str | None, values: dict, touch: dict, update: bool
) -> list[str]:
    changed = []
    if touch:
        if not contact.first_touch:
            contact.first_touch = touch
            changed.append("first_touch")
        contact.latest_touch = touch
        changed.append("latest_touch")
    if not update:
        return changed
    # Identity joins what was missing; it never replaces a phone or e-mail.
    if e164 and not contact.phone_number:
        contact.phone_number = e164
        changed.append("phone_number")
    if email and not contact.email:
        contact.email = email
        changed.append("email")
    for key, value in values.items():
        if value in (None, "", [], {}) or getattr(contact, key) == value:
            continue
        if key == "custom_fields":
            value = {**contact.custom_fields, **value}
            if value == contact.custom_fields:
                continue
        setattr(contact, key, value)
        changed.append(key)
    return changed


def _qualify(contact: Contact, *, workspace: Workspace, bot_id: str | None) -> None:
    """Qualified the first time it has a name and a phone or e-mail: lead.qualified, once."""
    if contact.qualified_at is not None or not contact.name or not (contact.phone_number or contact.email):
        return
    # Guarded on qualified_at in the database, so that concurrent upserts emit it once.
    fields: dict[str, Any] = {"qualified_at": timezone.now()}
    if contact.status == Contact.Status.NEW:
        fields["status"] = Contact.Status.QUALIFIED
    if not Contact.objects.filter(pk=contact.pk, qualified_at__isnull=True).update(**fields):
        return
    for key, value in fields.items():
        setattr(contact, key, value)
    if "status" in fields:
        _timeline(contact, TimelineEntry.Kind.STATUS, {"from": Contact.Status.NEW, "to": Contact.Status.QUALIFIED})
    event_emit(workspace=workspace, type="lead.qualified", data=contact_payload(contact), bot_id=bot_id)


def contact_update(*, contact: Contact, values: dict[str, Any], actor: AbstractBaseUser | None = None) -> Contact:
    """A PATCH: set exactly the given fields (empty values clear them)."""
    changed = []
    old_status = contact.status
    with transaction.atomic():
        for key, value in values.items():
            if getattr(contact, key) != value:
                setattr(contact, key, value)
                changed.append(key)
        if not changed:
            return contact
        contact.save(update_fields=[*changed, "updated_at"])
        _timeline(contact, TimelineEntry.Kind.UPDATED, {"source": "api", "fields": changed})
        if "status" in changed:
            _timeline(contact, TimelineEntry.Kind.STATUS, {"from": old_status, "to": contact.status})
        event_emit(workspace=contact.workspace, type="lead.updated", data=contact_payload(contact))
        _qualify(contact, workspace=contact.workspace, bot_id=None)
    return contact


def contact_delete(*, contact: Contact) -> None:
    contact.delete()


def note_create(*, contact: Contact, body: str, author: AbstractBaseUser | None = None) -> Note:
    with transaction.atomic():
        note = Note.objects.create(workspace_id=contact.workspace_id, contact=contact, body=body, author=author)
        _timeline(contact, TimelineEntry.Kind.NOTE, {"note_id": str(note.id), "excerpt": body[:200]})
        event_emit(
            workspace=contact.workspace,
            type="note.created",
            data={"id": str(note.id), "contact_id": str(contact.id), "body": body, "created_at": _iso(note.created_at)},
        )
    return note


def _iso(value) -> str:
    return value.isoformat().replace("+00:00", "Z")


# --- Intake actions (SPEC §5.1) ---------------------------------------------------------


def contact_set_owner(*, contact: Contact, owner: AbstractBaseUser | None) -> bool:
    if contact.owner_id == (owner.pk if owner else None):
        return False
    contact.owner = owner
    contact.save(update_fields=["owner", "updated_at"])
    _timeline(contact, TimelineEntry.Kind.OWNER, {"owner_id": owner.pk if owner else None})
    return True


def ring_group_pick(*, ring_group: RingGroup, only_available: bool) -> AbstractBaseUser | None:
    """A random member of the ring group (only available ones if asked); None if there is none."""
    members = ring_group.members.select_related("user")
    if only_available:
        members = members.filter(is_available=True)
    members = list(members)
    return random.choice(members).user if members else None  # noqa: S311 (fair distribution, not security)


def power_dialer_add(*, contact: Contact, owner: AbstractBaseUser, position: str = "top") -> PowerDialerEntry | None:
    """Queue the contact in the owner's power dialer, at the top or bottom; None when it is
    queued already."""
    queue = PowerDialerEntry.objects.filter(workspace_id=contact.workspace_id, owner=owner)
    if queue.filter(contact=contact).exists():
        return None
    if position == "bottom":
        place = (queue.aggregate(edge=Max("position"))["edge"] or 0) + 1
    else:
        place = (queue.aggregate(edge=Min("position"))["edge"] or 0) - 1
    try:
        with transaction.atomic():
            entry = PowerDialerEntry.objects.create(
                workspace_id=contact.workspace_id, owner=owner, contact=contact, position=place
            )
    except IntegrityError:  # queued concurrently
        return None
    _timeline(contact, TimelineEntry.Kind.POWER_DIALER, {"owner_id": owner.pk, "position": position})
    return entry


def sequence_enroll(*, contact: Contact, sequence: Sequence, leave_others: bool = False) -> Enrollment | None:
    """Enroll the contact (once while active); with leave_others, stop its other sequences first."""
    active = Enrollment.objects.filter(contact=contact, status=Enrollment.Status.ACTIVE)
    if leave_others:
        active.filter(~Q(sequence=sequence)).update(status=Enrollment.Status.STOPPED, stopped_at=timezone.now())
    if active.filter(sequence=sequence).exists():
        return None
    try:
        with transaction.atomic():
            enrollment = Enrollment.objects.create(
                workspace_id=contact.workspace_id, sequence=sequence, contact=contact
            )
    except IntegrityError:
        return None
    _timeline(contact, TimelineEntry.Kind.SEQUENCE, {"sequence_id": sequence.pk, "name": sequence.name})
    return enrollment


def contact_set_line(*, contact: Contact, line: Line) -> bool:
    if contact.line_id == line.pk:
        return False
    contact.line = line
    contact.save(update_fields=["line", "updated_at"])
    _timeline(contact, TimelineEntry.Kind.LINE, {"line_id": line.pk})
    return True


def contact_add_tag(*, contact: Contact, tag: Tag) -> bool:
    if contact.tags.filter(pk=tag.pk).exists():
        return False
    contact.tags.add(tag)
    _timeline(contact, TimelineEntry.Kind.TAG, {"added": tag.name})
    return True


def contact_set_disposition(*, contact: Contact, disposition: DispositionStatus) -> bool:
    if contact.disposition_status_id == disposition.pk:
        return False
    contact.disposition_status = disposition
    contact.save(update_fields=["disposition_status", "updated_at"])
    _timeline(contact, TimelineEntry.Kind.DISPOSITION, {"disposition": disposition.name})
    return True


# --- The native API's creates (SPEC §5.4) ------------------------------------------------------


class AlreadyExists(Exception):
    """The object would repeat one that exists: `field` says by what; `existing` is it, when
    it is of the same workspace (None when the clash is with another workspace's row)."""

    def __init__(self, field: str, existing: Any | None = None):
        super().__init__(field)
        self.field = field
        self.existing = existing


def _identity_field(contact: Contact, *, phone: str | None, email: str | None) -> str:
    if phone and contact.phone_number == phone:
        return "phone_number"
    if email and contact.email == email:
        return "email"
    return "session_id"


def contact_create(
    *,
    workspace: Workspace,
    phone: Phone | None,
    email: str | None,
    values: dict[str, Any],
    attribution: dict[str, str] | None = None,
    fields: dict[str, Any] | None = None,
    tags: list[Tag] | tuple[Tag, ...] = (),
    source: str = "api",
) -> Contact:
    """A new contact, or AlreadyExists with the contact this person already is, and nothing
    written (not even the attribution touch an upsert of an existing contact records).

    `values` go through contact_upsert; `fields` (status, owner, line, disposition_status,
    sms_opt_out) and `tags` are set after it, so lead.created is followed by lead.updated
    when they are given.
    """
    with transaction.atomic():
        result = contact_upsert(
            workspace=workspace,
            phone=phone,
            email=email,
            values=values,
            attribution=attribution,
            source=source,
            update_existing=False,
        )
        if not result.created:
            field_name = _identity_field(result.contact, phone=phone.e164 if phone else None, email=email)
            raise AlreadyExists(field_name, result.contact)  # rolls back the upsert's touch
        contact = result.contact
        if fields:
            contact_update(contact=contact, values=fields)
        for tag in tags:
            contact_add_tag(contact=contact, tag=tag)
    return contact


def contact_set_tags(*, contact: Contact, tags: list[Tag] | tuple[Tag, ...]) -> bool:
    """Make the contact's tags exactly these (a PATCH of `tags`); the timeline says what changed."""
    wanted = {tag.pk: tag for tag in tags}
    current = {tag.pk: tag for tag in contact.tags.all()}
    added = [wanted[pk] for pk in wanted.keys() - current.keys()]
    removed = [current[pk] for pk in current.keys() - wanted.keys()]
    if not added and not removed:
        return False
    with transaction.atomic():
        if removed:
            contact.tags.remove(*removed)
        if added:
            contact.tags.add(*added)
        _timeline(
            contact,
            TimelineEntry.Kind.TAG,
            {"added": sorted(tag.name for tag in added), "removed": sorted(tag.name for tag in removed)},
        )
    return True


def tag_create(*, workspace: Workspace, name: str) -> Tag:
    try:
        with transaction.atomic():
            return Tag.objects.create(workspace=workspace, name=name)
    except IntegrityError:
        raise AlreadyExists("name", Tag.objects.filter(workspace=workspace, name=name).first()) from None


def line_create(*, workspace: Workspace, name: str, phone: Phone) -> Line:
    """A line's number is unique across workspaces: inbound messages find the workspace by it."""
    try:
        with transaction.atomic():
            return Line.objects.create(workspace=workspace, name=name, phone_number=phone.e164)
    except IntegrityError:
        existing = Line.objects.filter(workspace=workspace, phone_number=phone.e164).first()
        raise AlreadyExists("phone_number", existing) from None


def ring_group_create(
    *, workspace: Workspace, name: str, members: list[tuple[AbstractBaseUser, bool]] | tuple = ()
) -> RingGroup:
    """A ring group with its members: (user, is_available) pairs, users of the workspace."""
    with transaction.atomic():
        ring_group = RingGroup.objects.create(workspace=workspace, name=name)
        seen: set = set()
        rows = []
        for user, is_available in members:
            if user.pk not in seen:
                seen.add(user.pk)
                rows.append(RingGroupMember(ring_group=ring_group, user=user, is_available=is_available))
        RingGroupMember.objects.bulk_create(rows)
    return ring_group


def sequence_create(
    *, workspace: Workspace, name: str, steps: list[dict[str, Any]] | tuple = (), is_active: bool = True
) -> Sequence:
    """A sequence with its steps, numbered 1, 2, ... in the order given."""
    with transaction.atomic():
        sequence = Sequence.objects.create(workspace=workspace, name=name, is_active=is_active)
        SequenceStep.objects.bulk_create(
            SequenceStep(
                sequence=sequence,
                position=position,
                delay_minutes=step.get("delay_minutes", 0),
                message=step["message"],
            )
            for position, step in enumerate(steps, start=1)
        )
    return sequence


# --- Messaging's changes to a contact (SPEC §7) -----------------------------------------


def contact_set_consent(*, contact: Contact, opted_out: bool, detail: dict[str, Any]) -> bool:
    """Set `sms_opt_out`; on a change, a timeline entry (with `detail`: the keyword or source
    and the message) and lead.updated. Guarded in the database so that concurrent STOPs
    record one change. False when it was already so."""
    with transaction.atomic(savepoint=False):
        changed = (
            Contact.objects.filter(pk=contact.pk)
            .exclude(sms_opt_out=opted_out)
            .update(sms_opt_out=opted_out, updated_at=timezone.now())
        )
        contact.sms_opt_out = opted_out
        if not changed:
            return False
        _timeline(
            contact,
            TimelineEntry.Kind.UPDATED,
            {"source": "consent", "fields": ["sms_opt_out"], "sms_opt_out": opted_out, **detail},
        )
        event_emit(workspace=contact.workspace, type="lead.updated", data=contact_payload(contact))
    return True


def contact_count_messages(*, contact: Contact, count: int = 1) -> None:
    """Add exchanged messages to the contact's message_count (a lead is hot from 5)."""
    Contact.objects.filter(pk=contact.pk).update(message_count=F("message_count") + count)
    contact.message_count += count
