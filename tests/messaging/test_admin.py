"""The Django admin of messaging (issue #9 item 9): an operator opens the brains, knowledge
documents and lines; a line's page never shows its credentials back, neither the plaintext nor
the ciphertext stored in the database."""

import warnings

import pytest
from django.db import connection
from django.urls import reverse

from messaging.brains.services import knowledge_create
from messaging.lines.services import line_update
from messaging.models import KnowledgeDocument, LineProvider

from .conftest import ACCOUNT_SID, AUTH_TOKEN

pytestmark = pytest.mark.django_db

SIGNING_KEY = "PSK-signing-key-" + "c" * 20


@pytest.fixture
def operator(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password="root-pass", email="r@example.com")
    client.force_login(user)
    return client


@pytest.fixture
def signalwire_line(line_a):
    """line_a moved to SignalWire: both secrets set."""
    line_update(
        line=line_a,
        data={
            "provider": "signalwire",
            "signalwire_space": "example.signalwire.com",
            "signing_key": SIGNING_KEY,
            "account_sid": ACCOUNT_SID,
            "auth_token": AUTH_TOKEN,
        },
    )
    return LineProvider.objects.get(line=line_a)


def _stored(provider: LineProvider) -> tuple[str, str]:
    """The two secrets as the database holds them (ciphertexts)."""
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {quote('auth_token')}, {quote('signing_key')} FROM {quote(LineProvider._meta.db_table)} "
            f"WHERE {quote('line_id')} = %s",
            [provider.pk],
        )
        return cursor.fetchone()


def _pages(operator, name: str, obj, search: str) -> list[str]:
    """The changelist, the changelist searched, and the object's page: each 200."""
    pages = []
    for url, query in (
        (reverse(f"admin:messaging_{name}_changelist"), {}),
        (reverse(f"admin:messaging_{name}_changelist"), {"q": search}),
        (reverse(f"admin:messaging_{name}_change", args=[obj.pk]), {}),
    ):
        response = operator.get(url, query)
        assert response.status_code == 200, (url, query)
        pages.append(response.content.decode())
    return pages


def test_an_operator_opens_brains_and_knowledge(operator, brain_a, workspace_a):
    with warnings.catch_warnings():
        # booking_url's form field warned of Django 6's default scheme on every brain page.
        warnings.simplefilter("error", DeprecationWarning)
        changelist, searched, change = _pages(operator, "brain", brain_a, "front")
    assert "Front desk" in changelist and "Front desk" in searched
    assert "You are the assistant of Acme Dental" in change
    document = KnowledgeDocument.objects.get(title="Opening hours")
    changelist, searched, change = _pages(operator, "knowledgedocument", document, "hours")
    assert "Opening hours" in changelist and "Opening hours" in searched
    assert "Teeth whitening price" not in searched
    assert "Monday to Friday from 9am to 6pm" in change


def test_an_operator_edits_a_document(operator, brain_a, workspace_a):
    document = knowledge_create(workspace=workspace_a, brain=brain_a, title="Parking", content="Free parking.")
    response = operator.post(
        reverse("admin:messaging_knowledgedocument_change", args=[document.pk]),
        {"workspace": workspace_a.pk, "brain": brain_a.pk, "title": "Parking", "content": "Parking is free."},
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    document.refresh_from_db()
    assert document.content == "Parking is free."


def test_a_lines_pages_never_show_its_secrets(operator, signalwire_line):
    token_stored, key_stored = _stored(signalwire_line)
    assert token_stored and key_stored and AUTH_TOKEN not in token_stored  # encrypted at rest
    pages = _pages(operator, "lineprovider", signalwire_line, "example")
    pages.append(operator.get(reverse("admin:crm_line_change", args=[signalwire_line.pk])).content.decode())
    pages.append(operator.get(reverse("admin:crm_line_changelist")).content.decode())
    for page in pages:
        for secret in (AUTH_TOKEN, SIGNING_KEY, token_stored, key_stored):
            assert secret not in page
    # What the page is for is there: the account, the space, the verification.
    change = pages[2]
    assert ACCOUNT_SID in change and "example.signalwire.com" in change
    assert "auth_token" not in change and "signing_key" not in change
    # Read-only: a post changes nothing.
    response = operator.post(
        reverse("admin:messaging_lineprovider_change", args=[signalwire_line.pk]), {"account_sid": "AC" + "0" * 32}
    )
    assert response.status_code == 403
    assert LineProvider.objects.get(pk=signalwire_line.pk).account_sid == ACCOUNT_SID
