"""The dashboard's webhook pages (admins only, SPEC §3): endpoints, each endpoint's delivery log
by status, a delivery's attempts with the response excerpt, replay of one, of the ticked ones
and of every failed one since a time, give up, disable and re-enable. The same services as
the API and the admin."""

import datetime
import json
import uuid

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadhub.web.access import workspace_page
from leadhub.web.paging import keyset_page

from . import selectors, services
from .events import EVENT_TYPES
from .models import Delivery

HEALTH_WINDOW = datetime.timedelta(days=7)
STATUSES = [value for value, _ in Delivery.Status.choices]


def _actor(request: HttpRequest) -> str:
    return f"dashboard:{request.user.get_username()}"


class EndpointForm(forms.Form):
    url = forms.CharField(max_length=2000, strip=True)
    description = forms.CharField(max_length=500, required=False, strip=True)
    event_types = forms.MultipleChoiceField(
        choices=[(event_type, event_type) for event_type in EVENT_TYPES],
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )


def _endpoints_page(request: HttpRequest, form: EndpointForm, *, new=None, status: int = 200) -> HttpResponse:
    workspace = request.workspace
    endpoints = list(selectors.endpoints_list(workspace=workspace).order_by("-created_at"))
    # Each endpoint's last 7 days by status: one grouped query, whatever the number of endpoints.
    since = timezone.now() - HEALTH_WINDOW
    counts = {
        row["endpoint_id"]: row
        for row in selectors.deliveries_list(workspace=workspace)
        .filter(created_at__gte=since)
        .values("endpoint_id")
        .annotate(
            succeeded=Count("id", filter=Q(status=Delivery.Status.SUCCEEDED)),
            failed=Count("id", filter=Q(status=Delivery.Status.FAILED)),
            pending=Count("id", filter=Q(status=Delivery.Status.PENDING)),
        )
        .order_by()
    }
    rows = [{"endpoint": endpoint, "counts": counts.get(endpoint.pk, {})} for endpoint in endpoints]
    return render(
        request,
        "webhooks/endpoints.html",
        {
            "section": "webhooks",
            "rows": rows,
            "form": form,
            "new": new,
            "event_types": EVENT_TYPES,
            "plan_allows": workspace.plan.webhooks,
        },
        status=status,
    )


