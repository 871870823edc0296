"""What messaging's API views share: strict input (unknown fields and query parameters are a
400 naming them, SPEC §4) and the mapping of the services' field errors to the envelope."""

from contextlib import contextmanager

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import serializers
from rest_framework.exceptions import ValidationError

from crm.fields import text_storable


class StrictSerializer(serializers.Serializer):
    """Refuses fields it does not declare: a typo never silently changes a request's meaning."""

    def to_internal_value(self, data):
        if hasattr(data, "keys"):
            unknown = sorted(str(key) for key in data if key not in self.fields)
            if unknown:
                raise ValidationError({key: ["Unknown field."] for key in unknown})
        return super().to_internal_value(data)


class TextField(serializers.CharField):
    """Text every database stores (no NUL, no lone surrogates)."""

    def to_internal_value(self, data):
        return text_storable(super().to_internal_value(data))


def check_query(request, allowed: tuple[str, ...]) -> None:
    unknown = sorted(key for key in request.query_params if key not in allowed)
    if unknown:
        raise ValidationError({key: ["Unknown query parameter."] for key in unknown})


@contextmanager
def field_errors():
    """A service's field errors (django ValidationError) as the API's 400 VALIDATION_ERROR."""
    try:
        yield
    except DjangoValidationError as exc:
        raise ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages) from None
