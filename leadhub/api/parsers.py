"""The parsers of the API.

`JSONParser` is every API's: DRF's, refusing text that is not valid Unicode. JSON may spell a
lone UTF-16 surrogate (`"\\ud800"`); Python parses it into a str that no database column can
store, so it would fail deep in a write. It is the client's error: 400.

`FORM_TOOL_PARSERS` are for endpoints that form tools and people with curl post to (the §5.1
intake): a body that is a JSON object is read as JSON whatever its Content-Type says (`curl -d
'{…}'` sends `application/x-www-form-urlencoded`; some tools send `text/plain` or nothing),
anything else as a form. A view may also name `field_aliases` (`{"phone": "phone_number"}`):
a field sent under an alias is read as its field, unless the field itself is given too.
"""

import json

from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError


def _storable(data):
    try:
        json.dumps(data, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        raise ParseError("JSON parse error - the body holds text that is not valid Unicode.") from None
    return data


def _aliased(data, parser_context):
    aliases = getattr((parser_context or {}).get("view"), "field_aliases", None)
    if not aliases or not hasattr(data, "keys") or not any(alias in data for alias in aliases):
        return data
    data = data.copy()  # a QueryDict's copy is mutable
    for alias, field in aliases.items():
        if alias not in data:
            continue
        if field in data:
            data.pop(alias)
        elif isinstance(data, QueryDict):
            data.setlist(field, data.getlist(alias))
            del data[alias]
        else:
            data[field] = data.pop(alias)
    return data


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        return _aliased(_storable(super().parse(stream, media_type, parser_context)), parser_context)


def _json_or_form(raw: bytes, parser_context) -> dict | QueryDict:
    encoding = (parser_context or {}).get("encoding") or "utf-8"
    if raw.lstrip()[:1] == b"{":
        try:
            data = json.loads(raw.decode(encoding))
        except ValueError:  # not JSON after all (UnicodeDecodeError is one): a form
            data = None
        if isinstance(data, dict):
            return _storable(data)
    try:
        return QueryDict(raw, encoding=encoding)
    except Exception as exc:  # e.g. more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
        raise ParseError(f"Form parse error - {exc}") from None


class JSONOrFormParser(parsers.FormParser):
    """application/x-www-form-urlencoded, or the JSON object curl -d sends under that type."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        return _aliased(_json_or_form(raw, parser_context), parser_context)


class MultiPartParser(parsers.MultiPartParser):
    def parse(self, stream, media_type=None, parser_context=None):
        result = super().parse(stream, media_type, parser_context)
        return parsers.DataAndFiles(_aliased(result.data, parser_context), result.files)


class AnyContentTypeParser(parsers.BaseParser):
    """Any other Content-Type, or none: a JSON object if the body is one, else a form."""

    media_type = "*/*"

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        return _aliased(_json_or_form(raw, parser_context), parser_context)


FORM_TOOL_PARSERS = [JSONParser, JSONOrFormParser, MultiPartParser, AnyContentTypeParser]
