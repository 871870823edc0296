"""The admin console for campaigns: campaigns with their counts, each recipient's outcome, and
cancelling scheduled campaigns through the same service as the API."""

import pytest

from messaging.campaigns.models import Campaign, Recipient

from .conftest import campaign_body


@pytest.fixture
def campaigns(api):
    scheduled = api.post("/api/v1/campaigns", campaign_body(), format="json").json()
    started = api.post("/api/v1/campaigns", campaign_body(scenario="started"), format="json").json()
    Campaign.objects.filter(pk=started["id"]).update(status="running")
    return scheduled, started


def test_the_changelists_and_a_campaign_show_counts_and_outcomes(admin_client, campaigns):
    scheduled, _ = campaigns
    assert admin_client.get("/admin/campaigns/campaign/").status_code == 200
    page = admin_client.get(f"/admin/campaigns/campaign/{scheduled['id']}/change/")
    assert page.status_code == 200
    assert b"queued 2" in page.content
    listing = admin_client.get(f"/admin/campaigns/recipient/?campaign__id__exact={scheduled['id']}")
    assert listing.status_code == 200
    assert b"+18187405020" in listing.content


def test_the_cancel_action_cancels_only_what_has_not_started(admin_client, campaigns):
    scheduled, started = campaigns
    response = admin_client.post(
        "/admin/campaigns/campaign/",
        {"action": "cancel", "_selected_action": [scheduled["id"], started["id"]]},
        follow=True,
    )
    assert response.status_code == 200
    assert Campaign.objects.get(pk=scheduled["id"]).status == "cancelled"
    assert Campaign.objects.get(pk=started["id"]).status == "running"
    assert set(Recipient.objects.filter(campaign_id=scheduled["id"]).values_list("reason", flat=True)) == {"cancelled"}
