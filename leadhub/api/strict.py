"""Strict input for the native API (SPEC §4): what the OpenAPI schema does not name is refused.

Stripe answers "Received unknown parameter: nmae" instead of ignoring a typo that would
silently change the meaning of a request. Here the contract of an operation is its OpenAPI
operation, built by drf-spectacular from the view's `extend_schema` (request serializer,
parameters, filters, pagination). Before a view runs, `check_request` refuses with 400
VALIDATION_ERROR, naming each of them in `details`:

- a query parameter the operation does not document;
- a body field (at any depth of a documented object) the request schema does not have;
- a documented boolean or integer query parameter with a value outside its type
  (django-filter would otherwise read `?hot=maybe` as "no filter" and return everything).

`choices_in_errors` adds the valid choices to every "not a valid choice" error of a view, from
the same schema, so serializers and filters need no message of their own.

Every view of `leadhub.api.views` gets this by default; a view whose callers send what it does
not know on purpose (the §5.1 intake: form tools post whole forms) sets `strict_input = False`.
A new endpoint therefore documents what it accepts (`extend_schema(request=..., parameters=...)`)
or its callers are refused: the docs and the behaviour cannot drift apart.

The schema is built once per process and URLconf, on the first request that needs it.
"""

from __future__ import annotations

import difflib
import threading
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.urls import get_urlconf
from rest_framework.exceptions import ErrorDetail, ValidationError

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
_TRUE_FALSE = {"true", "false", "1", "0"}


class UnknownParameters(ValidationError):
    """A 400 VALIDATION_ERROR whose message names the unknown parameters, as Stripe's does."""

    def __init__(self, details: dict[str, list[str]], unknown: list[str]):
        super().__init__(details)
        self.summary = (
            f"Received unknown parameter{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}." if unknown else None
        )


class Contract:
    """What one operation (a view class, its action, an HTTP method) accepts."""

    def __init__(self, operation: dict, components: dict):
        self.components = components
        self.query = {
            param["name"]: param.get("schema", {})
            for param in operation.get("parameters", ())
            if param.get("in") == "query"
        }
        content = (operation.get("requestBody") or {}).get("content", {})
        self.body = content.get("application/json", {}).get("schema") if content else None
        self.has_body = bool(content)

    def resolve(self, schema: dict | None) -> dict:
        while schema and "$ref" in schema:
            schema = self.components.get(schema["$ref"].rsplit("/", 1)[-1], {})
        return schema or {}

    def variants(self, schema: dict | None) -> list[dict]:
        """The schemas a value may match: refs resolved, allOf merged, oneOf/anyOf listed."""
        schema = self.resolve(schema)
        if "allOf" in schema and len(schema["allOf"]) == 1:
            merged = {**self.resolve(schema["allOf"][0]), **{k: v for k, v in schema.items() if k != "allOf"}}
            return self.variants(merged)
        for key in ("oneOf", "anyOf"):
            if key in schema:
                return [variant for option in schema[key] for variant in self.variants(option)]
        return [schema]

    def choices(self, schema: dict | None) -> list[str]:
        return [
            str(value)
            for variant in self.variants(schema)
            for value in variant.get("enum", ())
            if value not in ("", None)
        ]


# --- The contracts of a URLconf, built once from its OpenAPI schema --------------------------

_lock = threading.Lock()
_contracts: dict[str, dict[tuple, Contract]] = {}


def _build(urlconf: str) -> dict[tuple, Contract]:
    from drf_spectacular.drainage import GENERATOR_STATS
    from drf_spectacular.generators import SchemaGenerator

    generator = SchemaGenerator(urlconf=urlconf)
    with GENERATOR_STATS.silence():
        schema = generator.get_schema(request=None, public=True)
        endpoints = generator._get_paths_and_endpoints()
    components = schema.get("components", {}).get("schemas", {})
    contracts: dict[tuple, Contract] = {}
    for path, _regex, method, view in endpoints:
        operation = schema["paths"].get(path, {}).get(method.lower())
        if operation is not None:
            key = (type(view), getattr(view, "action", None), method.upper())
            contracts.setdefault(key, Contract(operation, components))
    return contracts


def contracts_for(urlconf: str) -> dict[tuple, Contract]:
    contracts = _contracts.get(urlconf)
    if contracts is None:
        with _lock:
            contracts = _contracts.get(urlconf)
            if contracts is None:
                contracts = _contracts[urlconf] = _build(urlconf)
    return contracts


def contract_of(view, request) -> Contract | None:
    method = "GET" if request.method == "HEAD" else request.method.upper()
    urlconf = getattr(request, "urlconf", None) or get_urlconf() or settings.ROOT_URLCONF
    return contracts_for(str(urlconf)).get((type(view), getattr(view, "action", None), method))


# --- The checks ---------------------------------------------------------------------------------


