"""The JSON parser of every API: DRF's, refusing text that is not valid Unicode.

JSON may spell a lone UTF-16 surrogate (`"\\ud800"`); Python parses it into a str that no
database column can store, so it would fail deep in a write. It is the client's error: 400.
"""

import json

from rest_framework import parsers
from rest_framework.exceptions import ParseError


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        try:
            json.dumps(data, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            raise ParseError("JSON parse error - the body holds text that is not valid Unicode.") from None
        return data
