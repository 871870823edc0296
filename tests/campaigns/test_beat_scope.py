"""Beat's campaign and sequence ticks find due work across workspaces, then do each workspace's
work in that workspace's own scope (row-level security, leadhub/tenancy.py): run through
Celery's own call path (`apply()`, whose task_prerun clears the test's scope)."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from accounts.models import Plan
from crm.catalog.services import sequence_create, sequence_enroll
from crm.models import Contact
from crm.normalize import parse_phone
from leadhub import tenancy
from messaging.campaigns import leases, sequences, tasks
from messaging.campaigns.models import Campaign, SequenceSend
from messaging.lines.services import Credentials, line_connect
from tests.scope_probe import record_scopes

from .conftest import campaign_body

pytestmark = pytest.mark.django_db(transaction=True)  # Celery's task_prerun closes old connections

T0 = datetime(2026, 12, 1, 18, 0, tzinfo=UTC)  # 10:00 in Los Angeles, 18:00 in London


@pytest.fixture
def enterprise_b(workspace_b, twilio_api):
    """Workspace B on the enterprise plan, with a line verified against its own account."""
    workspace_b.plan = Plan.objects.get(code=Plan.ENTERPRISE)
    workspace_b.save(update_fields=["plan"])
    account, token, number = "AC" + "b" * 32, "token-" + "b" * 26, "+18187400009"
    twilio_api.add_number(account, token, number)
    line_connect(
        workspace=workspace_b,
        name="B",
        phone=parse_phone(number, default_region="US"),
        credentials=Credentials(provider="twilio", account_sid=account, auth_token=token),
    )
    return workspace_b


def scheduled(client) -> str:
    response = client.post("/api/v1/campaigns", campaign_body(schedule_at="2026-12-01T18:00:00Z"), format="json")
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def test_the_campaign_tick_starts_and_kicks_each_workspaces_campaigns_in_its_own_scope(
    sender_api, enterprise_a, enterprise_b, make_key, client_for, monkeypatch
):
    with time_machine.travel(T0 - timedelta(hours=1), tick=True):
        campaign_a = scheduled(sender_api)
        campaign_b = scheduled(client_for(make_key(enterprise_b)))
    started = record_scopes(monkeypatch, leases, "campaigns_start_due", key=lambda **kw: str(kw["workspace_id"]))
    driven = record_scopes(monkeypatch, leases, "campaign_lease_take", key=lambda campaign_id, **kw: str(campaign_id))
    enqueued = []
    monkeypatch.setattr(tasks.campaign_drive, "delay", lambda *args: enqueued.append(args))

    with time_machine.travel(T0 + timedelta(seconds=1), tick=True):
        kicked = tasks.campaigns_tick.apply().get()

    a, b = str(enterprise_a.pk), str(enterprise_b.pk)
    assert sorted(started) == sorted([(a, (a, "")), (b, (b, ""))])
    assert {campaign for campaign, _ in driven} == {campaign_a, campaign_b}
    assert all(scope == ((a, "") if campaign == campaign_a else (b, "")) for campaign, scope in driven), driven
    assert kicked == len(enqueued) > 0
    assert {campaign_id for campaign_id, _ in enqueued} == {campaign_a, campaign_b}
    assert set(Campaign.objects.values_list("status", flat=True)) == {"running"}
    assert tenancy.wanted() == ("", "tests")  # task_postrun gave the test its scope back


def test_one_workspaces_failing_tick_leaves_the_others_campaigns_going(
    sender_api, enterprise_a, enterprise_b, make_key, client_for, monkeypatch
):
    with time_machine.travel(T0 - timedelta(hours=1), tick=True):
        campaign_a = scheduled(sender_api)
        scheduled(client_for(make_key(enterprise_b)))
    kick = leases.campaigns_kick

    def failing_in_b(*, workspace_id, now):
        if str(workspace_id) == str(enterprise_b.pk):
            raise RuntimeError("B's tick breaks")
        return kick(workspace_id=workspace_id, now=now)

    monkeypatch.setattr(leases, "campaigns_kick", failing_in_b)
    enqueued = []
    monkeypatch.setattr(tasks.campaign_drive, "delay", lambda *args: enqueued.append(args))

    with time_machine.travel(T0 + timedelta(seconds=1), tick=True):
        assert tasks.campaigns_tick.apply().get() > 0

    assert {campaign_id for campaign_id, _ in enqueued} == {campaign_a}


def test_the_sequence_tick_sends_each_workspaces_steps_in_its_own_scope(
    enterprise_a, verified_line, workspace_b, twilio_api, monkeypatch
):
    with time_machine.travel(T0, tick=True):
        enrollments = {}
        for workspace, phone in ((enterprise_a, "+18187405020"), (workspace_b, "+18187405021")):
            sequence = sequence_create(
                workspace=workspace, name="Welcome", steps=[{"delay_minutes": 0, "message": "Hi"}]
            )
            contact = Contact.objects.create(workspace=workspace, phone_number=phone)
            enrollments[str(workspace.pk)] = sequence_enroll(contact=contact, sequence=sequence)
    started = record_scopes(monkeypatch, sequences, "progress_start", key=lambda **kw: str(kw["workspace_id"]))
    stepped = record_scopes(monkeypatch, sequences, "_step", key=lambda progress, **kw: str(progress.workspace_id))

    with time_machine.travel(T0 + timedelta(seconds=1), tick=True):
        assert tasks.sequences_tick.apply().get() == 1  # A's step; B has no line

    a, b = str(enterprise_a.pk), str(workspace_b.pk)
    assert sorted(started) == sorted([(a, (a, "")), (b, (b, ""))])
    assert sorted(stepped) == sorted([(a, (a, "")), (b, (b, ""))])
    sends = {str(row.workspace_id): (row.status, row.reason) for row in SequenceSend.objects.all()}
    assert sends == {a: ("sent", ""), b: ("skipped", "no_line")}
    assert [m["To"] for m in twilio_api.messages] == ["+18187405020"]


def test_the_sequence_tick_shares_one_batch_between_the_workspaces(enterprise_a, workspace_b, monkeypatch):
    monkeypatch.setattr(sequences, "BATCH", 3)
    with time_machine.travel(T0, tick=True):
        for workspace, base in ((enterprise_a, 5030), (workspace_b, 5040)):
            sequence = sequence_create(
                workspace=workspace, name="Welcome", steps=[{"delay_minutes": 0, "message": "Hi"}]
            )
            for n in range(2):
                contact = Contact.objects.create(workspace=workspace, phone_number=f"+1818740{base + n}")
                sequence_enroll(contact=contact, sequence=sequence)

    with time_machine.travel(T0 + timedelta(seconds=1), tick=True):
        tasks.sequences_tick.apply().get()
        assert SequenceSend.objects.count() == 3  # no line anywhere: each step skipped, 3 a tick
        tasks.sequences_tick.apply().get()
        assert SequenceSend.objects.count() == 4
