"""Native API routes of booking: /availability, /calendly and /bookings."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from .availability.api import AvailabilityView
from .bookings.api import BookingViewSet
from .calendly.api import CalendlyConnectionView

router = SimpleRouter(trailing_slash=False, use_regex_path=False)
router.register("bookings", BookingViewSet, basename="booking")

urlpatterns = [
    path("availability", AvailabilityView.as_view(), name="availability"),
    path("calendly", CalendlyConnectionView.as_view(), name="calendly"),
    *router.urls,
]
