"""The dashboard's bookings: the list (by status, upcoming or all), a lead's bookings on its
page, and cancelling one (the same booking_cancel as the API: booking.cancelled, the ICS
METHOD:CANCEL to both sides)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from crm.contacts.selectors import contact_get
from leadhub.web.access import workspace_page
from leadhub.web.paging import keyset_page

from .bookings import selectors, services
from .models import Booking

CANCEL_REASON_MAX = 500


@workspace_page
@require_GET
def bookings(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status") if request.GET.get("status") in Booking.Status.values else ""
    upcoming = request.GET.get("when") != "all"
    filters = {"status": status or None}
    if upcoming:
        filters["from"] = timezone.now()
    queryset = selectors.bookings_list(workspace=request.workspace, filters=filters).select_related("contact")
    page = keyset_page(queryset, request.GET.get("cursor"))
    return render(
        request,
        "booking/bookings.html",
        {
            "section": "bookings",
            "page": page,
            "status": status,
            "statuses": Booking.Status.choices,
            "upcoming": upcoming,
        },
    )


@workspace_page
@require_POST
def booking_cancel(request: HttpRequest, booking_id: str) -> HttpResponse:
    booking = selectors.booking_get(workspace=request.workspace, booking_id=booking_id)
    reason = request.POST.get("reason", "").strip()[:CANCEL_REASON_MAX]
    if booking.status != Booking.Status.CANCELLED:
        services.booking_cancel(workspace=request.workspace, booking=booking, reason=reason)
        messages.success(request, f"The booking of {booking.name} is cancelled; both sides get the cancellation.")
    back = request.POST.get("next", "")
    if back.startswith(f"/w/{request.workspace.pk}/"):
        return redirect(back)
    return redirect(reverse("web:bookings", args=[request.workspace.pk]))


@workspace_page
@require_GET
def contact_bookings(request: HttpRequest, contact_id: str) -> HttpResponse:
    """The lead page's bookings panel (loaded by htmx)."""
    contact = contact_get(workspace=request.workspace, contact_id=contact_id)
    rows = selectors.bookings_list(workspace=request.workspace, filters={"contact": contact.pk}).order_by(
        "-created_at"
    )[:20]
    return render(request, "booking/_contact_bookings.html", {"contact": contact, "bookings": list(rows)})
