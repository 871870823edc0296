"""What the provider webhooks share (inbound messages, status callbacks, the voice gather):
public, form-encoded, authenticated only by the provider's signature over the URL and every
form parameter, checked with the key of the line concerned; a missing or bad signature is 403
and nothing is stored. Not limited per IP: providers post from a few addresses."""

from rest_framework import exceptions
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.permissions import AllowAny
from rest_framework.views import APIView

from crm.models import Line

from . import twilio
from .lines.selectors import account_of

TWIML = "text/xml"


class BadSignature(exceptions.PermissionDenied):
    default_detail = "The request signature is missing or invalid."


def verify(request, line: Line) -> None:
    """403 unless the request is signed with the key of `line`'s provider account (a line
    without one can verify nothing: 403 too)."""
    provider = getattr(line, "provider", None)  # a line without a provider has no `provider`
    if provider is None:
        raise BadSignature()
    key = account_of(provider).webhook_key
    if not twilio.signature_valid(
        key=key, url=twilio.request_url(request), params=request.data, signature=twilio.request_signature(request.META)
    ):
        raise BadSignature()


def form_of(request):
    data = request.data
    if not hasattr(data, "getlist"):  # not a form: no signature can match it either
        raise BadSignature()
    return data


class ProviderWebhook(APIView):
    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []
    parser_classes = [FormParser, MultiPartParser]
