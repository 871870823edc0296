"""The contact over the API: its representation and the input of create and PATCH, derived
from the one declaration in fields.py (names, order, max lengths)."""

from typing import Any

from django.contrib.auth import get_user_model
from rest_framework import serializers

from ..catalog import selectors as catalog_selectors
from ..fields import (
    MAX_OTHER_PHONE_NUMBERS,
    JsonObjectField,
    LowerEmailField,
    OtherPhonesField,
    PhoneField,
    WorkspacePkField,
)
from ..models import Contact, DispositionStatus, Line, Note, Tag, TimelineEntry
from .fields import ATTRIBUTION_FIELDS, REPRESENTATION, TEXT_FIELDS, VALUE_KEYS, contact_representation, max_length


def text(name: str) -> serializers.CharField:
    """An optional text input of the contact's field `name`, bounded like its column."""
    return serializers.CharField(required=False, allow_blank=True, max_length=max_length(name))


# --- Output --------------------------------------------------------------------------------


class DispositionRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()


class TouchSerializer(serializers.Serializer):
    at = serializers.DateTimeField(required=False, help_text="When this touch was recorded")

    def get_fields(self):
        return {name: serializers.CharField(required=False) for name in ATTRIBUTION_FIELDS} | super().get_fields()


class AttributionSerializer(serializers.Serializer):
    first_touch = TouchSerializer(help_text="As first seen; {} when the lead came without attribution")
    latest_touch = TouchSerializer(help_text="As last seen")


class OtherPhoneSerializer(serializers.Serializer):
    label = serializers.CharField(required=False)
    phone_number = serializers.CharField(required=False, help_text="E.164")


class ContactSerializer(serializers.ModelSerializer):
    """A contact as the API shows it: every field of SPEC §5. The declarations here describe it
    for the schema; the representation itself is fields.contact_representation (also the
    lead events' `data`), which builds it without per-field serializer work."""

    phone_number = serializers.CharField(allow_null=True, help_text="E.164")
    other_phone_numbers = OtherPhoneSerializer(many=True)
    custom_fields = serializers.DictField()
    owner_id = serializers.IntegerField(allow_null=True, help_text="The owning user's id")
    line_id = serializers.IntegerField(allow_null=True)
    tags = serializers.ListField(child=serializers.CharField(), help_text="Tag names")
    disposition_status = DispositionRefSerializer(allow_null=True)
    hot = serializers.BooleanField(help_text="5 or more messages exchanged")
    attribution = AttributionSerializer()

    class Meta:
        model = Contact
        fields = list(REPRESENTATION)
        read_only_fields = fields

    def to_representation(self, instance: Contact) -> dict[str, Any]:
        return contact_representation(instance)


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


class _ContactWrite(serializers.Serializer):
    """The fields a client may set (PATCH: any subset; an empty value clears)."""

    phone_number = PhoneField(required=False, allow_null=True, help_text="Any written form; stored as E.164")
    email = LowerEmailField(required=False, allow_blank=True, allow_null=True, max_length=max_length("email"))
    other_phone_numbers = OtherPhonesField(required=False, max_length=MAX_OTHER_PHONE_NUMBERS)
    date_of_birth = serializers.DateField(required=False, allow_null=True)
    custom_fields = JsonObjectField(required=False)
    status = serializers.ChoiceField(choices=Contact.Status.choices, required=False)
    owner_id = WorkspacePkField(scope=catalog_selectors.workspace_users, queryset=get_user_model().objects.none())
    line_id = WorkspacePkField(scope=catalog_selectors.lines_list, queryset=Line.objects.none())
    disposition_status_id = WorkspacePkField(
        scope=catalog_selectors.dispositions_list, queryset=DispositionStatus.objects.none()
    )
    tags = serializers.ListField(
        child=serializers.CharField(max_length=Tag._meta.get_field("name").max_length),
        required=False,
        max_length=100,
        help_text="Names of existing tags",
    )
    sms_opt_out = serializers.BooleanField(required=False)

    def validate_tags(self, names: list[str]) -> list[Tag]:
        workspace = self.context["workspace"]
        found = {tag.name: tag for tag in catalog_selectors.tags_list(workspace=workspace).filter(name__in=names)}
        missing = sorted({name for name in names if name not in found})
        if missing:
            raise serializers.ValidationError(f"No tag named {', '.join(missing)}: create it with POST /api/v1/tags.")
        return list({found[name].pk: found[name] for name in names}.values())


ContactWriteSerializer = type(
    "ContactWriteSerializer",
    (_ContactWrite,),
    {"__doc__": _ContactWrite.__doc__, "__module__": __name__, **{name: text(name) for name in TEXT_FIELDS}},
)


class _ContactCreate(ContactWriteSerializer):
    """Create: the write fields, a phone or an e-mail, and first-touch attribution."""

    def validate(self, attrs):
        if not attrs.get("phone_number") and not attrs.get("email"):
            raise serializers.ValidationError({"phone_number": ["Give a phone_number or an email."]})
        return attrs


ContactCreateSerializer = type(
    "ContactCreateSerializer",
    (_ContactCreate,),
    {"__doc__": _ContactCreate.__doc__, "__module__": __name__, **{name: text(name) for name in ATTRIBUTION_FIELDS}},
)

# Input names that are relations, and the model field each sets.
RELATIONS = {"owner_id": "owner", "line_id": "line", "disposition_status_id": "disposition_status"}


def create_arguments(data: dict[str, Any]) -> dict[str, Any]:
    """contact_create's keyword arguments from a validated create."""
    fields = {key: data[key] for key in ("status", "sms_opt_out") if key in data}
    fields |= {name: data[key] for key, name in RELATIONS.items() if data.get(key) is not None}
    return {
        "phone": data.get("phone_number"),
        "email": data.get("email") or None,
        "values": {key: data[key] for key in VALUE_KEYS if key in data},
        "attribution": {key: data[key] for key in ATTRIBUTION_FIELDS if data.get(key)},
        "fields": fields,
        "tags": data.get("tags", ()),
    }


def update_values(data: dict[str, Any], contact: Contact) -> dict[str, Any]:
    """contact_update's values from a validated PATCH: model names, empty values cleared."""
    values: dict[str, Any] = {}
    for key, value in data.items():
        if key == "phone_number":
            values[key] = value.e164 if value else None
        elif key == "email":
            values[key] = value or None
        elif key in ("custom_fields", "other_phone_numbers"):
            values[key] = value if value is not None else type(getattr(contact, key))()
        else:
            values[RELATIONS.get(key, key)] = value
    return values


class NoteCreateSerializer(serializers.Serializer):
    body = serializers.CharField(max_length=10000, trim_whitespace=True)
