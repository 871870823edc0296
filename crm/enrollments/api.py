"""A sequence's enrollments over the native API: /api/v1/sequences/{id}/enrollments (list,
enroll) and .../enrollments/{contact_id} (unenroll); scopes contacts:read / contacts:write, as
the sequences themselves. Enrolling goes through crm.catalog's sequence_enroll, as the
intake's `sequence_id` does; unenrolling through enrollments_stop, as a reply does."""

from rest_framework import status
from rest_framework.exceptions import NotFound
from rest_framework.response import Response

from leadhub.api.pagination import CursorPagination
from leadhub.api.views import ApiViewSet

from ..catalog import enrollments as enrollment_services
from ..catalog import selectors as catalog_selectors
from ..catalog import services as catalog_services
from ..contacts import selectors as contact_selectors
from ..models import Enrollment, Sequence
from . import schema
from .serializers import EnrollmentCreateSerializer, EnrollmentSerializer, EnrollmentsQuery

READ = ["contacts:read"]
WRITE = ["contacts:write"]


class EnrollmentPagination(CursorPagination):
    ordering = ("-enrolled_at", "-pk")


@schema.enrollments
class SequenceEnrollmentViewSet(ApiViewSet):
    queryset = Enrollment.objects.none()
    serializer_class = EnrollmentSerializer
    required_scopes = {"GET": READ, "POST": WRITE, "DELETE": WRITE}
    filter_backends: list = []
    pagination_class = EnrollmentPagination

    def _sequence(self) -> Sequence:
        return catalog_selectors.sequence_get(workspace=self.request.workspace, sequence_id=self.kwargs["id"])

    def list(self, request, id=None):
        query = EnrollmentsQuery(data=request.query_params)
        query.is_valid(raise_exception=True)
        enrollments = catalog_selectors.enrollments_list(
            sequence=self._sequence(), status=query.validated_data.get("status")
        )
        page = self.paginate_queryset(enrollments)
        return self.get_paginated_response(EnrollmentSerializer(page, many=True).data)

    def create(self, request, id=None):
        sequence = self._sequence()
        serializer = EnrollmentCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        contact = contact_selectors.contact_get(
            workspace=request.workspace, contact_id=serializer.validated_data["contact_id"]
        )
        enrollment = catalog_services.sequence_enroll(contact=contact, sequence=sequence, strict=True)
        return Response(EnrollmentSerializer(enrollment).data, status=status.HTTP_201_CREATED)

    def destroy(self, request, id=None, contact_id=None):
        sequence = self._sequence()
        contact = contact_selectors.contact_get(workspace=request.workspace, contact_id=contact_id)
        if not enrollment_services.enrollments_stop(contact=contact, reason="api", sequence=sequence):
            raise NotFound("The contact is not enrolled in this sequence (or its enrollment has ended).")
        return Response(status=status.HTTP_204_NO_CONTENT)
