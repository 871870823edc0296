"""The leads list and a lead's page: what a person sees, and that each change goes through the
CRM's services (the same timeline entries and events as the API)."""

import datetime

import pytest
from django.utils import timezone

from crm.contacts.services import contact_add_tag
from crm.models import Contact, Note, Tag, TimelineEntry
from tests.crm.support import contact_make
from webhooks.models import Event

pytestmark = pytest.mark.django_db


def leads_url(workspace, query=""):
    return f"/w/{workspace.pk}/leads/{query}"


def test_the_list_shows_leads_newest_first_with_the_hot_badge(owner_client, workspace_a):
    contact_make(workspace_a, phone="+18187405001", name="Older Lead")
    hot = contact_make(workspace_a, phone="+18187405002", name="Hot Lead", message_count=7)
    response = owner_client.get(leads_url(workspace_a))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.index("Hot Lead") < page.index("Older Lead")
    assert f'href="/w/{workspace_a.pk}/leads/{hot.pk}/"' in page
    assert page.count('class="badge hot"') == 1


def test_an_empty_workspace_says_how_leads_arrive(owner_client, workspace_a):
    response = owner_client.get(leads_url(workspace_a))
    assert b"No leads yet" in response.content
    assert b"import a CSV" in response.content


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("lovelace", "Ada Lovelace"),  # part of the name
        ("ADA@example.com", "Ada Lovelace"),  # an e-mail matches exactly, any case
        ("(818) 740 5020", "Ada Lovelace"),  # a phone in any written form
        ("(818) 740-502", "Ada Lovelace"),  # a part of one, with separators
        ("Engines", "Ada Lovelace"),  # company
    ],
)
def test_search_finds_like_the_apis_q(owner_client, workspace_a, q, expected):
    contact_make(
        workspace_a, phone="+18187405020", email="ada@example.com", name="Ada Lovelace", company_name="Engines"
    )
    contact_make(workspace_a, phone="+18187405030", name="Grace Hopper")
    response = owner_client.get(leads_url(workspace_a), {"q": q})
    page = response.content.decode()
    assert expected in page
    assert "Grace Hopper" not in page


def test_a_search_that_matches_nothing_says_so(owner_client, workspace_a, lead_a):
    response = owner_client.get(leads_url(workspace_a), {"q": "nobody-like-this"})
    assert b"No lead matches" in response.content


def test_filters_by_status_tag_hot_and_date(owner_client, workspace_a):
    won = contact_make(workspace_a, phone="+18187405001", name="Won Lead")
    Contact.objects.filter(pk=won.pk).update(status="won")
    tagged = contact_make(workspace_a, phone="+18187405002", name="Tagged Lead")
    contact_add_tag(contact=tagged, tag=Tag.objects.create(workspace=workspace_a, name="vip"))
    contact_make(workspace_a, phone="+18187405003", name="Hot Lead", message_count=5)
    old = contact_make(workspace_a, phone="+18187405004", name="Old Lead")
    Contact.objects.filter(pk=old.pk).update(created_at=timezone.now() - datetime.timedelta(days=40))

    def names(**query):
        page = owner_client.get(leads_url(workspace_a), query).content.decode()
        return {name for name in ("Won Lead", "Tagged Lead", "Hot Lead", "Old Lead") if name in page}

    assert names(status="won") == {"Won Lead"}
    assert names(tag="vip") == {"Tagged Lead"}
    assert names(hot="true") == {"Hot Lead"}
    assert names(hot="false") == {"Won Lead", "Tagged Lead", "Old Lead"}
    since = (timezone.now() - datetime.timedelta(days=10)).date().isoformat()
    assert names(created_after=since) == {"Won Lead", "Tagged Lead", "Hot Lead"}
    assert names(created_before=since) == {"Old Lead"}


def test_a_filter_it_cannot_read_is_shown_and_left_out(owner_client, workspace_a, lead_a):
    response = owner_client.get(leads_url(workspace_a), {"status": "bogus", "created_after": "yesterday"})
    assert response.status_code == 200
    assert b"Some filters were not understood" in response.content
    assert b"Ada Lovelace" in response.content


def test_cursor_pages_walk_every_lead_once(owner_client, workspace_a):
    made = {contact_make(workspace_a, phone=f"+1818740{5100 + n}", name=f"Lead {n:03d}").pk for n in range(120)}
    seen, cursor, pages = [], None, 0
    while True:
        response = owner_client.get(leads_url(workspace_a), {"cursor": cursor} if cursor else {})
        page = response.context["page"]
        seen += [contact.pk for contact in page.items]
        pages += 1
        cursor = page.next_cursor
        if not cursor:
            break
        assert 'rel="next"' in response.content.decode()
    assert pages == 3
    assert len(seen) == len(set(seen)) == 120
    assert set(seen) == made


