"""`POST /api/zapier-webhook?action=send-whatsapp` (SPEC §5.3, §7): send a WhatsApp or SMS
message, 202 `{id, status: "queued", conversation_id}`. The other Zapier calls are crm's; this
view adds the sending action to them (crm may not import messaging, so the URL routes here)."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from crm.contacts.serializers import NoteSerializer
from crm.fields import JsonObjectField
from crm.normalize import InvalidValue, parse_phone
from crm.zapier import api as zapier
from crm.zapier import schema as zapier_schema
from crm.zapier.serializers import ZapierActionSerializer

from .. import twilio
from ..api_common import StrictSerializer, TextField, field_errors
from ..lines.selectors import line_to_send_from
from ..models import SEND_CHANNELS
from . import services

SEND_ACTION = "send-whatsapp"


class E164Field(serializers.CharField):
    """An E.164 number (`+18187405020`); `whatsapp:` before it is allowed and remembered."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        number, channel = twilio.strip_address(text)
        if not number.startswith("+"):
            raise serializers.ValidationError("Give the number in E.164 form, e.g. +18187405020.")
        try:
            phone = parse_phone(number, default_region="")
        except InvalidValue as exc:
            raise serializers.ValidationError(str(exc)) from None
        return phone, channel if text.strip().lower().startswith("whatsapp:") else None


class SendWhatsappSerializer(StrictSerializer):
    action = serializers.CharField(required=False, help_text="The action may also come in the body")
    to = E164Field(max_length=60, help_text="E.164, with or without `whatsapp:`")
    message = TextField(max_length=services.MAX_BODY, required=False, allow_blank=True, trim_whitespace=False)
    from_number = E164Field(max_length=60, required=False, help_text="One of the workspace's lines; else the default")
    channel = serializers.ChoiceField(choices=SEND_CHANNELS, required=False)
    content_sid = TextField(max_length=64, required=False, help_text="An approved WhatsApp template (outside 24 h)")
    content_variables = JsonObjectField(required=False)

    def validate(self, attrs):
        to, prefixed = attrs["to"]
        channel = attrs.get("channel") or prefixed or "whatsapp"
        if prefixed and attrs.get("channel") == "sms":
            raise ValidationError(
                {"channel": ["`to` is a whatsapp: address; use channel whatsapp or drop the prefix."]}
            )
        if not attrs.get("content_sid") and not (attrs.get("message") or "").strip():
            raise ValidationError({"message": ["This field is required (or give a template's content_sid)."]})
        attrs["to"], attrs["channel"] = to, channel
        return attrs


class ZapierActionInSerializer(ZapierActionSerializer):
    """Both actions' bodies, send-whatsapp's whole (the documented request: strict input
    refuses what it does not name)."""

    to = serializers.CharField(required=False)
    message = serializers.CharField(required=False)
    from_number = serializers.CharField(required=False)
    channel = serializers.ChoiceField(choices=SEND_CHANNELS, required=False)
    content_sid = serializers.CharField(required=False)
    content_variables = serializers.DictField(required=False)


_ANSWER = inline_serializer(
    "SendWhatsappAnswer",
    {"id": serializers.UUIDField(), "status": serializers.CharField(), "conversation_id": serializers.UUIDField()},
)


POST_ACTIONS = {**zapier.POST_ACTIONS, SEND_ACTION: ["messages:send"]}


class ZapierView(zapier.ZapierView):
    post_actions = POST_ACTIONS

    @extend_schema(
        operation_id="zapier_action",
        summary="Zapier action: add a note, or send a WhatsApp or SMS message",
        description=(
            "`action=create-note` (scope `contacts:write`): `{contact_id or session_id, note}` adds a note to the "
            "lead and answers 201 with it; an unknown lead is 404.\n\n`action=send-whatsapp` (scope `messages:send`): "
            "`{to, message, from_number?, channel?, content_sid?, content_variables?}`. `to` is E.164 (a "
            "`whatsapp:` prefix is allowed); `channel` `whatsapp` (default) or `sms`; `from_number` one of the "
            "workspace's verified lines (400 on `from_number` otherwise), else the default line; `message` at most "
            "1600 characters. The message is stored `queued` and handed to the provider by a worker; it answers "
            "202 `{id, status, conversation_id}`. An opted-out recipient is a 400 on `to`; WhatsApp free text to a "
            "contact who has not written in 24 hours is a 400 on `message` (send an approved template: "
            "`content_sid` and `content_variables`)."
        ),
        parameters=[OpenApiParameter("action", str, enum=list(POST_ACTIONS), required=True)],
        request=ZapierActionInSerializer,
        responses={
            201: NoteSerializer,
            202: OpenApiResponse(_ANSWER, description="send-whatsapp: queued."),
            404: OpenApiResponse(description="No such lead in this workspace."),
        },
        examples=[
            zapier_schema.CREATE_NOTE_EXAMPLE,
            zapier_schema.NOTE_CREATED_EXAMPLE,
            OpenApiExample(
                "send-whatsapp",
                value={"to": "+18187405020", "message": "Your viewing is confirmed for 3pm."},
                request_only=True,
            ),
            OpenApiExample(
                "Queued",
                value={
                    "id": "7d2f4f8e-9c1b-4a53-9d0e-2f4c1c7a9b10",
                    "status": "queued",
                    "conversation_id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10",
                },
                response_only=True,
                status_codes=["202"],
            ),
        ],
        tags=["zapier"],
    )
    def post(self, request):
        if self.post_action(request) != SEND_ACTION:
            return self.create_note(request)
        serializer = SendWhatsappSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        from_number = data.get("from_number")
        with field_errors():
            line = line_to_send_from(
                workspace=request.workspace, phone_number=from_number[0].e164 if from_number else ""
            )
            message = services.number_send(
                workspace=request.workspace,
                to=data["to"],
                channel=data["channel"],
                body=data.get("message") or "",
                content_sid=data.get("content_sid"),
                content_variables=data.get("content_variables"),
                line=line,
                callback_base=twilio.public_base_url(request),
            )
        return Response(
            {"id": str(message.uid), "status": message.status, "conversation_id": str(message.conversation_id)},
            status=status.HTTP_202_ACCEPTED,
        )
