"""The dashboard's pages that span apps: the agency view, a workspace's stats with charts, and
CSV import and export of its leads."""

import csv
import datetime
import json

from django import forms
from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from accounts.selectors import agencies_staffed
from crm.contacts.fields import REPRESENTATION, contact_representation
from crm.contacts.selectors import contacts_list
from crm.stats.selectors import workspace_stats
from crm.views import lead_filters
from leadhub.tenancy import streamed_in_scope
from leadhub.web.access import error_page, workspace_page

from . import imports
from .models import ContactImport
from .selectors import agency_overview, speed_to_lead

STATS_RANGES = (7, 30, 90)
# The export is the API's representation of each lead, a column per field in its order (the
# fields the import takes under the names it maps, so an export imports again), and the owner's
# username for people.
EXPORT_COLUMNS = (*REPRESENTATION, "owner")


@workspace_page
@require_GET
def workspace_home(request: HttpRequest) -> HttpResponse:
    return redirect(reverse("web:leads", args=[request.workspace.pk]))


# --- Agency ----------------------------------------------------------------------------------


@require_GET
def agency(request: HttpRequest) -> HttpResponse:
    """Every workspace of the agency side by side; for its staff only (others: 404)."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    agencies = list(agencies_staffed(user=request.user))
    if not agencies:
        return error_page(request, 404)
    chosen = next((a for a in agencies if str(a.pk) == request.GET.get("agency")), agencies[0])
    days = _days(request)
    # The agency's staff see its workspaces side by side: across workspaces, through the named
    # lookup of row-level security (dashboard/selectors.py).
    overview = agency_overview(agency=chosen, person=request.user, days=days)
    return render(
        request,
        "dashboard/agency.html",
        {"agency": chosen, "agencies": agencies, "overview": overview, "days": days, "ranges": STATS_RANGES},
    )


def _days(request: HttpRequest) -> int:
    try:
        days = int(request.GET.get("days", 7))
    except ValueError:
        return 7
    return days if days in STATS_RANGES else 7


# --- Stats -----------------------------------------------------------------------------------


def _chart(kind: str, labels: list, datasets: list[dict], **options) -> dict:
    return {
        "type": kind,
        "data": {"labels": labels, "datasets": datasets},
        "options": {"responsive": True, "maintainAspectRatio": False, "animation": False, **options},
    }


@workspace_page
@require_GET
def stats(request: HttpRequest) -> HttpResponse:
    workspace = request.workspace
    days = _days(request) if request.GET.get("days") else 30
    end = timezone.now()
    start = (end - datetime.timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    figures = workspace_stats(workspace=workspace, start=start, end=end)
    speed = speed_to_lead(workspace_ids=[workspace.pk], since=start, until=end).get(workspace.pk, {})
    leads_in_range = figures["leads"]["in_range"]
    deliveries = figures["webhook_deliveries"]
    charts = {
        "per_day": _chart(
            "line",
            [day["date"].isoformat() for day in figures["new_per_day"]],
            [{"label": "New leads", "data": [day["count"] for day in figures["new_per_day"]], "tension": 0.2}],
        ),
        "by_source": _chart(
            "bar",
            [row["source"] or "(none)" for row in figures["by_source"][:12]],
            [{"label": "Leads", "data": [row["count"] for row in figures["by_source"][:12]]}],
            indexAxis="y",
        ),
        "funnel": _chart(
            "bar",
            ["New", "Qualified", "Booked"],
            [{"label": "Leads", "data": [leads_in_range, figures["qualified"], figures["booked"]]}],
            indexAxis="y",
        ),
        "webhooks": _chart(
            "doughnut",
            ["Succeeded", "Failed", "Pending"],
            [
                {
                    "data": [deliveries["succeeded"], deliveries["failed"], deliveries["pending"]],
                    "backgroundColor": ["#15803d", "#b91c1c", "#a16207"],
                }
            ],
        ),
    }
    delivered = deliveries["succeeded"] + deliveries["failed"]
    return render(
        request,
        "dashboard/stats.html",
        {
            "section": "stats",
            "figures": figures,
            "days": days,
            "ranges": STATS_RANGES,
            "speed": speed,
            "charts": charts,
            "success_rate": round(100 * deliveries["succeeded"] / delivered, 1) if delivered else None,
        },
    )


# --- CSV export -------------------------------------------------------------------------------


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(name: str, value) -> object:
    """A representation's value as a spreadsheet shows it."""
    if name == "disposition_status":
        return value["name"] if value else ""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ";".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True) if value else ""
    return value


