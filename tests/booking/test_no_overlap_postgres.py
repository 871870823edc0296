"""No double booking under real concurrency (PostgreSQL): the exclusion constraint decides."""

import datetime as dt
import threading

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client

from booking.availability.selectors import native_slots, rules_get
from booking.availability.services import rules_set
from booking.models import Booking
from crm.models import Contact
from messaging.brains.services import brain_create

from .conftest import ALL_DAY

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def iso(value):
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _race(bodies, path="/api/book-meeting", headers=None):
    barrier, statuses = threading.Barrier(len(bodies)), []

    def send(body):
        client = Client(**(headers or {}))
        barrier.wait()
        try:
            statuses.append(client.post(path, body, content_type="application/json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(body,)) for body in bodies]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return sorted(statuses)


@pytest.fixture
def rules(workspace_a):
    return rules_set(
        workspace=workspace_a,
        values={"timezone": "America/New_York", "weekly": ALL_DAY, "min_notice_minutes": 0, "buffer_minutes": 10},
    )


def test_twenty_concurrent_bookings_of_one_slot_make_one(workspace_a, rules):
    bot_id = brain_create(workspace=workspace_a, name="Bot").bot_id
    start = iso(native_slots(workspace=workspace_a, rules=rules)[4].start)
    bodies = [{"bot_id": bot_id, "name": f"V{i}", "email": f"v{i}@example.com", "start": start} for i in range(20)]
    assert _race(bodies) == [201] + [409] * 19
    assert Booking.objects.filter(workspace=workspace_a, status="confirmed").count() == 1
    assert Contact.objects.filter(workspace=workspace_a, status="booked").count() == 1


def test_concurrent_overlapping_bookings_of_different_lengths_make_one(workspace_a, rules, make_key):
    slots = native_slots(workspace=workspace_a, rules=rules)
    hour = {"start": iso(slots[4].start), "end": iso(slots[4].start + dt.timedelta(hours=1))}
    half = {"start": iso(slots[5].start)}  # starts inside the hour
    bodies = [{"name": f"V{i}", "email": f"v{i}@example.com", **(hour if i % 2 else half)} for i in range(10)]
    key = make_key(workspace_a, scopes=["bookings:write"])
    statuses = _race(bodies, path="/api/v1/bookings", headers={"HTTP_AUTHORIZATION": f"Bearer {key}"})
    assert statuses == [201] + [409] * 9
    assert Booking.objects.filter(workspace=workspace_a, status="confirmed").count() == 1


def test_the_database_refuses_overlapping_ranges_and_frees_cancelled_ones(workspace_a, workspace_b, rules):
    from crm.models import Contact as C

    contact = C.objects.create(workspace=workspace_a, email="x@example.com")
    other = C.objects.create(workspace=workspace_b, email="x@example.com")
    t = dt.datetime(2027, 1, 4, 15, tzinfo=dt.UTC)

    def make(workspace, who, start, minutes, buffer=0, status="confirmed"):
        end = start + dt.timedelta(minutes=minutes)
        return Booking.objects.create(
            workspace=workspace,
            contact=who,
            status=status,
            start=start,
            end=end,
            buffer_minutes=buffer,
            blocked_from=start,
            blocked_until=end + dt.timedelta(minutes=buffer),
            name="X",
            email="x@example.com",
        )

    first = make(workspace_a, contact, t, 60, buffer=15)
    for start, minutes in (
        (t + dt.timedelta(minutes=30), 30),
        (t - dt.timedelta(minutes=30), 45),
        (t + dt.timedelta(minutes=70), 30),
    ):
        with pytest.raises(IntegrityError), transaction.atomic():
            make(workspace_a, contact, start, minutes)
    make(workspace_a, contact, t + dt.timedelta(minutes=75), 30)  # after the buffer: fine
    make(workspace_b, other, t, 60)  # another workspace: fine
    first.status = "cancelled"
    first.save(update_fields=["status"])
    make(workspace_a, contact, t, 30)  # a cancelled booking holds nothing
    assert rules_get(workspace=workspace_a) is not None
