"""The API's content negotiation (leadhub/api/negotiation.py): the same answer as DRF's for
every Accept header, parsed only when it is not plainly "anything" or JSON."""

import pytest
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BrowsableAPIRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.test import APIRequestFactory

from leadhub.api.negotiation import JsonFirstNegotiation

ACCEPTS = [
    None,
    "*/*",
    "application/*",
    "application/json",
    " application/json ",
    "application/json; indent=4",
    "*/*; q=0.8",
    "text/html, application/json;q=0.9",
    "application/json, text/html",
]


def _request(accept, query=""):
    extra = {} if accept is None else {"HTTP_ACCEPT": accept}
    return Request(APIRequestFactory().get("/api/v1/workspace" + query, **extra))


def _answer(negotiation, request, renderers, suffix=None):
    try:
        renderer, media_type = negotiation.select_renderer(request, renderers, suffix)
    except Exception as error:  # DRF's refusals (406, 404) must be the same too
        return type(error).__name__
    return type(renderer).__name__, media_type


@pytest.mark.parametrize("accept", ACCEPTS)
@pytest.mark.parametrize("renderers", [[JSONRenderer()], [JSONRenderer(), BrowsableAPIRenderer()]])
def test_the_answer_is_drfs(accept, renderers):
    ours, drfs = JsonFirstNegotiation(), DefaultContentNegotiation()
    assert _answer(ours, _request(accept), renderers) == _answer(drfs, _request(accept), renderers)
    for query, suffix in (("?format=json", None), ("?format=api", None), ("", "json"), ("", "api")):
        assert _answer(ours, _request(accept, query), renderers, suffix) == _answer(
            drfs, _request(accept, query), renderers, suffix
        )


def test_the_api_still_refuses_what_it_cannot_answer(api_a):
    assert api_a.get("/api/v1/workspace", HTTP_ACCEPT="text/html").status_code == 406
    response = api_a.get("/api/v1/workspace", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response.json()["credential"]["type"] == "api_key"
