"""Serializer fields shared by the CRM's APIs: phones parsed in the workspace's region."""

from rest_framework import serializers

from .normalize import InvalidValue, parse_phone, parse_us_date


class PhoneField(serializers.Field):
    """A phone number in any written form, to a normalize.Phone (E.164 and what it tells)."""

    default_error_messages = {"invalid": "Send the phone number as text."}

    def to_internal_value(self, data):
        if isinstance(data, bool) or not isinstance(data, (str, int)):
            self.fail("invalid")
        text = str(data).strip()
        if not text:
            if self.required:
                raise serializers.ValidationError("A phone number is required.")
            return None
        workspace = self.context["workspace"]
        try:
            return parse_phone(text, default_region=workspace.country)
        except InvalidValue as exc:
            raise serializers.ValidationError(str(exc)) from None

    def to_representation(self, value):
        return value.e164 if hasattr(value, "e164") else value


class UsDateField(serializers.CharField):
    """A date of birth as US forms send it: 12/05/1975 or 12-05-1975 (or ISO)."""

    def to_internal_value(self, data):
        text = super().to_internal_value(data)
        if not text:
            return None
        try:
            return parse_us_date(text)
        except InvalidValue as exc:
            raise serializers.ValidationError(str(exc)) from None


class LowerEmailField(serializers.EmailField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        return value.strip().lower() if value else None


class OtherPhonesField(serializers.ListField):
    """`[{label, phone_number}]`; each number normalised like the main one."""

    child = serializers.DictField()

    def to_internal_value(self, data):
        items = super().to_internal_value(data)
        phone_field = PhoneField()
        phone_field.bind("phone_number", self)
        out = []
        for index, item in enumerate(items):
            try:
                phone = phone_field.to_internal_value(item.get("phone_number", ""))
            except serializers.ValidationError as exc:
                raise serializers.ValidationError({index: {"phone_number": exc.detail}}) from None
            label = str(item.get("label", ""))[:50]
            # Stored as JSON: PostgreSQL's jsonb refuses NUL and lone surrogates (a 500 otherwise).
            if "\x00" in label or any("\ud800" <= char <= "\udfff" for char in label):
                raise serializers.ValidationError({index: {"label": ["Null or surrogate characters are not allowed."]}})
            if phone is not None:
                out.append({"label": label, "phone_number": phone.e164})
        return out
