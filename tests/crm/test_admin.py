"""The Django admin of the CRM and of conversations: every page renders; contacts and
conversations are read-only there (the services write them), and an operator's delete goes
through crm's delete services, so the stats forget the lead."""

import pytest
from django.urls import reverse

from crm.catalog.services import ring_group_create, sequence_create, tag_create
from crm.contacts.services import note_create
from crm.models import Contact, DispositionStatus, Line, Note, RingGroup, Sequence, Tag
from messaging.brains.services import brain_create
from messaging.models import Conversation
from messaging.widget.services import widget_capture

from .support import contact_make

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client_a(client, django_user_model):
    user = django_user_model.objects.create_superuser(username="root", password="root-pass", email="r@example.com")
    client.force_login(user)
    return client


@pytest.fixture
def data(workspace_a, owner_a):
    contact = contact_make(workspace_a, phone="8187405020", name="Ada")
    note_create(contact=contact, body="a note")
    tag_create(workspace=workspace_a, name="vip")
    DispositionStatus.objects.create(workspace=workspace_a, name="Call back")
    Line.objects.create(workspace=workspace_a, name="Main", phone_number="+18185550100")
    ring_group_create(workspace=workspace_a, name="Sales", members=[(owner_a, True)])
    sequence_create(workspace=workspace_a, name="Seq", steps=[{"message": "Hi"}])
    brain = brain_create(workspace=workspace_a, name="Bot")
    widget_capture(brain=brain, session_id="s1", messages=[{"role": "user", "content": "hello"}])
    return contact


def test_every_crm_and_conversation_page_renders(admin_client_a, data):
    conversation = Conversation.objects.get()
    for model, obj in (
        ("crm/contact", data),
        ("crm/tag", Tag.objects.get()),
        ("crm/dispositionstatus", DispositionStatus.objects.get()),
        ("crm/line", Line.objects.get()),
        ("crm/ringgroup", RingGroup.objects.get()),
        ("crm/sequence", Sequence.objects.get()),
        ("messaging/conversation", conversation),
    ):
        app, name = model.split("/")
        changelist = admin_client_a.get(reverse(f"admin:{app}_{name}_changelist"))
        assert changelist.status_code == 200, model
        change = admin_client_a.get(reverse(f"admin:{app}_{name}_change", args=[obj.pk]))
        assert change.status_code == 200, model


def test_contact_page_shows_notes_and_timeline_read_only(admin_client_a, data):
    page = admin_client_a.get(reverse("admin:crm_contact_change", args=[data.pk])).content.decode()
    assert "a note" in page
    assert "created" in page
    response = admin_client_a.post(reverse("admin:crm_contact_change", args=[data.pk]), {"name": "Changed"})
    assert response.status_code == 403
    assert Note.objects.count() == 1


def test_contact_search_finds_by_phone(admin_client_a, data):
    response = admin_client_a.get(reverse("admin:crm_contact_changelist"), {"q": "+18187405020"})
    assert "Ada" in response.content.decode()


def _leads_and_hot(api) -> tuple[int, int]:
    body = api.get("/api/v1/stats").json()
    return body["leads"]["total"], body["hot"]


def test_an_operator_deleting_a_contact_takes_it_out_of_the_stats(admin_client_a, api_a, workspace_a):
    ada = contact_make(workspace_a, phone="8187405020", message_count=6)
    contact_make(workspace_a, phone="8187405021")
    assert _leads_and_hot(api_a) == (2, 1)
    response = admin_client_a.post(reverse("admin:crm_contact_delete", args=[ada.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert not Contact.objects.filter(pk=ada.pk).exists()
    assert _leads_and_hot(api_a) == (1, 0)


def test_an_operator_deleting_contacts_in_bulk_takes_them_out_of_every_workspace_s_stats(
    admin_client_a, api_a, api_b, workspace_a, workspace_b
):
    doomed = [
        contact_make(workspace_a, phone="8187405020", source="widget", message_count=5),
        contact_make(workspace_a, phone="8187405021", source="intake", name="Bo", email="bo@example.com"),
        contact_make(workspace_b, phone="8187405020", source="widget", message_count=9),
    ]
    contact_make(workspace_a, phone="8187405022", source="widget", message_count=5)
    contact_make(workspace_b, phone="8187405023")
    assert _leads_and_hot(api_a) == (3, 2)
    assert _leads_and_hot(api_b) == (2, 1)
    response = admin_client_a.post(
        reverse("admin:crm_contact_changelist"),
        {"action": "delete_selected", "_selected_action": [c.pk for c in doomed], "post": "yes"},
    )
    assert response.status_code == 302
    assert Contact.objects.count() == 2
    assert _leads_and_hot(api_a) == (1, 1)
    assert _leads_and_hot(api_b) == (1, 0)
    assert api_a.get("/api/v1/stats").json()["qualified"] == 0
