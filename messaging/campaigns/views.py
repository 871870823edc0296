"""The dashboard's campaigns: the list with each campaign's counts (one grouped query for the
page), and cancelling a campaign that has not started (the API's campaign_cancel)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from leadhub.web.access import workspace_page
from leadhub.web.paging import keyset_page

from . import selectors, services
from .models import Campaign


@workspace_page
@require_GET
def campaigns(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") if request.GET.get("status") in Campaign.Status.values else ""
    page = keyset_page(
        selectors.campaigns_list(workspace=request.workspace, status=status or None), request.GET.get("cursor")
    )
    counts = selectors.campaign_counts(campaign_ids=[campaign.pk for campaign in page.items])
    rows = [{"campaign": campaign, "counts": counts.get(campaign.pk, {})} for campaign in page.items]
    return render(
        request,
        "campaigns/campaigns.html",
        {"section": "campaigns", "page": page, "rows": rows, "status": status, "statuses": Campaign.Status.choices},
    )


@workspace_page
@require_POST
def campaign_cancel(request: HttpRequest, campaign_id: str) -> HttpResponse:
    campaign = selectors.campaign_get(workspace=request.workspace, campaign_id=campaign_id)
    try:
        services.campaign_cancel(workspace=request.workspace, campaign=campaign)
    except services.CampaignStarted as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"“{campaign.name or campaign.scenario}” is cancelled: nobody will be messaged.")
    return redirect(reverse("web:campaigns", args=[request.workspace.pk]))
