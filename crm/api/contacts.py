"""The native contacts API (SPEC §5.4): /api/v1/contacts with its notes and timeline.

Creating a contact that already exists (the same phone, or the same e-mail without a phone)
answers 409 CONFLICT with the existing contact's id in `details`, as HubSpot does, and writes
nothing: the client decides whether to PATCH it. A PATCH that would give a contact the phone
(or phone-less e-mail) of another answers 409 in the same way.
"""

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django_filters import rest_framework as filters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    extend_schema_view,
)
from rest_framework import serializers, status
from rest_framework.response import Response

from leadhub.api.views import ApiViewSet

from .. import selectors, services
from ..fields import LowerEmailField, OtherPhonesField, PhoneField
from ..models import Contact, DispositionStatus, Line, Note, Tag, TimelineEntry
from .common import MAX_DB_INT, JsonObjectField, WorkspacePkField, conflict

CONTACT_ID = OpenApiParameter("id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The contact's id")
READ = ["contacts:read"]
WRITE = ["contacts:write"]

# --- Output --------------------------------------------------------------------------------


class DispositionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TouchSerializer(serializers.Serializer):
    utm_source = serializers.CharField(required=False)
    utm_medium = serializers.CharField(required=False)
    utm_campaign = serializers.CharField(required=False)
    utm_term = serializers.CharField(required=False)
    utm_content = serializers.CharField(required=False)
    page_url = serializers.CharField(required=False)
    referrer = serializers.CharField(required=False)
    at = serializers.DateTimeField(required=False, help_text="When this touch was recorded")


class AttributionSerializer(serializers.Serializer):
    first_touch = TouchSerializer(help_text="As first seen; {} when the lead came without attribution")
    latest_touch = TouchSerializer(help_text="As last seen")


class OtherPhoneSerializer(serializers.Serializer):
    label = serializers.CharField(required=False)
    phone_number = serializers.CharField(required=False, help_text="E.164")


class ContactSerializer(serializers.ModelSerializer):
    """A contact as the API shows it: every field of SPEC §5."""

    phone_number = serializers.CharField(allow_null=True, help_text="E.164")
    other_phone_numbers = OtherPhoneSerializer(many=True)
    custom_fields = serializers.DictField()
    owner_id = serializers.IntegerField(allow_null=True, help_text="The owning user's id")
    line_id = serializers.IntegerField(allow_null=True)
    tags = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name", help_text="Tag names")
    disposition_status = DispositionRefSerializer(allow_null=True)
    hot = serializers.BooleanField(source="is_hot", help_text="5 or more messages exchanged")
    attribution = serializers.SerializerMethodField()

    class Meta:
        model = Contact
        fields = [
            "id",
            "name",
            "first_name",
            "last_name",
            "email",
            "phone_number",
            "other_phone_numbers",
            "company_name",
            "website",
            "address",
            "city",
            "state",
            "zipcode",
            "country",
            "timezone",
            "date_of_birth",
            "lead_source",
            "source",
            "notes",
            "csf1",
            "csf2",
            "custom_fields",
            "owner_id",
            "line_id",
            "tags",
            "disposition_status",
            "session_id",
            "message_count",
            "hot",
            "status",
            "qualified_at",
            "attribution",
            "sms_opt_out",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    @extend_schema_field(AttributionSerializer)
    def get_attribution(self, contact: Contact) -> dict:
        return {"first_touch": contact.first_touch or {}, "latest_touch": contact.latest_touch or {}}


class NoteSerializer(serializers.ModelSerializer):
    contact_id = serializers.UUIDField()
    author_id = serializers.IntegerField(allow_null=True)

    class Meta:
        model = Note
        fields = ["id", "contact_id", "body", "author_id", "created_at"]
        read_only_fields = fields


class TimelineEntrySerializer(serializers.ModelSerializer):
    data = serializers.DictField(help_text="What happened; its keys depend on the kind")

    class Meta:
        model = TimelineEntry
        fields = ["id", "kind", "data", "created_at"]
        read_only_fields = fields


# --- Input ---------------------------------------------------------------------------------


def _text(max_length: int) -> serializers.CharField:
    return serializers.CharField(required=False, allow_blank=True, max_length=max_length)


class ContactWriteSerializer(serializers.Serializer):
    """The fields a client may set (PATCH: any subset; an empty value clears)."""

    phone_number = PhoneField(required=False, allow_null=True, help_text="Any written form; stored as E.164")
    email = LowerEmailField(required=False, allow_blank=True, allow_null=True, max_length=254)
    name = _text(200)
    first_name = _text(100)
    last_name = _text(100)
    other_phone_numbers = OtherPhonesField(required=False, max_length=20)
    company_name = _text(200)
    website = _text(500)
    address = _text(300)
    city = _text(100)
    state = _text(100)
    zipcode = _text(20)
    country = _text(100)
    timezone = _text(64)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    lead_source = _text(100)
    source = _text(100)
    notes = _text(10000)
    csf1 = _text(500)
    csf2 = _text(500)
    custom_fields = JsonObjectField(required=False)
    status = serializers.ChoiceField(choices=Contact.Status.choices, required=False)
    owner_id = WorkspacePkField(scope=selectors.workspace_users, queryset=get_user_model().objects.none())
    line_id = WorkspacePkField(scope=selectors.lines_list, queryset=Line.objects.none())
    disposition_status_id = WorkspacePkField(
        scope=selectors.dispositions_list, queryset=DispositionStatus.objects.none()
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=100), required=False, max_length=100, help_text="Names of existing tags"
    )
    sms_opt_out = serializers.BooleanField(required=False)

    def validate_tags(self, names: list[str]) -> list[Tag]:
        found = {
            tag.name: tag for tag in selectors.tags_list(workspace=self.context["workspace"]).filter(name__in=names)
        }
        missing = sorted({name for name in names if name not in found})
        if missing:
            raise serializers.ValidationError(f"No tag named {', '.join(missing)}: create it with POST /api/v1/tags.")
        return list({found[name].pk: found[name] for name in names}.values())


