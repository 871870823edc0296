"""Native API routes of the CRM."""

from django.urls import path

from .catalog.api import RingGroupViewSet, SequenceViewSet, TagViewSet
from .contacts.api import ContactNoteViewSet, ContactTimelineViewSet, ContactViewSet
from .enrollments.api import SequenceEnrollmentViewSet
from .intake.api import IntakeView
from .stats.api import StatsView

_list = {"get": "list", "post": "create"}

urlpatterns = [
    path("webhook/forms", IntakeView.as_view(), name="lead-intake"),
    path("contacts", ContactViewSet.as_view(_list), name="contacts"),
    path(
        "contacts/<str:id>",
        ContactViewSet.as_view({"get": "retrieve", "patch": "partial_update", "delete": "destroy"}),
        name="contact",
    ),
    path("contacts/<str:id>/notes", ContactNoteViewSet.as_view(_list), name="contact-notes"),
    path("contacts/<str:id>/timeline", ContactTimelineViewSet.as_view({"get": "list"}), name="contact-timeline"),
    path("tags", TagViewSet.as_view(_list), name="tags"),
    path("ring-groups", RingGroupViewSet.as_view(_list), name="ring-groups"),
    path("sequences", SequenceViewSet.as_view(_list), name="sequences"),
    path("sequences/<str:id>/enrollments", SequenceEnrollmentViewSet.as_view(_list), name="sequence-enrollments"),
    path(
        "sequences/<str:id>/enrollments/<str:contact_id>",
        SequenceEnrollmentViewSet.as_view({"delete": "destroy"}),
        name="sequence-enrollment",
    ),
    path("stats", StatsView.as_view(), name="stats"),
]
