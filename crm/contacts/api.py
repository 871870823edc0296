"""The native contacts API (SPEC §5.4): /api/v1/contacts with its notes and timeline.

Creating a contact that already exists (the same phone, or the same e-mail without a phone)
answers 409 CONFLICT with the existing contact's id in `details`, as HubSpot does, and writes
nothing: the client decides whether to PATCH it. A PATCH that would give a contact the phone
(or phone-less e-mail) of another answers 409 in the same way. Both are the services'
AlreadyExists, mapped once by leadhub.api.errors.
"""

from collections.abc import Sequence

from django_filters import rest_framework as filters
from rest_framework import status
from rest_framework.response import Response

from leadhub.api.views import ApiViewSet

from ..fields import MAX_DB_INT
from ..models import Contact, Note, TimelineEntry
from . import schema, selectors, services
from .fields import contact_representation
from .serializers import (
    ContactCreateSerializer,
    ContactSerializer,
    ContactWriteSerializer,
    NoteCreateSerializer,
    NoteSerializer,
    TimelineEntrySerializer,
    create_arguments,
    update_values,
)

READ = ["contacts:read"]
WRITE = ["contacts:write"]


Q_MAX_LENGTH = 200


class ContactFilter(filters.FilterSet):
    q = filters.CharFilter(
        max_length=Q_MAX_LENGTH,
        help_text=(
            "Search name, e-mail, phone and company. An e-mail address or a phone number (any written form) "
            "matches exactly; other text matches a part of any of them."
        ),
    )
    status = filters.ChoiceFilter(choices=Contact.Status.choices)
    tag = filters.CharFilter(max_length=100, help_text="A tag name")
    owner = filters.NumberFilter(help_text="The owning user's id", min_value=1, max_value=MAX_DB_INT)
    source = filters.CharFilter(max_length=100)
    hot = filters.BooleanFilter(help_text="true: 5 or more messages; false: fewer")
    created_after = filters.IsoDateTimeFilter(help_text="Created at or after (ISO 8601)")
    created_before = filters.IsoDateTimeFilter(help_text="Created before (ISO 8601)")

    class Meta:
        model = Contact
        fields: list[str] = []

    def filter_queryset(self, queryset):
        # One code path for every caller: the selector applies the validated filters.
        data = dict(self.form.cleaned_data)
        if data.get("owner") is not None:
            data["owner"] = int(data["owner"])
        return selectors.contacts_list(workspace=self.request.workspace, filters=data)


@schema.contacts
class ContactViewSet(ApiViewSet):
    queryset = Contact.objects.none()  # the schema's model; get_queryset scopes to the workspace
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    required_scopes = {"GET": READ, "POST": WRITE, "PATCH": WRITE, "DELETE": WRITE}
    lookup_field = "id"

    def get_queryset(self):
        return selectors.contacts_base(workspace=self.request.workspace)

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "workspace": getattr(self.request, "workspace", None)}

    def _contact(self) -> Contact:
        return selectors.contact_get(workspace=self.request.workspace, contact_id=self.kwargs["id"])

    def list(self, request):
        found = self._exact_lookup(request)
        if found is None:
            found = self._first_page(request)
        if found is not None:
            return found
        page = self.paginate_queryset(self.filter_queryset(self.get_queryset()))
        return self.get_paginated_response([contact_representation(contact) for contact in page])

    def _exact_lookup(self, request) -> Response | None:
        """`?q=` an e-mail address or a phone number (and at most `limit`): what partners call
        most, answered by the indexed column without the filter set, as the first page is
        (_light_page). Any other request takes the general path."""
        params = request.query_params
        if "q" not in params or any(name not in ("q", self.paginator.page_size_query_param) for name in params):
            return None
        q = params["q"]
        if len(q) > Q_MAX_LENGTH or "\x00" in q:
            return None  # the filter set refuses it (the phone parser would skip a NUL), naming q
        page_size = self.paginator.get_page_size(request)  # an invalid limit: the same 400
        rows = selectors.contacts_find(workspace=request.workspace, q=q, limit=page_size + 1)
        return None if rows is None else self._light_page(request, rows)

    def _first_page(self, request) -> Response | None:
        """No parameter but `limit`: the newest contacts, which dashboards and integrations poll,
        without the filter set (_light_page)."""
        limit = self.paginator.page_size_query_param
        if any(name != limit for name in request.query_params):
            return None
        page_size = self.paginator.get_page_size(request)  # an invalid limit: the same 400
        return self._light_page(request, selectors.contacts_newest(workspace=request.workspace, limit=page_size + 1))

    def _light_page(self, request, rows: Sequence[Contact]) -> Response:
        """The first page from `rows` (the first page size + 1 in the list's order, with their
        tag names, read by one statement compiled once); the paginator makes the same next link
        as on the general path."""
        page = self.paginator.first_page(request, rows, view=self)
        return self.get_paginated_response(
            [contact_representation(c, tags=selectors.contact_tag_names(contact=c)) for c in page]
        )

    def retrieve(self, request, id=None):
        return Response(contact_representation(self._contact()))

    def create(self, request):
        serializer = ContactCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        contact = services.contact_create(
            workspace=request.workspace, source="api", **create_arguments(serializer.validated_data)
        )
        return Response(
            contact_representation(contact),
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/contacts/{contact.id}"},
        )

    def partial_update(self, request, id=None):
        contact = self._contact()
        serializer = ContactWriteSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        contact = services.contact_update(contact=contact, values=update_values(serializer.validated_data, contact))
        return Response(contact_representation(contact))

    def destroy(self, request, id=None):
        services.contact_delete(contact=self._contact())
        return Response(status=status.HTTP_204_NO_CONTENT)


@schema.notes
class ContactNoteViewSet(ApiViewSet):
    queryset = Note.objects.none()
    serializer_class = NoteSerializer
    required_scopes = {"GET": READ, "POST": WRITE}
    filter_backends: list = []

    def _contact(self) -> Contact:
        return selectors.contact_get(workspace=self.request.workspace, contact_id=self.kwargs["id"])

    def list(self, request, id=None):
        page = self.paginate_queryset(selectors.contact_notes(contact=self._contact()))
        return self.get_paginated_response(NoteSerializer(page, many=True).data)

    def create(self, request, id=None):
        contact = self._contact()
        serializer = NoteCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        note = services.note_create(contact=contact, body=serializer.validated_data["body"])
        return Response(NoteSerializer(note).data, status=status.HTTP_201_CREATED)


@schema.timeline
class ContactTimelineViewSet(ApiViewSet):
    queryset = TimelineEntry.objects.none()
    serializer_class = TimelineEntrySerializer
    required_scopes = {"GET": READ}
    filter_backends: list = []

    def list(self, request, id=None):
        contact = selectors.contact_get(workspace=request.workspace, contact_id=self.kwargs["id"])
        page = self.paginate_queryset(selectors.contact_timeline(contact=contact))
        return self.get_paginated_response(TimelineEntrySerializer(page, many=True).data)