def _suggest(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" Did you mean {close[0]}?" if close else ""


def _unknown_fields(contract: Contract, value: Any, schema: dict | None, prefix: str, out: dict) -> None:
    variants = contract.variants(schema)
    if len(variants) != 1:
        return  # one of several shapes: the serializer decides which
    schema = variants[0]
    if isinstance(value, dict) and "properties" in schema and not schema.get("additionalProperties"):
        properties = schema["properties"]
        for key, inner in value.items():
            name = f"{prefix}{key}"
            if key in properties:
                if not properties[key].get("readOnly"):
                    _unknown_fields(contract, inner, properties[key], f"{name}.", out)
                continue
            writable = [field for field, spec in properties.items() if not spec.get("readOnly")]
            hint = _suggest(str(key), writable) or (
                f" Known fields: {', '.join(writable)}." if writable else " This request takes no body."
            )
            out[name] = [f"Unknown field.{hint}"]
    elif isinstance(value, list) and schema.get("type") == "array":
        for index, item in enumerate(value):
            _unknown_fields(contract, item, schema.get("items"), f"{prefix}{index}.", out)


def _query_errors(contract: Contract, request) -> tuple[dict, list[str]]:
    errors: dict[str, list[str]] = {}
    unknown = []
    params = request.query_params
    for name in params:
        if name not in contract.query:
            unknown.append(name)
            known = sorted(contract.query)
            hint = _suggest(name, known) or (
                f" Known parameters: {', '.join(known)}." if known else " This endpoint takes no query parameters."
            )
            errors[name] = [f"Unknown query parameter.{hint}"]
            continue
        for raw in params.getlist(name):
            message = _query_value_error(contract, contract.query[name], raw)
            if message:
                errors[name] = [message]
    return errors, unknown


def _query_value_error(contract: Contract, schema: dict, raw: str) -> str | None:
    # Choices are the view's to check (its error gets the list from choices_in_errors); types
    # that django-filter would read as "no filter" when invalid are refused here.
    variants = contract.variants(schema)
    schema = variants[0] if len(variants) == 1 else {}
    if schema.get("enum"):
        return None
    if schema.get("type") == "boolean":
        if raw.strip().lower() not in _TRUE_FALSE:
            return f'"{raw[:100]}" is not a boolean: use true or false.'
    elif schema.get("type") == "integer":
        try:
            int(raw)
        except ValueError:
            return f'"{raw[:100]}" is not a whole number.'
    return None


def check_request(view, request) -> None:
    """Raise UnknownParameters for what the view's operation does not accept."""
    if request.method == "OPTIONS":
        return
    if request.method not in _BODY_METHODS and not request.META.get("QUERY_STRING"):
        return  # nothing that could be unknown: no parameter, no body read
    contract = contract_of(view, request)
    if contract is None:
        return  # no such operation: the view answers 405 (or 404) on its own
    errors, unknown = _query_errors(contract, request)
    if request.method in _BODY_METHODS:
        data = request.data
        if isinstance(data, dict) and data:
            body_errors: dict[str, list[str]] = {}
            if contract.body is None:
                for key in data:
                    body_errors[str(key)] = ["Unknown field. This request takes no body."]
            else:
                _unknown_fields(contract, data, contract.body, "", body_errors)
            unknown += [name for name in body_errors if name not in errors]
            errors.update(body_errors)
    if errors:
        raise UnknownParameters(errors, unknown)


# --- Choices in errors -----------------------------------------------------------------------


def _schema_at(contract: Contract, schema: dict | None, path: list[str]) -> dict | None:
    for step in path:
        variants = [v for v in contract.variants(schema) if v]
        if not variants:
            return None
        current = variants[0]
        if current.get("type") == "array" or "items" in current:
            schema = current.get("items")
        elif "properties" in current:
            schema = current["properties"].get(step)
        else:
            return None
    return schema


def _annotate(detail: Any, contract: Contract, path: list[str]) -> Any:
    if isinstance(detail, dict):
        return {key: _annotate(value, contract, [*path, str(key)]) for key, value in detail.items()}
    if isinstance(detail, list):
        return [_annotate(item, contract, path) for item in detail]
    if isinstance(detail, ErrorDetail) and detail.code == "invalid_choice" and "Valid choices" not in detail:
        schema = _schema_at(contract, contract.body, path) if contract.body else None
        if schema is None and len(path) == 1:
            schema = contract.query.get(path[0])
        choices = contract.choices(_list_item(contract, schema))
        if choices:
            return ErrorDetail(f"{detail} Valid choices: {', '.join(choices)}.", code=detail.code)
    return detail


def _list_item(contract: Contract, schema: dict | None) -> dict | None:
    variants = contract.variants(schema)
    if len(variants) == 1 and variants[0].get("type") == "array":
        return variants[0].get("items")
    return schema


def choices_in_errors(view, request, exc: ValidationError) -> None:
    """Name the valid choices in each invalid-choice error of `exc` (in place)."""
    try:
        contract = contract_of(view, request)
    except Exception:  # never let the enrichment of an error become an error
        return
    if contract is not None:
        exc.detail = _annotate(exc.detail, contract, [])
