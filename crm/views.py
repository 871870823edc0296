"""The dashboard's lead pages: the list (search as the API's `q`, filters, keyset pages, HTMX
partial updates) and a lead's page (fields, timeline, notes, tags, owner, status, consent).

Every write calls the service the API calls; the views only parse forms and render.
"""

import datetime
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_POST

from leadhub.web.access import workspace_page
from leadhub.web.paging import keyset_page

from .catalog import selectors as catalog
from .contacts import selectors, services
from .models import Contact, TimelineEntry

SOURCE = "dashboard"  # on the timeline: who made a change
NOTE_MAX_LENGTH = 10_000  # as the notes API
TIMELINE_LIMIT = 100
NOTES_LIMIT = 50


class LeadFilterForm(forms.Form):
    """The list's filters: the API's (SPEC §5.4) with dates instead of instants."""

    q = forms.CharField(required=False, max_length=200)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Contact.Status.choices])
    tag = forms.CharField(required=False, max_length=100)
    owner = forms.TypedChoiceField(required=False, coerce=int, empty_value=None)
    source = forms.CharField(required=False, max_length=100)
    hot = forms.TypedChoiceField(
        required=False,
        choices=[("", "Hot or not"), ("true", "Hot only"), ("false", "Not hot")],
        coerce=lambda value: value == "true",
        empty_value=None,
    )
    created_after = forms.DateField(required=False)
    created_before = forms.DateField(required=False)

    def __init__(self, *args, owners=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["owner"].choices = [("", "Anyone"), *((user.pk, user.get_username()) for user in owners)]

    def selector_filters(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        # Dates are whole days in UTC: "before 2026-11-30" includes the 29th.
        if data.get("created_after"):
            data["created_after"] = datetime.datetime.combine(data["created_after"], datetime.time(), datetime.UTC)
        if data.get("created_before"):
            data["created_before"] = datetime.datetime.combine(
                data["created_before"] + datetime.timedelta(days=1), datetime.time(), datetime.UTC
            )
        return data


def lead_filters(request: HttpRequest) -> tuple[LeadFilterForm, dict[str, Any]]:
    """The list's filter form bound to the query string and the selector's filters from it
    (an invalid filter is shown as such and left out); the CSV export uses the same."""
    owners = list(selectors.workspace_users(workspace=request.workspace).order_by("username")[:500])
    form = LeadFilterForm(request.GET or None, owners=owners)
    if form.is_bound and form.is_valid():
        return form, form.selector_filters()
    if form.is_bound:
        return form, {key: value for key, value in form.cleaned_data.items() if key not in form.errors}
    return form, {}


@workspace_page
@require_GET
def leads(request: HttpRequest) -> HttpResponse:
    form, filters = lead_filters(request)
    queryset = (
        selectors.contacts_list(workspace=request.workspace, filters=filters)
        .select_related("owner")
        .prefetch_related(None)  # tags come below, as names, in one query
    )
    page = keyset_page(queryset, request.GET.get("cursor"))
    _attach_tag_names(page.items)
    context = {
        "section": "leads",
        "form": form,
        "page": page,
        "filtered": any(value not in (None, "") for value in filters.values()),
        "tags": catalog.tags_list(workspace=request.workspace).only("name"),
        "query": request.GET.copy(),
    }
    if request.htmx and request.htmx.target == "results":
        return render(request, "crm/_leads_results.html", context)
    return render(request, "crm/leads.html", context)


def _attach_tag_names(contacts: list[Contact]) -> None:
    """contact.tag_names for a page of contacts, in one query (a related manager per row
    would clone a queryset 50 times a page)."""
    names: dict = {contact.pk: [] for contact in contacts}
    rows = Contact.tags.through.objects.filter(contact_id__in=list(names)).values_list("contact_id", "tag__name")
    for contact_id, name in rows.order_by("tag__name"):
        names[contact_id].append(name)
    for contact in contacts:
        contact.tag_names = names[contact.pk]


# --- A lead --------------------------------------------------------------------------------


def _describe(entry: TimelineEntry) -> str:
    """One line for a timeline entry, as a person reads it."""
    data = entry.data or {}
    kind = entry.kind
    if kind == TimelineEntry.Kind.CREATED:
        return f"Lead created from {data.get('source') or 'an unknown source'}"
    if kind == TimelineEntry.Kind.INTAKE:
        fields = ", ".join(data.get("fields") or []) or "no fields"
        return f"Submitted again through {data.get('source') or 'intake'} ({fields})"
    if kind == TimelineEntry.Kind.UPDATED:
        return f"Updated by {data.get('source') or 'someone'}: {', '.join(data.get('fields') or [])}"
    if kind == TimelineEntry.Kind.NOTE:
        return f"Note: {data.get('excerpt', '')}"
    if kind == TimelineEntry.Kind.STATUS:
        return f"Status {data.get('from')} → {data.get('to')}"
    if kind == TimelineEntry.Kind.OWNER:
        return "Owner changed" if data.get("owner_id") else "Owner removed"
    if kind == TimelineEntry.Kind.TAG:
        added, removed = data.get("added") or [], data.get("removed") or []
        added = [added] if isinstance(added, str) else added
        parts = [f"+{name}" for name in added] + [f"−{name}" for name in removed]
        return "Tags " + " ".join(parts)
    if kind == TimelineEntry.Kind.DISPOSITION:
        return f"Disposition: {data.get('disposition')}"
    if kind == TimelineEntry.Kind.SEQUENCE:
        return f"Enrolled in sequence {data.get('name')}"
    if kind == TimelineEntry.Kind.POWER_DIALER:
        return "Queued in the power dialer"
    if kind == TimelineEntry.Kind.LINE:
        return "Line attached"
    text = ", ".join(f"{key}: {value}" for key, value in data.items())
    return f"{kind.replace('_', ' ').capitalize()}{': ' + text if text else ''}"


def _lead_context(request: HttpRequest, contact: Contact, **extra) -> dict[str, Any]:
    timeline = [
        {"entry": entry, "text": _describe(entry)}
        for entry in selectors.contact_timeline(contact=contact)[:TIMELINE_LIMIT]
    ]
    notes = list(selectors.contact_notes(contact=contact).select_related("author")[:NOTES_LIMIT])
    return {
        "section": "leads",
        "contact": contact,
        "timeline": timeline,
        "notes": notes,
        "contact_tags": {tag.pk for tag in contact.tags.all()},
        **extra,
    }


def _contact(request: HttpRequest, contact_id: str) -> Contact:
    contact = selectors.contact_get(workspace=request.workspace, contact_id=contact_id)
    if contact.owner_id:
        # One query for the owner's name (contacts_base loads tags and disposition already).
        contact.owner = selectors.workspace_users(workspace=request.workspace).filter(pk=contact.owner_id).first()
    return contact


@workspace_page
@require_GET
def lead(request: HttpRequest, contact_id: str) -> HttpResponse:
    contact = _contact(request, contact_id)
    context = _lead_context(
        request,
        contact,
        all_tags=list(catalog.tags_list(workspace=request.workspace)),
        owners=list(selectors.workspace_users(workspace=request.workspace).order_by("username")[:500]),
        statuses=Contact.Status.choices,
    )
    return render(request, "crm/lead.html", context)


class NoteForm(forms.Form):
    body = forms.CharField(max_length=NOTE_MAX_LENGTH, strip=True)


@workspace_page
@require_POST
def lead_note(request: HttpRequest, contact_id: str) -> HttpResponse:
    contact = _contact(request, contact_id)
    form = NoteForm(request.POST)
    if form.is_valid():
        services.note_create(contact=contact, body=form.cleaned_data["body"], author=request.user)
    if request.htmx:
        # The activity column again: the new note on the timeline, the form empty (or its error).
        context = _lead_context(request, contact, note_form=None if form.is_valid() else form)
        return render(request, "crm/_lead_activity.html", context)
    if not form.is_valid():
        messages.error(request, "A note needs some text (at most 10,000 characters).")
    return redirect(reverse("web:lead", args=[request.workspace.pk, contact.pk]))


@workspace_page
@require_POST
def lead_tags(request: HttpRequest, contact_id: str) -> HttpResponse:
    """Make the lead's tags exactly the ticked ones (the API's PATCH of `tags`)."""
    contact = _contact(request, contact_id)
    wanted = {str(value) for value in request.POST.getlist("tags")}
    tags = [tag for tag in catalog.tags_list(workspace=request.workspace) if str(tag.pk) in wanted]
    if services.contact_set_tags(contact=contact, tags=tags, source=SOURCE):
        messages.success(request, "Tags saved.")
    return redirect(reverse("web:lead", args=[request.workspace.pk, contact.pk]))


class LeadWorkForm(forms.Form):
    status = forms.ChoiceField(choices=Contact.Status.choices)
    owner = forms.CharField(required=False)


@workspace_page
@require_POST
def lead_update(request: HttpRequest, contact_id: str) -> HttpResponse:
    """Owner and status: the same contact_update the API's PATCH calls (lead.updated, timeline)."""
    contact = _contact(request, contact_id)
    form = LeadWorkForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Choose a status from the list.")
        return redirect(reverse("web:lead", args=[request.workspace.pk, contact.pk]))
    owner_id = form.cleaned_data["owner"]
    owner = selectors.workspace_user_get(workspace=request.workspace, user_id=owner_id) if owner_id else None
    values = {}
    if contact.status != form.cleaned_data["status"]:
        values["status"] = form.cleaned_data["status"]
    if contact.owner_id != (owner.pk if owner else None):
        values["owner"] = owner
    if values:
        services.contact_update(contact=contact, values=values, actor=request.user, source=SOURCE)
        messages.success(request, "Lead saved.")
    return redirect(reverse("web:lead", args=[request.workspace.pk, contact.pk]))
