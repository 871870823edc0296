"""Writes of what organises contacts: tags, lines, ring groups, sequences, and the two queues a
contact joins (its owner's power dialer, a sequence's enrollments)."""

from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Max, Min, Q
from django.utils import timezone

from accounts.models import Workspace
from leadhub.exceptions import AlreadyExists

from ..models import (
    Contact,
    Enrollment,
    Line,
    PowerDialerEntry,
    RingGroup,
    RingGroupMember,
    Sequence,
    SequenceStep,
    Tag,
    TimelineEntry,
)
from ..normalize import Phone


def tag_create(*, workspace: Workspace, name: str) -> Tag:
    """A tag; a name is unique in the workspace (AlreadyExists with the existing tag)."""
    try:
        with transaction.atomic():
            return Tag.objects.create(workspace=workspace, name=name)
    except IntegrityError:
        existing = Tag.objects.filter(workspace=workspace, name=name).first()
        raise AlreadyExists("A tag with this name exists already.", field="name", existing=existing) from None


def line_create(*, workspace: Workspace, name: str, phone: Phone) -> Line:
    """A line's number is unique across workspaces: inbound messages find the workspace by it.
    A clash with another workspace's line says nothing about it (existing is None)."""
    try:
        with transaction.atomic():
            return Line.objects.create(workspace=workspace, name=name, phone_number=phone.e164)
    except IntegrityError:
        existing = Line.objects.filter(workspace=workspace, phone_number=phone.e164).first()
        raise AlreadyExists("This phone number is a line already.", field="phone_number", existing=existing) from None


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
            TimelineEntry.objects.create(
                workspace_id=contact.workspace_id,
                contact=contact,
                kind=TimelineEntry.Kind.POWER_DIALER,
                data={"owner_id": owner.pk, "position": position},
            )
    except IntegrityError:  # queued concurrently
        return None
    return entry


def sequence_enroll(
    *, contact: Contact, sequence: Sequence, leave_others: bool = False, strict: bool = False
) -> Enrollment | None:
    """Enroll the contact (once while active); with leave_others, stop its other sequences first.
    An active enrollment in this sequence already: None (the intake's repeat), or with `strict`
    AlreadyExists naming it (the API's 409)."""
    active = Enrollment.objects.filter(contact=contact, status=Enrollment.Status.ACTIVE)
    if leave_others:
        active.filter(~Q(sequence=sequence)).update(status=Enrollment.Status.STOPPED, stopped_at=timezone.now())
    existing = active.filter(sequence=sequence).first()
    if existing is None:
        try:
            with transaction.atomic():
                enrollment = Enrollment.objects.create(
                    workspace_id=contact.workspace_id, sequence=sequence, contact=contact
                )
                TimelineEntry.objects.create(
                    workspace_id=contact.workspace_id,
                    contact=contact,
                    kind=TimelineEntry.Kind.SEQUENCE,
                    data={"sequence_id": sequence.pk, "name": sequence.name},
                )
            return enrollment
        except IntegrityError:  # enrolled concurrently (the partial unique key on active ones)
            existing = active.filter(sequence=sequence).first()
    if strict:
        raise AlreadyExists(
            "The contact is enrolled in this sequence already (and still active).",
            field="contact_id",
            existing=existing,
        )
    return None