def test_htmx_gets_only_the_results(owner_client, workspace_a, lead_a):
    response = owner_client.get(leads_url(workspace_a), {"q": "Ada"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="results")
    assert response.status_code == 200
    body = response.content.decode()
    assert "Ada Lovelace" in body
    assert "<html" not in body and "<nav" not in body


def test_the_list_costs_the_same_queries_for_5_or_50_leads(owner_client, workspace_a, django_assert_max_num_queries):
    tag = Tag.objects.create(workspace=workspace_a, name="vip")
    for n in range(50):
        contact = contact_make(workspace_a, phone=f"+1818740{5200 + n}", name=f"Lead {n}")
        contact_add_tag(contact=contact, tag=tag)
    # session, user, gate, leads, their tags, tags for the filter, owners, switcher, agencies
    with django_assert_max_num_queries(10):
        response = owner_client.get(leads_url(workspace_a))
    assert response.content.decode().count('data-row href="/w/') == 50


def test_the_lead_page_shows_fields_consent_and_timeline(owner_client, workspace_a, lead_a):
    Contact.objects.filter(pk=lead_a.pk).update(sms_opt_out=True)
    response = owner_client.get(leads_url(workspace_a, f"{lead_a.pk}/"))
    page = response.content.decode()
    assert "Ada Lovelace" in page and "+18187405020" in page and "ada@example.com" in page
    assert "opted out of SMS/WhatsApp" in page
    assert "Lead created from test" in page  # the first timeline entry


def test_a_note_added_with_htmx_comes_back_on_the_timeline(owner_client, owner_a, workspace_a, lead_a):
    response = owner_client.post(
        leads_url(workspace_a, f"{lead_a.pk}/notes"), {"body": "Wants a quote on Tuesday"}, HTTP_HX_REQUEST="true"
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="activity"' in body and "<html" not in body
    assert "Note: Wants a quote on Tuesday" in body
    note = Note.objects.get(contact=lead_a)
    assert note.author == owner_a
    # The same service as the API: a timeline entry and the note.created event.
    assert TimelineEntry.objects.filter(contact=lead_a, kind="note").exists()
    event = Event.objects.get(workspace=workspace_a, type="note.created")
    assert event.data["body"] == "Wants a quote on Tuesday"


def test_an_empty_note_is_refused_with_a_message(owner_client, workspace_a, lead_a):
    response = owner_client.post(leads_url(workspace_a, f"{lead_a.pk}/notes"), {"body": "  "}, HTTP_HX_REQUEST="true")
    assert b"A note needs some text" in response.content
    assert not Note.objects.exists()


def test_a_note_without_javascript_redirects_back_to_the_lead(owner_client, workspace_a, lead_a):
    response = owner_client.post(leads_url(workspace_a, f"{lead_a.pk}/notes"), {"body": "No JS"})
    assert response.status_code == 302
    assert response["Location"] == leads_url(workspace_a, f"{lead_a.pk}/")
    assert b"No JS" in owner_client.get(response["Location"]).content


def test_tags_are_set_to_the_ticked_ones(owner_client, workspace_a, lead_a):
    vip = Tag.objects.create(workspace=workspace_a, name="vip")
    cold = Tag.objects.create(workspace=workspace_a, name="cold")
    contact_add_tag(contact=lead_a, tag=cold)
    response = owner_client.post(leads_url(workspace_a, f"{lead_a.pk}/tags"), {"tags": [str(vip.pk)]})
    assert response.status_code == 302
    assert list(lead_a.tags.values_list("name", flat=True)) == ["vip"]
    entry = TimelineEntry.objects.filter(contact=lead_a, kind="tag").order_by("-id").first()
    assert entry.data == {"added": ["vip"], "removed": ["cold"]}


def test_a_tag_of_another_workspace_cannot_be_attached(owner_client, workspace_a, workspace_b, lead_a):
    foreign = Tag.objects.create(workspace=workspace_b, name="theirs")
    owner_client.post(leads_url(workspace_a, f"{lead_a.pk}/tags"), {"tags": [str(foreign.pk)]})
    assert not lead_a.tags.exists()


def test_owner_and_status_change_through_contact_update(owner_client, agent_a, workspace_a, lead_a):
    response = owner_client.post(
        leads_url(workspace_a, f"{lead_a.pk}/update"), {"status": "won", "owner": str(agent_a.pk)}
    )
    assert response.status_code == 302
    lead_a.refresh_from_db()
    assert (lead_a.status, lead_a.owner_id) == ("won", agent_a.pk)
    event = Event.objects.filter(workspace=workspace_a, type="lead.updated").latest("created_at")
    assert event.data["status"] == "won" and event.data["owner_id"] == agent_a.pk


def test_an_owner_from_outside_the_workspace_is_404(owner_client, outsider, workspace_a, lead_a):
    response = owner_client.post(
        leads_url(workspace_a, f"{lead_a.pk}/update"), {"status": "new", "owner": str(outsider.pk)}
    )
    assert response.status_code == 404
    lead_a.refresh_from_db()
    assert lead_a.owner_id is None
