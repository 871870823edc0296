"""What the chat widget's public endpoints share (`/api/save-lead`, `/api/book-meeting`).

They take no credential: the brain's public `bot_id` names the workspace. A browser may call
them from the origins in the brain's `allowed_origins`: answers echo an allowed Origin and
nothing otherwise, and a POST whose Origin the brain does not allow is refused (403) before
anything is stored, since CORS only hides the answer from the page. Besides JSON and forms, a
`text/plain` body holding JSON is read, so that a widget can post without a preflight.
"""

from rest_framework import exceptions, status
from rest_framework.parsers import FormParser
from rest_framework.permissions import SAFE_METHODS, AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from leadhub.api.cors import add_cors_headers, origin_allowed, origin_of
from leadhub.api.parsers import JSONParser
from leadhub.api.ratelimit import public_limit_or_raise
from leadhub.lookups import found_scope
from leadhub.tenancy import enter_workspace

from ..models import Brain
from . import schema, selectors


class PlainTextJsonParser(JSONParser):
    media_type = "text/plain"


class UnknownBotId(exceptions.APIException):
    status_code = status.HTTP_400_BAD_REQUEST
    default_code = "BAD_REQUEST"
    default_detail = "Unknown bot_id."

    def __init__(self):
        super().__init__()
        self.details = {"bot_id": ["No brain has this bot_id."]}


class OriginRefused(exceptions.PermissionDenied):
    default_detail = "This origin may not call this widget: add it to the brain's allowed origins."


class WidgetPublicView(APIView):
    """A public widget endpoint: per-brain CORS on every answer, the preflight, and the brain
    of the request (`brain_for`), refused when the request's Origin is not among its own."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    throttle_classes: list = []  # the per-IP limit is counted in brain_for
    parser_classes = [JSONParser, PlainTextJsonParser, FormParser]
    brain: Brain | None = None
    origin_refused = OriginRefused.default_detail
    limit_group = "widget"  # each endpoint counts on its own

    def brain_for(self, request, bot_id: str) -> Brain:
        """The brain of `bot_id` (400 naming bot_id when none); 403 when a write carries an
        Origin the brain does not allow (a read's answer is only hidden from the page).

        The request is counted first, per client address and brain (`limit_group`; unknown
        bot_ids share one count per address): a write fails closed (503) when the cache cannot
        count, a read goes through uncounted."""
        # The named lookup before the workspace is known (row-level security): the brain by its
        # bot_id; the request then runs in the brain's workspace.
        with found_scope("brain_by_bot_id", bot_id) as found:
            self.brain = selectors.brain_get_by_bot_id(bot_id=bot_id) if found else None
        if self.brain is not None:
            enter_workspace(self.brain.workspace_id)
        within = f"bot:{self.brain.bot_id}" if self.brain is not None else "bot:-"
        public_limit_or_raise(request, group=self.limit_group, within=within, write=request.method not in SAFE_METHODS)
        if self.brain is None:
            raise UnknownBotId()
        origin = origin_of(request)
        if request.method not in SAFE_METHODS and origin and not origin_allowed(origin, self.brain.allowed_origins):
            raise OriginRefused(self.origin_refused)
        return self.brain

    @schema.preflight
    def options(self, request, *args, **kwargs):
        """The CORS preflight. It has no body: with `?bot_id=` its brain decides, else any brain
        that allows the origin (the request itself is then held to its own brain's list)."""
        origin = origin_of(request)
        bot_id = request.query_params.get("bot_id")
        if bot_id:
            with found_scope("brain_by_bot_id", bot_id) as found:
                brain = selectors.brain_get_by_bot_id(bot_id=bot_id) if found else None
            allowed = brain is not None and origin_allowed(origin, brain.allowed_origins)
        else:
            allowed = selectors.origin_allowed_by_any_brain(origin=origin)
        response = Response(status=status.HTTP_204_NO_CONTENT)
        return add_cors_headers(response, origin=origin, allowed=allowed, preflight=True)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if request.method != "OPTIONS":
            origin = origin_of(request)
            allowed = self.brain is not None and origin_allowed(origin, self.brain.allowed_origins)
            add_cors_headers(response, origin=origin, allowed=allowed)
        return response
