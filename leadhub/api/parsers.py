"""The parsers of the API.

`JSONParser` is every API's: DRF's, refusing text that is not valid Unicode. JSON may spell a
lone UTF-16 surrogate (`"\\ud800"`); Python parses it into a str that no database column can
store, so it would fail deep in a write. It is the client's error: 400.

`FORM_TOOL_PARSERS` are for endpoints that form tools and people with curl post to (the §5.1
intake): a body that is a JSON object is read as JSON whatever its Content-Type says (`curl -d
'{…}'` sends `application/x-www-form-urlencoded`; some tools send `text/plain` or nothing),
anything else as a form. A view may also name `field_aliases` (`{"phone": "phone_number"}`):
a field sent under an alias is read as its field, unless the field itself is given too.

Every JSON body is held to MAX_JSON_DEPTH levels of nesting (`json_loads`): Python's parser
raises RecursionError, not a ValueError, on a body nested some thousand levels deep, and what
parses a little under that would still break the recursive code that reads it later (encoders,
validators, a worker's payload). A deeper body is the client's error: 400.
"""

import json

from django.core.exceptions import SuspiciousOperation
from django.http import QueryDict
from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils import json as strict_json

from .errors import request_exception

# No request of the API nests deeper than a handful of levels (a campaign's recipients'
# context, a contact's custom_fields); 32 leaves room for any client's own JSON values.
MAX_JSON_DEPTH = 32


class TooDeep(ParseError):
    default_detail = f"JSON parse error - the body is nested deeper than {MAX_JSON_DEPTH} levels."


def _too_deep(data) -> bool:
    """Whether the parsed value nests lists and objects deeper than MAX_JSON_DEPTH (iteratively)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_JSON_DEPTH:
            return True
        children = value.values() if isinstance(value, dict) else value
        stack.extend((child, depth + 1) for child in children if isinstance(child, (dict, list)))
    return False


def json_loads(text: str, *, strict: bool = True):
    """json.loads for a client's body: ParseError (400) for what is not JSON, for NaN and
    Infinity when `strict`, and for nesting deeper than MAX_JSON_DEPTH."""
    try:
        data = strict_json.loads(text) if strict else json.loads(text)
    except RecursionError:
        raise TooDeep() from None
    except ValueError as exc:  # UnicodeDecodeError is one
        raise ParseError(f"JSON parse error - {exc}") from None
    # Counting the brackets (in C) spares the walk for every body that cannot be too deep.
    if isinstance(data, (dict, list)) and text.count("[") + text.count("{") > MAX_JSON_DEPTH and _too_deep(data):
        raise TooDeep()
    return data


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
        encoding = (parser_context or {}).get("encoding") or "utf-8"
        raw = stream.read() if stream is not None else b""
        try:
            text = raw.decode(encoding)
        except (UnicodeDecodeError, LookupError) as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        data = json_loads(text, strict=self.strict)
        return _aliased(_storable(data), parser_context)


def _json_or_form(raw: bytes, parser_context) -> dict | QueryDict:
    encoding = (parser_context or {}).get("encoding") or "utf-8"
    if raw.lstrip()[:1] == b"{":
        try:
            data = json_loads(raw.decode(encoding), strict=False)
        except TooDeep:
            raise
        except (ParseError, UnicodeDecodeError):  # not JSON after all: a form
            data = None
        if isinstance(data, dict):
            return _storable(data)
    try:
        return QueryDict(raw, encoding=encoding)
    except SuspiciousOperation as exc:  # more fields than DATA_UPLOAD_MAX_NUMBER_FIELDS
        raise request_exception(exc) from None
    except Exception as exc:
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
