"""Reads for campaigns: one access gate (another workspace's campaign is a 404, like a missing
one) and the counts by status."""

from django.core.exceptions import ValidationError
from django.db.models import Count, QuerySet
from django.http import Http404

from accounts.models import Workspace

from .models import Campaign, Recipient

COUNTED = ("queued", "sent", "delivered", "failed", "skipped")


def campaigns_list(*, workspace: Workspace, status: str | None = None) -> QuerySet[Campaign]:
    campaigns = Campaign.objects.filter(workspace=workspace).select_related("line")
    if status:
        campaigns = campaigns.filter(status=status)
    return campaigns


def campaign_get(*, workspace: Workspace, campaign_id) -> Campaign:
    try:
        return campaigns_list(workspace=workspace).get(pk=campaign_id)
    except (Campaign.DoesNotExist, ValueError, ValidationError):
        raise Http404("No such campaign.") from None


def campaign_counts(*, campaign_ids: list) -> dict:
    """{campaign_id: {queued, sent, delivered, failed, skipped}} in one query; a recipient being
    handed to the provider counts as queued until the provider has answered."""
    counts = {pk: dict.fromkeys(COUNTED, 0) for pk in campaign_ids}
    rows = (
        Recipient.objects.filter(campaign_id__in=campaign_ids)
        .values_list("campaign_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    for campaign_id, status, n in rows:
        key = "queued" if status == Recipient.Status.SENDING else status
        counts[campaign_id][key] += n
    return counts


def recipients_list(*, campaign: Campaign, status: str | None = None) -> QuerySet[Recipient]:
    recipients = Recipient.objects.filter(campaign=campaign)
    if status:
        recipients = recipients.filter(status=status)
    return recipients
