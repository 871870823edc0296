"""OpenAPI for the contacts API: descriptions, examples and responses, kept out of the views."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view

from ..models import TimelineEntry
from .serializers import (
    ContactCreateSerializer,
    ContactSerializer,
    ContactWriteSerializer,
    NoteCreateSerializer,
    NoteSerializer,
    TimelineEntrySerializer,
)

CONTACT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The contact's id")

_CONTACT_EXAMPLE = {
    "id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10",
    "name": "Ada Lovelace",
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone_number": "+18187405020",
    "other_phone_numbers": [{"label": "work", "phone_number": "+18187405021"}],
    "company_name": "Analytical Engines",
    "website": "https://example.com",
    "address": "1 Main St",
    "city": "Los Angeles",
    "state": "CA",
    "zipcode": "90001",
    "country": "US",
    "timezone": "America/Los_Angeles",
    "date_of_birth": "1975-12-05",
    "lead_source": "Google Ads",
    "source": "website",
    "notes": "",
    "csf1": "",
    "csf2": "",
    "custom_fields": {"interest": "implants"},
    "owner_id": 7,
    "line_id": 3,
    "tags": ["vip"],
    "disposition_status": {"id": 2, "name": "Call back"},
    "session_id": None,
    "message_count": 6,
    "hot": True,
    "status": "qualified",
    "qualified_at": "2026-11-20T10:00:00Z",
    "attribution": {
        "first_touch": {"utm_source": "google", "page_url": "https://example.com/a", "at": "2026-11-20T10:00:00Z"},
        "latest_touch": {"utm_source": "google", "page_url": "https://example.com/a", "at": "2026-11-20T10:00:00Z"},
    },
    "sms_opt_out": False,
    "created_at": "2026-11-20T10:00:00Z",
    "updated_at": "2026-11-21T08:30:00Z",
}
_CONFLICT_EXAMPLE = {
    "error": {
        "code": "CONFLICT",
        "message": "A contact with this phone_number already exists.",
        "details": {"field": "phone_number", "id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10"},
    }
}


contacts = extend_schema_view(
    list=extend_schema(
        operation_id="contacts_list",
        summary="List contacts",
        description="Newest first, cursor-paginated. Scope `contacts:read`.",
        responses={200: ContactSerializer(many=True)},
        examples=[OpenApiExample("A page of contacts", value=[_CONTACT_EXAMPLE], response_only=True)],
    ),
    retrieve=extend_schema(
        operation_id="contacts_retrieve",
        summary="A contact",
        description="Scope `contacts:read`.",
        parameters=[CONTACT_ID],
        responses={200: ContactSerializer},
        examples=[OpenApiExample("A contact", value=_CONTACT_EXAMPLE, response_only=True)],
    ),
    create=extend_schema(
        operation_id="contacts_create",
        summary="Create a contact",
        description=(
            "Scope `contacts:write`. Needs a `phone_number` (any written form, parsed in the workspace's country) "
            "or an `email`. One person is one contact: if this phone (or, without a phone, this e-mail) is "
            "already a contact, the answer is **409 CONFLICT** with the existing contact's id in "
            "`error.details.id`, and nothing is written; PATCH that contact to change it. "
            "`tags` are names of existing tags."
        ),
        request=ContactCreateSerializer,
        responses={
            201: ContactSerializer,
            409: OpenApiResponse(
                description="This person is already a contact (details.id), or Idempotency-Key in flight."
            ),
        },
        examples=[
            OpenApiExample(
                "Create",
                value={
                    "phone_number": "(818) 740 5020",
                    "name": "Ada Lovelace",
                    "email": "ada@example.com",
                    "tags": ["vip"],
                },
                request_only=True,
            ),
            OpenApiExample("Created", value=_CONTACT_EXAMPLE, response_only=True, status_codes=["201"]),
            OpenApiExample("Exists already", value=_CONFLICT_EXAMPLE, response_only=True, status_codes=["409"]),
        ],
    ),
    partial_update=extend_schema(
        operation_id="contacts_update",
        summary="Update a contact",
        description=(
            "Scope `contacts:write`. Sets exactly the fields given; an empty value clears one. `tags` replaces the "
            "contact's tags. Giving the contact the phone (or phone-less e-mail) of another answers 409 CONFLICT "
            "naming the field and the other contact's id; a contact keeps a phone or an e-mail."
        ),
        parameters=[CONTACT_ID],
        request=ContactWriteSerializer,
        responses={
            200: ContactSerializer,
            409: OpenApiResponse(description="Another contact already has this phone or e-mail."),
        },
        examples=[
            OpenApiExample("Qualify", value={"status": "qualified", "tags": ["vip"]}, request_only=True),
            OpenApiExample("Updated", value=_CONTACT_EXAMPLE, response_only=True, status_codes=["200"]),
            OpenApiExample("Clash", value=_CONFLICT_EXAMPLE, response_only=True, status_codes=["409"]),
        ],
    ),
    destroy=extend_schema(
        operation_id="contacts_delete",
        summary="Delete a contact",
        description="Scope `contacts:write`. Deletes the contact with its notes and timeline.",
        parameters=[CONTACT_ID],
        responses={204: OpenApiResponse(description="Deleted.")},
        examples=[OpenApiExample("No body", value=None, response_only=True, status_codes=["204"])],
    ),
)


_NOTE_EXAMPLE = {
    "id": "0b7f0a52-8d7c-4c55-b0a4-0b4d2f6b1f00",
    "contact_id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10",
    "body": "Called back, wants a quote.",
    "author_id": None,
    "created_at": "2026-11-21T08:30:00Z",
}


notes = extend_schema_view(
    list=extend_schema(
        operation_id="contact_notes_list",
        summary="A contact's notes",
        description="Newest first, cursor-paginated. Scope `contacts:read`.",
        parameters=[CONTACT_ID],
        responses={200: NoteSerializer(many=True)},
        examples=[OpenApiExample("Notes", value=[_NOTE_EXAMPLE], response_only=True)],
    ),
    create=extend_schema(
        operation_id="contact_notes_create",
        summary="Add a note to a contact",
        description="Scope `contacts:write`. Emits `note.created`.",
        parameters=[CONTACT_ID],
        request=NoteCreateSerializer,
        responses={201: NoteSerializer},
        examples=[
            OpenApiExample("A note", value={"body": "Called back, wants a quote."}, request_only=True),
            OpenApiExample("Created", value=_NOTE_EXAMPLE, response_only=True, status_codes=["201"]),
        ],
    ),
)


_TIMELINE_EXAMPLE = {"id": 42, "kind": "created", "data": {"source": "intake"}, "created_at": "2026-11-20T10:00:00Z"}


timeline = extend_schema_view(
    list=extend_schema(
        operation_id="contact_timeline_list",
        summary="A contact's timeline",
        description=(
            "Everything that happened to the contact, newest first, cursor-paginated. Scope `contacts:read`. "
            "Kinds: " + ", ".join(TimelineEntry.Kind.values) + "."
        ),
        parameters=[CONTACT_ID],
        responses={200: TimelineEntrySerializer(many=True)},
        examples=[OpenApiExample("Timeline", value=[_TIMELINE_EXAMPLE], response_only=True)],
    ),
)
