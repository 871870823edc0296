"""Writes for sequence enrollments besides enrolling (services.sequence_enroll): an
enrollment ends when its last step is sent, or stops when the person replies or opts out.
Sending the steps is messaging's (it reads these models and calls these services)."""

from django.db import connection, transaction
from django.utils import timezone

from ..models import Contact, Enrollment, Sequence, TimelineEntry


def enrollment_complete(*, enrollment: Enrollment) -> bool:
    """The last step has gone out."""
    with transaction.atomic():
        done = Enrollment.objects.filter(pk=enrollment.pk, status=Enrollment.Status.ACTIVE).update(
            status=Enrollment.Status.COMPLETED, stopped_at=timezone.now()
        )
        if done:
            TimelineEntry.objects.create(
                workspace_id=enrollment.workspace_id,
                contact_id=enrollment.contact_id,
                kind=TimelineEntry.Kind.SEQUENCE,
                data={"sequence_id": enrollment.sequence_id, "completed": True},
            )
    return bool(done)


def enrollments_stop(*, contact: Contact, reason: str, sequence: Sequence | None = None) -> int:
    """Stop every active enrollment of the contact, or only its one in `sequence` (`reason`:
    "reply", "opt_out", "api", ...); each stop is on the contact's timeline, and no further
    step of a stopped enrollment is sent."""
    # No savepoint inside the caller's transaction (a round trip each way, on every inbound
    # message): an error rolls back to the caller's.
    with transaction.atomic(savepoint=False):
        if sequence is None:
            stopping = _active_of(contact)
        else:
            active = Enrollment.objects.filter(contact=contact, status=Enrollment.Status.ACTIVE, sequence=sequence)
            stopping = list(active.select_for_update().values_list("pk", "sequence_id"))
        if not stopping:
            return 0
        Enrollment.objects.filter(pk__in=[pk for pk, _ in stopping]).update(
            status=Enrollment.Status.STOPPED, stopped_at=timezone.now()
        )
        TimelineEntry.objects.bulk_create(
            TimelineEntry(
                workspace_id=contact.workspace_id,
                contact=contact,
                kind=TimelineEntry.Kind.SEQUENCE,
                data={"sequence_id": sequence_id, "stopped": reason},
            )
            for _, sequence_id in stopping
        )
    return len(stopping)


def _active_of(contact: Contact) -> list[tuple]:
    """(id, sequence_id) of the contact's active enrollments, locked: every inbound message asks,
    nearly always to find none, so its SQL is written once (the ORM spent more CPU building the
    query than PostgreSQL running it). Only the model's own names are spliced in."""
    quote = connection.ops.quote_name
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('id')}, {quote('sequence_id')} FROM {quote(Enrollment._meta.db_table)} "  # noqa: S608
            f"WHERE {quote('contact_id')} = %s AND {quote('status')} = %s{lock}",
            [Contact._meta.pk.get_db_prep_value(contact.pk, connection), Enrollment.Status.ACTIVE.value],
        )
        return cursor.fetchall()
