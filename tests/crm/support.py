"""Helpers for the CRM's tests: contacts made through the service, and the §4 envelope."""

from crm.contacts.services import contact_upsert
from crm.normalize import parse_phone


def contact_make(workspace, *, phone=None, email=None, via="test", **values):
    result = contact_upsert(
        workspace=workspace,
        phone=parse_phone(phone, default_region=workspace.country) if phone else None,
        email=email,
        values=values,
        source=via,
        update_existing=False,
    )
    return result.contact


def error_of(response, status, code):
    assert response.status_code == status, response.content
    assert response["Content-Type"].startswith("application/json")
    body = response.json()
    assert body["error"]["code"] == code, body
    assert "Traceback" not in response.content.decode()
    return body["error"]