@workspace_page(admin=True)
@require_http_methods(["GET", "POST"])
def endpoints(request: HttpRequest) -> HttpResponse:
    """GET lists the endpoints; POST adds one and shows its signing secret this once."""
    if request.method == "GET":
        return _endpoints_page(request, EndpointForm())
    form = EndpointForm(request.POST)
    if not form.is_valid():
        return _endpoints_page(request, form, status=400)
    try:
        new = services.endpoint_create(
            workspace=request.workspace,
            url=form.cleaned_data["url"],
            description=form.cleaned_data["description"],
            event_types=form.cleaned_data["event_types"],
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _endpoints_page(request, form, status=400)
    except services.EndpointLimitReached as exc:
        form.add_error(None, str(exc))
        return _endpoints_page(request, form, status=403)
    response = _endpoints_page(request, EndpointForm(), new=new)
    response["Cache-Control"] = "no-store"
    return response


@workspace_page(admin=True)
@require_GET
def endpoint(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    workspace = request.workspace
    endpoint = selectors.endpoint_get(workspace=workspace, endpoint_id=endpoint_id)
    status = request.GET.get("status") if request.GET.get("status") in STATUSES else ""
    page = keyset_page(
        selectors.deliveries_list(workspace=workspace, endpoint=endpoint, status=status or None),
        request.GET.get("cursor"),
    )
    context = {
        "section": "webhooks",
        "endpoint": endpoint,
        "page": page,
        "status": status,
        "statuses": STATUSES,
        "default_since": (timezone.now() - datetime.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M"),
    }
    if request.htmx and request.htmx.target == "deliveries":
        return render(request, "webhooks/_deliveries.html", context)
    return render(request, "webhooks/endpoint.html", context)


@workspace_page(admin=True)
@require_POST
def endpoint_enabled(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    """Disable, or re-enable: its pending deliveries resume and its health clock restarts."""
    endpoint = selectors.endpoint_get(workspace=request.workspace, endpoint_id=endpoint_id)
    enabled = request.POST.get("enabled") == "true"
    services.endpoint_update(workspace=request.workspace, endpoint=endpoint, enabled=enabled)
    messages.success(request, "Endpoint enabled: deliveries resume." if enabled else "Endpoint disabled.")
    return redirect(reverse("web:webhook", args=[request.workspace.pk, endpoint.pk]))


class SinceForm(forms.Form):
    since = forms.DateTimeField(input_formats=["%Y-%m-%dT%H:%M", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d"])


@workspace_page(admin=True)
@require_POST
def endpoint_replay(request: HttpRequest, endpoint_id: str) -> HttpResponse:
    """Bulk replay: every failed delivery since a time (UTC), or the ticked deliveries."""
    workspace = request.workspace
    endpoint = selectors.endpoint_get(workspace=workspace, endpoint_id=endpoint_id)
    ticked = request.POST.getlist("delivery")
    if ticked:
        deliveries = list(
            selectors.deliveries_list(workspace=workspace, endpoint=endpoint)
            .select_related("endpoint")
            .filter(pk__in=[value for value in ticked if _is_uuid(value)])
        )
        replays = services.deliveries_replay(workspace=workspace, deliveries=deliveries, actor=_actor(request))
    else:
        form = SinceForm(request.POST)
        if not form.is_valid():
            messages.error(request, "Give the time from which to replay failed deliveries.")
            return redirect(reverse("web:webhook", args=[workspace.pk, endpoint.pk]))
        since = form.cleaned_data["since"]
        if timezone.is_naive(since):
            since = timezone.make_aware(since, datetime.UTC)
        try:
            replays = services.deliveries_replay_failed(
                workspace=workspace, endpoint=endpoint, since=since, actor=_actor(request)
            )
        except services.ReplayRunning as exc:
            messages.error(request, str(exc))
            return redirect(reverse("web:webhook", args=[workspace.pk, endpoint.pk]))
    messages.success(request, f"{len(replays)} deliveries replayed.")
    return redirect(reverse("web:webhook", args=[workspace.pk, endpoint.pk]))


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@workspace_page(admin=True)
@require_GET
def delivery(request: HttpRequest, delivery_id: str) -> HttpResponse:
    delivery = selectors.delivery_get(workspace=request.workspace, delivery_id=delivery_id)
    return render(
        request,
        "webhooks/delivery.html",
        {
            "section": "webhooks",
            "delivery": delivery,
            "attempts": list(delivery.attempts.all()),
            "payload": json.dumps(delivery.event.envelope(), indent=2),
        },
    )


@workspace_page(admin=True)
@require_POST
def delivery_replay(request: HttpRequest, delivery_id: str) -> HttpResponse:
    delivery = selectors.delivery_get(workspace=request.workspace, delivery_id=delivery_id)
    replay = services.delivery_replay(workspace=request.workspace, delivery=delivery, actor=_actor(request))
    messages.success(request, "Replayed: a new attempt series of the same event (the same webhook-id).")
    return redirect(reverse("web:delivery", args=[request.workspace.pk, replay.pk]))


@workspace_page(admin=True)
@require_POST
def delivery_give_up(request: HttpRequest, delivery_id: str) -> HttpResponse:
    delivery = selectors.delivery_get(workspace=request.workspace, delivery_id=delivery_id)
    if services.deliveries_give_up(workspace=request.workspace, deliveries=[delivery], actor=_actor(request)):
        messages.success(request, "Given up: the delivery is failed, and may still be replayed.")
    return redirect(reverse("web:delivery", args=[request.workspace.pk, delivery.pk]))
