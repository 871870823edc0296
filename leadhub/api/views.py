"""Base classes for the native API's views: the plumbing of leadhub.api in one place.

Authentication, permissions, rate limits and errors come from REST_FRAMEWORK settings;
this adds strict input (leadhub/api/strict.py: what the operation's OpenAPI schema does not
name is a 400) and Idempotency-Key to every POST.
"""

from rest_framework import viewsets
from rest_framework.exceptions import ValidationError
from rest_framework.views import APIView

from . import idempotency, strict
from .authentication import credential_of


class NativeApiMixin:
    idempotency_claim: idempotency.Claim | None = None
    # False only where callers send fields we do not know on purpose (the §5.1 intake).
    strict_input = True

    def initialize_request(self, request, *args, **kwargs):
        if idempotency.applies(request):
            # Read the body now: OAuth authentication parses it, after which the raw bytes
            # the fingerprint needs are gone.
            request.body  # noqa: B018
        return super().initialize_request(request, *args, **kwargs)

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.strict_input:
            strict.check_request(self, request)
        credential = credential_of(request)
        self.idempotency_claim = idempotency.begin(
            request,
            workspace=getattr(request, "workspace", None),
            credential=credential.rate_key if credential is not None else "",
        )

    def handle_exception(self, exc):
        if isinstance(exc, idempotency.Replay):
            return exc.response
        if isinstance(exc, ValidationError) and self.strict_input:
            strict.choices_in_errors(self, self.request, exc)
        return super().handle_exception(exc)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.idempotency_claim is not None:
            idempotency.finish(self.idempotency_claim, response)
        return response


class ApiView(NativeApiMixin, APIView):
    pass


class ApiViewSet(NativeApiMixin, viewsets.GenericViewSet):
    pass
