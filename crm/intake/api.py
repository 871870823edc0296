"""POST /api/v1/webhook/forms: the lead intake webhook for forms and services (SPEC §5.1).

Its answers keep the shape form tools were written against (`{"message": ...}`), not the
native envelope. The policy (what changes when) is lead_intake's.
"""

from rest_framework import status
from rest_framework.response import Response

from leadhub.api.authentication import (
    BearerApiKeyAuthentication,
    HeaderApiKeyAuthentication,
    TokenParameterAuthentication,
)
from leadhub.api.errors import form_exception_handler
from leadhub.api.parsers import FORM_TOOL_PARSERS
from leadhub.api.permissions import HasScopes, IsCredential
from leadhub.api.ratelimit import IntakeRateThrottle
from leadhub.api.views import ApiView

from . import schema
from .serializers import intake_validate
from .services import lead_intake


class IntakeView(ApiView):
    authentication_classes = [BearerApiKeyAuthentication, HeaderApiKeyAuthentication, TokenParameterAuthentication]
    permission_classes = [IsCredential, HasScopes]
    throttle_classes = [IntakeRateThrottle]
    parser_classes = FORM_TOOL_PARSERS  # JSON whatever the Content-Type says, or a form
    field_aliases = {"phone": "phone_number", "mobile": "phone_number", "full_name": "name", "company": "company_name"}
    required_scopes = {"POST": ["intake"]}
    strict_input = False  # SPEC §5.1: form tools post whole forms; unknown fields are ignored

    def get_exception_handler(self):
        return form_exception_handler

    @schema.intake
    def post(self, request):
        # Only fields the intake knows count as submitted: other names are the client's, unchecked.
        data, submitted = intake_validate(request.data, workspace=request.workspace)
        result = lead_intake(workspace=request.workspace, data=data, submitted=submitted)
        contact_id = result.contact.id
        if result.created:
            return Response({"message": "Contact created.", "contact_id": contact_id}, status=status.HTTP_201_CREATED)
        if result.updated:
            return Response({"message": "Contact updated.", "contact_id": contact_id}, status=status.HTTP_200_OK)
        return Response({"message": "Contact created.", "contact_id": contact_id}, status=status.HTTP_202_ACCEPTED)
