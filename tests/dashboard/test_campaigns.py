"""Campaigns in the dashboard: the list with each campaign's counts, and cancel before start."""

import pytest

from messaging.campaigns.models import Campaign, Recipient

from .conftest import logged_in

pytestmark = pytest.mark.django_db


def url(workspace, rest=""):
    return f"/w/{workspace.pk}/campaigns/{rest}"


def test_the_list_shows_each_campaign_with_its_counts(owner_client, workspace_a, campaign_a):
    Recipient.objects.filter(campaign=campaign_a, phone="+18187405021").update(status="skipped")
    response = owner_client.get(url(workspace_a))
    assert response.status_code == 200
    (row,) = response.context["rows"]
    assert row["counts"] == {"queued": 1, "sent": 0, "delivered": 0, "failed": 0, "skipped": 1}
    page = response.content.decode()
    assert "December reminders" in page and "2 recipients" in page


def test_the_list_costs_the_same_queries_for_many_campaigns(
    owner_client, workspace_a, campaign_a, django_assert_max_num_queries
):
    with django_assert_max_num_queries(9):
        owner_client.get(url(workspace_a))


def test_cancel_before_start_skips_every_recipient(agent_client, workspace_a, campaign_a):
    response = agent_client.post(url(workspace_a, f"{campaign_a.pk}/cancel"))
    assert response.status_code == 302
    campaign_a.refresh_from_db()
    assert campaign_a.status == "cancelled"
    assert set(Recipient.objects.filter(campaign=campaign_a).values_list("status", flat=True)) == {"skipped"}
    assert b"is cancelled" in agent_client.get(response["Location"]).content


def test_cancel_after_start_says_why_and_changes_nothing(owner_client, workspace_a, campaign_a):
    Campaign.objects.filter(pk=campaign_a.pk).update(status="running")
    response = owner_client.post(url(workspace_a, f"{campaign_a.pk}/cancel"))
    assert b"only a scheduled campaign can be cancelled" in owner_client.get(response["Location"]).content
    campaign_a.refresh_from_db()
    assert campaign_a.status == "running"


def test_a_campaign_of_another_workspace_is_404(owner_client, workspace_a, outsider, workspace_b, campaign_a):
    response = logged_in(outsider).post(f"/w/{workspace_b.pk}/campaigns/{campaign_a.pk}/cancel")
    assert response.status_code == 404
    campaign_a.refresh_from_db()
    assert campaign_a.status == "scheduled"


def test_no_campaign_yet_says_how_they_are_made(owner_client, workspace_a):
    assert b"POST /api/v1/campaigns" in owner_client.get(url(workspace_a)).content