def _export_rows(queryset):
    writer = csv.writer(_Echo())
    yield writer.writerow(EXPORT_COLUMNS)
    for contact in queryset.iterator(chunk_size=1000):
        data = contact_representation(contact)
        data["owner"] = contact.owner.get_username() if contact.owner else ""
        yield writer.writerow([_cell(name, data[name]) for name in EXPORT_COLUMNS])


@workspace_page
@require_GET
def leads_export(request: HttpRequest) -> StreamingHttpResponse:
    """The list as filtered, streamed row by row: memory stays flat however many leads."""
    _form, filters = lead_filters(request)
    queryset = contacts_list(workspace=request.workspace, filters=filters).select_related("owner")
    stamp = timezone.now().strftime("%Y%m%d-%H%M")
    # Read as the server sends it, after the request: in the request's workspace still.
    response = StreamingHttpResponse(streamed_in_scope(_export_rows(queryset)), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="leads-{request.workspace.slug}-{stamp}.csv"'
    return response


# --- CSV import -------------------------------------------------------------------------------


class UploadForm(forms.Form):
    file = forms.FileField()


def _import_get(request: HttpRequest, import_id: str) -> ContactImport:
    try:
        return ContactImport.objects.get(workspace=request.workspace, pk=import_id)
    except (ContactImport.DoesNotExist, ValueError, forms.ValidationError):
        raise Http404("No such import.") from None


@workspace_page
@require_http_methods(["GET", "POST"])
def leads_import(request: HttpRequest) -> HttpResponse:
    """GET: the upload form and recent imports. POST: store the file, then map its columns."""
    form = UploadForm(request.POST or None, request.FILES or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                contact_import = imports.contact_import_create(
                    workspace=request.workspace,
                    user=request.user,
                    filename=upload.name,
                    raw=upload.read(settings.CSV_IMPORT_MAX_BYTES + 1),
                )
            except imports.ImportRefused as exc:
                form.add_error("file", str(exc))
            else:
                return redirect(reverse("web:leads-import-detail", args=[request.workspace.pk, contact_import.pk]))
        status = 400
    recent = ContactImport.objects.filter(workspace=request.workspace).defer("content", "rejected")[:10]
    return render(
        request,
        "dashboard/import.html",
        {
            "section": "leads",
            "form": form,
            "recent": recent,
            "max_mb": settings.CSV_IMPORT_MAX_BYTES // 1_000_000,
        },
        status=status,
    )


@workspace_page
@require_http_methods(["GET", "POST"])
def leads_import_detail(request: HttpRequest, import_id: str) -> HttpResponse:
    """Map the columns (while mapping), then the progress of the run."""
    contact_import = _import_get(request, import_id)
    error = None
    if request.method == "POST":
        mapping = {str(index): request.POST.get(f"column_{index}", "") for index in range(len(contact_import.columns))}
        try:
            contact_import = imports.contact_import_start(
                workspace=request.workspace,
                contact_import=contact_import,
                mapping={index: field for index, field in mapping.items() if field},
                update_existing=request.POST.get("update_existing") == "on",
            )
        except imports.ImportRefused as exc:
            error = str(exc)
            contact_import.mapping = {index: field for index, field in mapping.items() if field}
        else:
            return redirect(reverse("web:leads-import-detail", args=[request.workspace.pk, contact_import.pk]))
    sample = []
    if contact_import.status == ContactImport.Status.MAPPING:
        rows = imports._rows(contact_import.content[:20000])
        next(rows, None)
        for row in rows:
            sample.append(row)
            if len(sample) == 3:
                break
    columns = [
        {
            "index": index,
            "name": name,
            "field": contact_import.mapping.get(str(index), ""),
            "samples": [row[index] if index < len(row) else "" for row in sample],
        }
        for index, name in enumerate(contact_import.columns)
    ]
    return render(
        request,
        "dashboard/import_detail.html",
        {
            "section": "leads",
            "imp": contact_import,
            "columns": columns,
            "fields": imports.FIELDS,
            "error": error,
        },
        status=400 if error else 200,
    )


# htmx stops polling when an answer has this status (htmx's "stop polling" code).
HTMX_STOP_POLLING = 286


@workspace_page
@require_GET
def leads_import_progress(request: HttpRequest, import_id: str) -> HttpResponse:
    """The progress bar, polled by HTMX every second until the import is done."""
    contact_import = _import_get(request, import_id)
    response = render(request, "dashboard/_import_progress.html", {"imp": contact_import})
    if contact_import.is_done and request.htmx:
        response.status_code = HTMX_STOP_POLLING
    return response


@workspace_page
@require_GET
def leads_import_rejected(request: HttpRequest, import_id: str) -> StreamingHttpResponse:
    contact_import = _import_get(request, import_id)
    response = StreamingHttpResponse(
        streamed_in_scope(imports.rejected_report(contact_import)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="rejected-{contact_import.pk}.csv"'
    return response
