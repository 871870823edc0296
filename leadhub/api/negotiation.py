"""Content negotiation of the native API: DRF's, answered without parsing when the client
accepts anything or JSON as such.

Nearly every API call sends no Accept header, `*/*` or `application/json`; for those DRF's
answer is always the view's first renderer and its own media type, but it builds the request's
header map and parses each token first (about a tenth of an authenticated GET's CPU beyond the
trivial view's, bench/profile_request.py). Anything else (another type, parameters such as
`indent`, a `?format=` override, a format suffix) goes through DRF's negotiation unchanged.
"""

from rest_framework.negotiation import DefaultContentNegotiation

_ANY = frozenset({"*/*", "application/*"})


class JsonFirstNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        if renderers and format_suffix is None:
            accept = request.META.get("HTTP_ACCEPT", "*/*").strip()
            first = renderers[0]
            plain = accept in _ANY or accept == first.media_type
            if plain and first.media_type == "application/json" and not self._format_asked(request):
                return first, first.media_type
        return super().select_renderer(request, renderers, format_suffix)

    def _format_asked(self, request) -> bool:
        # Without a query string there is no ?format=: no QueryDict built to learn it.
        if not request.META.get("QUERY_STRING"):
            return False
        return self.settings.URL_FORMAT_OVERRIDE in request.query_params
