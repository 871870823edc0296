"""OpenAPI for a sequence's enrollments: descriptions and examples, kept out of the views."""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, extend_schema_view

from ..models import Enrollment
from .serializers import EnrollmentCreateSerializer, EnrollmentSerializer

SEQUENCE_ID = OpenApiParameter("id", OpenApiTypes.INT, OpenApiParameter.PATH, description="The sequence's id")
CONTACT_ID = OpenApiParameter(
    "contact_id", OpenApiTypes.UUID, OpenApiParameter.PATH, description="The enrolled contact's id"
)
_ENROLLMENT = {
    "id": 31,
    "sequence_id": 5,
    "contact_id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10",
    "status": "active",
    "enrolled_at": "2026-11-30T18:00:00Z",
    "stopped_at": None,
}
_NOT_FOUND = OpenApiResponse(description="No such sequence, or contact, in this workspace.")

enrollments = extend_schema_view(
    list=extend_schema(
        operation_id="sequence_enrollments_list",
        summary="A sequence's enrollments",
        description=(
            "Newest first, cursor-paginated; `status` filters (active, stopped, completed). Scope `contacts:read`."
        ),
        parameters=[SEQUENCE_ID, OpenApiParameter("status", enum=Enrollment.Status.values)],
        responses={200: EnrollmentSerializer(many=True), 404: _NOT_FOUND},
        examples=[OpenApiExample("Enrollments", value=[_ENROLLMENT], response_only=True)],
        tags=["organise"],
    ),
    create=extend_schema(
        operation_id="sequence_enrollments_create",
        summary="Enroll a contact in a sequence",
        description=(
            "Scope `contacts:write`. The contact gets the sequence's steps from the first one (beat sends them "
            "inside the contact's allowed hours), as a lead posted with `sequence_id` does; its other sequences "
            "go on. A contact already enrolled and active in this sequence is a 409 CONFLICT with "
            "`details: {field: contact_id, id}` (the active enrollment's id) and nothing changes; one whose "
            "enrollment stopped or completed is enrolled again. A reply or an opt-out ends an enrollment."
        ),
        parameters=[SEQUENCE_ID],
        request=EnrollmentCreateSerializer,
        responses={
            201: EnrollmentSerializer,
            404: _NOT_FOUND,
            409: OpenApiResponse(description="Enrolled and active already (details.id)."),
        },
        examples=[
            OpenApiExample("Enroll", value={"contact_id": _ENROLLMENT["contact_id"]}, request_only=True),
            OpenApiExample("Enrolled", value=_ENROLLMENT, response_only=True, status_codes=["201"]),
        ],
        tags=["organise"],
    ),
    destroy=extend_schema(
        operation_id="sequence_enrollments_stop",
        summary="Unenroll a contact from a sequence",
        description=(
            "Scope `contacts:write`. Stops the contact's active enrollment in the sequence (`stopped`, on its "
            "timeline): no further step is sent. 404 when the contact has no active enrollment in it."
        ),
        parameters=[SEQUENCE_ID, CONTACT_ID],
        responses={204: None, 404: _NOT_FOUND},
        tags=["organise"],
    ),
)
