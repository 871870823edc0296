"""Serializers of the lines API: a line as answered (never its secrets), and what a connect or
a change may send."""

from rest_framework import serializers

from crm.fields import PhoneField
from crm.models import Line

from ..api_common import StrictSerializer, TextField
from ..models import LineProvider


class LineSerializer(serializers.ModelSerializer):
    provider = serializers.SerializerMethodField()
    account_sid = serializers.CharField(source="provider.account_sid", default=None)
    signalwire_space = serializers.CharField(source="provider.signalwire_space", default=None)
    messaging_service_sid = serializers.CharField(source="provider.messaging_service_sid", default=None)
    brain = serializers.CharField(source="provider.brain.slug", default=None)
    is_default = serializers.BooleanField(source="provider.is_default", default=False)
    mps = serializers.IntegerField(source="provider.mps", default=None)
    verified = serializers.SerializerMethodField()
    verified_at = serializers.DateTimeField(source="provider.verified_at", default=None)

    class Meta:
        model = Line
        fields = [
            "id",
            "name",
            "phone_number",
            "provider",
            "account_sid",
            "signalwire_space",
            "messaging_service_sid",
            "brain",
            "is_default",
            "mps",
            "verified",
            "verified_at",
            "created_at",
        ]
        read_only_fields = fields

    def _provider(self, line):
        try:
            return line.provider
        except LineProvider.DoesNotExist:
            return None

    def get_provider(self, line) -> str | None:
        provider = self._provider(line)
        return provider.provider if provider else None

    def get_verified(self, line) -> bool:
        provider = self._provider(line)
        return bool(provider and provider.verified_at)


def _char(name: str, **kwargs):
    return TextField(max_length=LineProvider._meta.get_field(name).max_length, **kwargs)


class LineInSerializer(StrictSerializer):
    name = TextField(max_length=100)
    phone_number = PhoneField(help_text="Any written form; stored as E.164. Must be a number of the provider account.")
    provider = serializers.ChoiceField(choices=LineProvider.Provider.choices, default=LineProvider.Provider.TWILIO)
    account_sid = _char("account_sid")
    auth_token = TextField(max_length=200, write_only=True, help_text="Write-only; stored encrypted")
    signalwire_space = _char("signalwire_space", required=False, allow_blank=True, default="")
    signing_key = TextField(
        max_length=200, write_only=True, required=False, allow_blank=True, default="", help_text="SignalWire only"
    )
    messaging_service_sid = _char("messaging_service_sid", required=False, allow_blank=True, default="")
    brain = serializers.SlugField(max_length=80, required=False, allow_null=True, default=None)
    is_default = serializers.BooleanField(required=False, default=False)
    mps = serializers.IntegerField(min_value=1, max_value=1000, required=False, default=1)


class LinePatchSerializer(StrictSerializer):
    name = TextField(max_length=100, required=False)
    provider = serializers.ChoiceField(choices=LineProvider.Provider.choices, required=False)
    account_sid = _char("account_sid", required=False)
    auth_token = TextField(max_length=200, write_only=True, required=False)
    signalwire_space = _char("signalwire_space", required=False, allow_blank=True)
    signing_key = TextField(max_length=200, write_only=True, required=False, allow_blank=True)
    messaging_service_sid = _char("messaging_service_sid", required=False, allow_blank=True)
    brain = serializers.SlugField(max_length=80, required=False, allow_null=True)
    is_default = serializers.BooleanField(required=False)
    mps = serializers.IntegerField(min_value=1, max_value=1000, required=False)