class ContactCreateSerializer(ContactWriteSerializer):
    """Create: the write fields, a phone or an e-mail, and first-touch attribution."""

    utm_source = _text(200)
    utm_medium = _text(200)
    utm_campaign = _text(200)
    utm_term = _text(200)
    utm_content = _text(200)
    page_url = _text(2000)
    referrer = _text(2000)

    def validate(self, attrs):
        if not attrs.get("phone_number") and not attrs.get("email"):
            raise serializers.ValidationError({"phone_number": ["Give a phone_number or an email."]})
        return attrs


# Fields set through contact_upsert, and the ones set after it (contact_create's `fields`).
_UPSERT_KEYS = (*services.TEXT_FIELDS, "date_of_birth", "other_phone_numbers", "custom_fields")
_RELATIONS = {"owner_id": "owner", "line_id": "line", "disposition_status_id": "disposition_status"}
_LATER_KEYS = ("status", "sms_opt_out")


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


class ContactFilter(filters.FilterSet):
    q = filters.CharFilter(
        max_length=200,
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


class _WorkspaceContext:
    def get_serializer_context(self):
        return {**super().get_serializer_context(), "workspace": getattr(self.request, "workspace", None)}


@extend_schema_view(
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
class ContactViewSet(_WorkspaceContext, ApiViewSet):
    queryset = Contact.objects.none()  # the schema's model; get_queryset scopes to the workspace
    serializer_class = ContactSerializer
    filterset_class = ContactFilter
    required_scopes = {"GET": READ, "POST": WRITE, "PATCH": WRITE, "DELETE": WRITE}
    lookup_field = "id"

    def get_queryset(self):
        return selectors.contacts_base(workspace=self.request.workspace)

    def _contact(self) -> Contact:
        return selectors.contact_get(workspace=self.request.workspace, contact_id=self.kwargs["id"])

    def list(self, request):
        queryset = self.filter_queryset(self.get_queryset())
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(ContactSerializer(page, many=True).data)

    def retrieve(self, request, id=None):
        return Response(ContactSerializer(self._contact()).data)

    def create(self, request):
        workspace = request.workspace
        serializer = ContactCreateSerializer(data=request.data, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        fields = {key: data[key] for key in _LATER_KEYS if key in data}
        fields |= {name: data[key] for key, name in _RELATIONS.items() if data.get(key) is not None}
        try:
            contact = services.contact_create(
                workspace=workspace,
                phone=data.get("phone_number"),
                email=data.get("email") or None,
                values={key: data[key] for key in _UPSERT_KEYS if key in data},
                attribution={key: data[key] for key in services.ATTRIBUTION_FIELDS if data.get(key)},
                fields=fields,
                tags=data.get("tags", ()),
                source="api",
            )
        except services.AlreadyExists as exc:
            raise conflict(
                f"A contact with this {exc.field} already exists.", existing=exc.existing, field=exc.field
            ) from None
        contact = selectors.contact_get(workspace=workspace, contact_id=contact.id)
        return Response(
            ContactSerializer(contact).data,
            status=status.HTTP_201_CREATED,
            headers={"Location": f"/api/v1/contacts/{contact.id}"},
        )

    def partial_update(self, request, id=None):
        workspace = request.workspace
        contact = self._contact()
        serializer = ContactWriteSerializer(data=request.data, partial=True, context=self.get_serializer_context())
        serializer.is_valid(raise_exception=True)
        data = dict(serializer.validated_data)
        tags = data.pop("tags", None)
        values = {}
        for key, value in data.items():
            if key == "phone_number":
                values[key] = value.e164 if value else None
            elif key == "email":
                values[key] = value or None
            elif key in ("custom_fields", "other_phone_numbers"):
                values[key] = value if value is not None else type(getattr(contact, key))()
            else:
                values[_RELATIONS.get(key, key)] = value

        phone = values.get("phone_number", contact.phone_number)
        email = values.get("email", contact.email)
        if not phone and not email:
            raise serializers.ValidationError({"phone_number": ["A contact keeps a phone_number or an email."]})
        if "phone_number" in values or "email" in values:
            clash = selectors.contact_identity_clash(
                workspace=workspace, phone_number=phone, email=email, exclude=contact
            )
            if clash is not None:
                field, other = clash
                raise conflict(f"Another contact already has this {field}.", existing=other, field=field)
        try:
            with transaction.atomic():
                services.contact_update(contact=contact, values=values)
                if tags is not None:
                    services.contact_set_tags(contact=contact, tags=tags)
        except IntegrityError:
            # The same identity taken by a concurrent write since the check above.
            field = "phone_number" if phone else "email"
            raise conflict(f"Another contact already has this {field}.", existing=None, field=field) from None
        return Response(ContactSerializer(selectors.contact_get(workspace=workspace, contact_id=contact.id)).data)

    def destroy(self, request, id=None):
        services.contact_delete(contact=self._contact())
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- Notes and timeline --------------------------------------------------------------------


class NoteCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10000, trim_whitespace=True)


_NOTE_EXAMPLE = {
    "id": "0b7f0a52-8d7c-4c55-b0a4-0b4d2f6b1f00",
    "contact_id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10",
    "body": "Called back, wants a quote.",
    "author_id": None,
    "created_at": "2026-11-21T08:30:00Z",
}


@extend_schema_view(
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


_TIMELINE_EXAMPLE = {"id": 42, "kind": "created", "data": {"source": "intake"}, "created_at": "2026-11-20T10:00:00Z"}


@extend_schema_view(
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
class ContactTimelineViewSet(ApiViewSet):
    queryset = TimelineEntry.objects.none()
    serializer_class = TimelineEntrySerializer
    required_scopes = {"GET": READ}
    filter_backends: list = []

    def list(self, request, id=None):
        contact = selectors.contact_get(workspace=request.workspace, contact_id=self.kwargs["id"])
        page = self.paginate_queryset(selectors.contact_timeline(contact=contact))
        return self.get_paginated_response(TimelineEntrySerializer(page, many=True).data)
