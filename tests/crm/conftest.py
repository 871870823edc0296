"""Fixtures of the intake tests (POST /api/v1/webhook/forms, SPEC §5.1)."""

import pytest

INTAKE_URL = "/api/v1/webhook/forms"


@pytest.fixture
def token(workspace_a, make_key):
    return make_key(workspace_a, scopes=["intake"])


@pytest.fixture
def post(client, token):
    """Post a form as JSON with api_token in the body."""

    def send(**fields):
        return client.post(INTAKE_URL, {"api_token": token, **fields}, content_type="application/json")

    return send
