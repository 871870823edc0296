"""Sequences sent by beat through the Twilio double, with the clock moved: each step on its
schedule, inside allowed hours, once; a reply or a STOP ends the enrollment."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from crm.catalog.enrollments import enrollments_stop
from crm.catalog.services import sequence_create, sequence_enroll
from crm.models import Contact, Enrollment, TimelineEntry
from messaging.campaigns import tasks
from messaging.campaigns.models import SequenceProgress, SequenceSend
from messaging.models import Message
from tests.scope_probe import run_as_worker

from .conftest import SEND_NUMBER, provider_post

T0 = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)  # noon in London, 04:00 in Los Angeles
LONDON, LOS_ANGELES = "+442071838750", "+18187405020"


@pytest.fixture
def sequence(enterprise_a):
    return sequence_create(
        workspace=enterprise_a,
        name="Welcome",
        steps=[
            {"delay_minutes": 0, "message": "Hi {{ first_name }}, welcome!"},
            {"delay_minutes": 60, "message": "Still interested, {{ first_name }}?"},
        ],
    )


def enrolled(workspace, sequence, phone: str) -> Enrollment:
    contact = Contact.objects.create(workspace=workspace, phone_number=phone, first_name="Alan")
    return sequence_enroll(contact=contact, sequence=sequence)


def tick(moment: datetime) -> int:
    with time_machine.travel(moment, tick=True):
        return run_as_worker(tasks.sequences_tick)


def bodies(twilio_api) -> list[tuple[str, str]]:
    return [(m["To"], m["Body"]) for m in twilio_api.messages]


def test_each_step_goes_out_on_schedule_once_and_the_enrollment_completes(
    enterprise_a, verified_line, sequence, twilio_api
):
    with time_machine.travel(T0, tick=True):
        enrollment = enrolled(enterprise_a, sequence, LONDON)
    assert tick(T0 + timedelta(seconds=1)) == 1
    assert bodies(twilio_api) == [(LONDON, "Hi Alan, welcome!")]
    assert twilio_api.messages[0]["From"] == SEND_NUMBER
    message = Message.objects.get(source="sequence")
    assert (message.status, message.direction, message.content) == ("sent", "outbound", "Hi Alan, welcome!")
    step = SequenceSend.objects.get(enrollment=enrollment, position=1)
    assert (step.status, step.provider_sid) == ("sent", message.provider_sid)

    assert tick(T0 + timedelta(minutes=30)) == 0  # the second step is due an hour after the first
    assert tick(T0 + timedelta(minutes=30, seconds=1)) == 0  # and a tick run again sends nothing twice
    assert tick(T0 + timedelta(minutes=61)) == 1
    assert bodies(twilio_api)[1] == (LONDON, "Still interested, Alan?")
    enrollment.refresh_from_db()
    assert enrollment.status == "completed"
    assert tick(T0 + timedelta(hours=5)) == 0
    assert len(twilio_api.messages) == 2


def test_a_reply_ends_the_enrollment(enterprise_a, verified_line, sequence, twilio_api):
    with time_machine.travel(T0, tick=True):
        enrollment = enrolled(enterprise_a, sequence, LONDON)
    tick(T0 + timedelta(seconds=1))
    with time_machine.travel(T0 + timedelta(minutes=10), tick=True):
        inbound = {"From": LONDON, "To": SEND_NUMBER, "Body": "Sounds good", "MessageSid": "SM" + "3" * 32}
        assert provider_post("/api/whatsapp-inbound", inbound).status_code == 200
    enrollment.refresh_from_db()
    assert enrollment.status == "stopped"
    entry = TimelineEntry.objects.filter(contact_id=enrollment.contact_id, kind="sequence").latest("created_at")
    assert entry.data["stopped"] == "reply"

    assert tick(T0 + timedelta(minutes=61)) == 0
    assert len(twilio_api.messages) == 1


def test_stop_opts_out_and_ends_the_enrollment(enterprise_a, verified_line, sequence, twilio_api):
    with time_machine.travel(T0, tick=True):
        enrollment = enrolled(enterprise_a, sequence, LONDON)
    tick(T0 + timedelta(seconds=1))
    with time_machine.travel(T0 + timedelta(minutes=10), tick=True):
        inbound = {"From": LONDON, "To": SEND_NUMBER, "Body": "STOP", "MessageSid": "SM" + "4" * 32}
        assert provider_post("/api/whatsapp-inbound", inbound).status_code == 200
    enrollment.refresh_from_db()
    assert enrollment.status == "stopped"
    assert Contact.objects.get(pk=enrollment.contact_id).sms_opt_out is True
    entry = TimelineEntry.objects.filter(contact_id=enrollment.contact_id, kind="sequence").latest("created_at")
    assert entry.data["stopped"] == "opt_out"

    assert tick(T0 + timedelta(minutes=61)) == 0
    assert len(twilio_api.messages) == 1


def test_enrolled_through_the_api_it_steps_and_unenrolled_through_it_stops(
    api, enterprise_a, verified_line, sequence, twilio_api
):
    contact = Contact.objects.create(workspace=enterprise_a, phone_number=LONDON, first_name="Alan")
    enrollments = f"/api/v1/sequences/{sequence.pk}/enrollments"
    # The clock stands still for the request: on a busy machine it took over a second, which
    # enrolled the contact after the tick below and left its first step not yet due.
    with time_machine.travel(T0, tick=False):
        assert api.post(enrollments, {"contact_id": str(contact.pk)}, format="json").status_code == 201
    assert tick(T0 + timedelta(seconds=1)) == 1
    assert bodies(twilio_api) == [(LONDON, "Hi Alan, welcome!")]

    with time_machine.travel(T0 + timedelta(minutes=10), tick=True):
        assert api.delete(f"{enrollments}/{contact.pk}").status_code == 204

    assert tick(T0 + timedelta(minutes=61)) == 0  # the second step was due: not sent
    assert len(twilio_api.messages) == 1
    assert Enrollment.objects.get(contact=contact).status == "stopped"


def test_a_contact_on_an_unverified_line_gets_its_steps_from_the_verified_one(
    enterprise_a, unverified_line, verified_line, sequence, twilio_api
):
    # The intake's catalog attaches lines with no provider account behind them (SPEC §7:
    # nothing is routed to an unverified number).
    with time_machine.travel(T0, tick=True):
        enrollment = enrolled(enterprise_a, sequence, LONDON)
    Contact.objects.filter(pk=enrollment.contact_id).update(line=unverified_line)
    assert tick(T0 + timedelta(seconds=1)) == 1
    assert [(m["From"], m["To"], m["Body"]) for m in twilio_api.messages] == [
        (SEND_NUMBER, LONDON, "Hi Alan, welcome!")
    ]
    step = SequenceSend.objects.get(enrollment=enrollment, position=1)
    assert (step.status, step.reason) == ("sent", "")
    assert Message.objects.get(source="sequence").line_id == verified_line.pk


def test_without_a_verified_line_a_step_is_skipped_not_sent(enterprise_a, unverified_line, sequence, twilio_api):
    with time_machine.travel(T0, tick=True):
        enrollment = enrolled(enterprise_a, sequence, LONDON)
    tick(T0 + timedelta(seconds=1))
    step = SequenceSend.objects.get(enrollment=enrollment, position=1)
    assert (step.status, step.reason) == ("skipped", "no_line")
    assert twilio_api.messages == []
    assert not Message.objects.filter(source="sequence").exists()


def _unenrolled_after_the_claim(monkeypatch, enrollment, unenroll) -> None:
    """The hook: `unenroll(enrollment)` runs once the tick has claimed the step and read the
    enrollment (choosing the step's line), before the step is handed over."""
    from messaging.campaigns import sequences

    line_of = sequences._line_of

    def hooked(claimed):
        unenroll(enrollment)
        return line_of(claimed)

    monkeypatch.setattr(sequences, "_line_of", hooked)


def _unenroll(enrollment) -> None:
    enrollments_stop(contact=enrollment.contact, reason="api", sequence=enrollment.sequence)


def test_an_unenroll_after_the_tick_claimed_a_step_keeps_that_step_back(
    enterprise_a, verified_line, sequence, twilio_api, monkeypatch
):
    with time_machine.travel(T0, tick=True):
        enrollment = enrolled(enterprise_a, sequence, LONDON)
    _unenrolled_after_the_claim(monkeypatch, enrollment, _unenroll)
    assert tick(T0 + timedelta(seconds=1)) == 0
    assert twilio_api.messages == []
    assert not SequenceSend.objects.filter(enrollment=enrollment).exists()
    assert not Message.objects.filter(source="sequence").exists()
    enrollment.refresh_from_db()
    assert enrollment.status == "stopped"
    progress = SequenceProgress.objects.get(enrollment=enrollment)
    assert (progress.due_at, progress.lease_token) == (None, None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_unenroll_committed_by_another_session_after_the_claim_keeps_the_step_back(
    enterprise_a, verified_line, sequence, twilio_api, monkeypatch
):
    # The unenroll is another request's: its own connection, committed between the tick's claim
    # and its hand-off.
    import threading

    from django.db import connection

    from leadhub.tenancy import tenant_scope

    def unenroll_elsewhere(enrollment):
        def run():
            try:
                with tenant_scope(enrollment.workspace_id):
                    _unenroll(enrollment)
            finally:
                connection.close()

        thread = threading.Thread(target=run)
        thread.start()
        thread.join()

    with time_machine.travel(T0, tick=True):
        enrollment = enrolled(enterprise_a, sequence, LONDON)
    _unenrolled_after_the_claim(monkeypatch, enrollment, unenroll_elsewhere)
    assert tick(T0 + timedelta(seconds=1)) == 0
    assert twilio_api.messages == []
    assert not SequenceSend.objects.filter(enrollment=enrollment).exists()
    assert Enrollment.objects.get(pk=enrollment.pk).status == "stopped"


def test_a_step_due_at_night_waits_for_the_morning(enterprise_a, verified_line, sequence, twilio_api):
    with time_machine.travel(T0, tick=True):
        enrollment = enrolled(enterprise_a, sequence, LOS_ANGELES)
    assert tick(T0 + timedelta(seconds=1)) == 0
    assert twilio_api.messages == []
    # 08:00 in Los Angeles is 16:00 UTC.
    assert SequenceProgress.objects.get(enrollment=enrollment).due_at == datetime(2026, 12, 1, 16, 0, tzinfo=UTC)
    assert tick(datetime(2026, 12, 1, 16, 0, 1, tzinfo=UTC)) == 1
    assert bodies(twilio_api) == [(LOS_ANGELES, "Hi Alan, welcome!")]


def test_a_worker_shutting_down_leaves_the_due_steps_to_the_next_tick(
    enterprise_a, verified_line, sequence, twilio_api
):
    from celery.signals import worker_shutting_down

    from leadhub.tenancy import tenant_scope
    from messaging.campaigns import engine, sending, sequences

    with time_machine.travel(T0, tick=True):
        enrollment = enrolled(enterprise_a, sequence, LONDON)
    worker_shutting_down.send(sender="celery@test", sig="SIGTERM", how="Warm", exitcode=0)
    try:
        assert tick(T0 + timedelta(seconds=1)) == 0  # the task goes to no workspace
        # A workspace's tick that was under way: its claimed steps are released unsent.
        with time_machine.travel(T0 + timedelta(seconds=1), tick=True), tenant_scope(enterprise_a.pk):
            result = sequences.sequences_tick(
                send=sending.sequence_step_send, replied_since=sending.replied_since, workspace_id=enterprise_a.pk
            )
    finally:
        engine.DRIVERS_STOP.clear()  # what a worker starting again does (worker_init)
    assert (result.claimed, result.sent) == (1, 0)
    assert twilio_api.messages == []
    progress = SequenceProgress.objects.get(enrollment=enrollment)
    assert progress.lease_token is None and progress.lease_expires_at is None

    assert tick(T0 + timedelta(seconds=2)) == 1  # the next worker's tick, at once
    assert bodies(twilio_api) == [(LONDON, "Hi Alan, welcome!")]
