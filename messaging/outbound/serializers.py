"""Serializers of send-whatsapp (Zapier's sending action): the recipient's number, the message
or template, and the body both Zapier actions may send."""

from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from crm.fields import JsonObjectField
from crm.normalize import InvalidValue, parse_phone
from crm.zapier.serializers import ZapierActionSerializer

from .. import twilio
from ..api_common import StrictSerializer, TextField
from ..models import SEND_CHANNELS
from .services import MAX_BODY


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
    message = TextField(max_length=MAX_BODY, required=False, allow_blank=True, trim_whitespace=False)
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
