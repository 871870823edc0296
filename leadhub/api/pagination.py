"""Cursor pagination, newest first: ?limit= (1 to 100) and opaque ?cursor= with next links."""

from django.core.exceptions import ValidationError as DjangoValidationError
from rest_framework import pagination
from rest_framework.exceptions import ValidationError


class CursorPagination(pagination.CursorPagination):
    page_size = 20
    max_page_size = 100
    page_size_query_param = "limit"
    ordering = ("-created_at", "-pk")

    def get_page_size(self, request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if not 1 <= size <= self.max_page_size:
            raise ValidationError({"limit": [f"Must be a whole number from 1 to {self.max_page_size}."]})
        return size

    def paginate_queryset(self, queryset, request, view=None):
        try:
            return super().paginate_queryset(queryset, request, view)
        except DjangoValidationError:  # a forged cursor whose position is not a value of the field
            raise ValidationError({"cursor": ["Invalid cursor: use the next or previous link as given."]}) from None

    def first_page(self, request, rows: list, view=None) -> list:
        """The first page (no cursor) from `rows`, the first page size + 1 items in this
        ordering, read by the caller (a cheaper statement than the queryset's): the state
        paginate_queryset would leave, so that get_paginated_response answers the same."""
        self.request = request
        self.page_size = self.get_page_size(request)
        self.base_url = request.build_absolute_uri()
        self.ordering = self.get_ordering(request, None, view)
        self.cursor = None
        self.page = list(rows[: self.page_size])
        self.has_previous = False
        self.has_next = len(rows) > len(self.page)
        if self.has_next:
            self.next_position = self._get_position_from_instance(rows[self.page_size], self.ordering)
            self.display_page_controls = self.template is not None
        return self.page

    def decode_cursor(self, request):
        try:
            return super().decode_cursor(request)
        except Exception:  # DRF answers 404 for a bad cursor; it is the client's input: 400
            raise ValidationError({"cursor": ["Invalid cursor: use the next or previous link as given."]}) from None
