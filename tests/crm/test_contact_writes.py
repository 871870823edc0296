"""One write path: the same change to a contact, made from the intake, the native API, the
dashboard, a conversation, a campaign or a service call, stores the same thing, records the
same timeline and emits the same events; and the contact's fields are declared once
(representation, event payload, max lengths)."""

import pytest

from crm.catalog.services import tag_create
from crm.contacts import services
from crm.contacts.bulk import contacts_count_messages
from crm.contacts.fields import EVENT_EXTRA, REPRESENTATION, TEXT_FIELDS, max_length
from crm.contacts.storage import contact_new
from crm.models import Contact, DispositionStatus, Line, Tag, TimelineEntry
from crm.normalize import parse_phone
from leadhub.exceptions import AlreadyExists
from messaging.brains.services import brain_create
from messaging.widget.services import widget_capture
from webhooks.models import Event

from .support import contact_make

pytestmark = pytest.mark.django_db
INTAKE = "/api/v1/webhook/forms"


@pytest.fixture
def intake(client, workspace_a, make_key):
    key = make_key(workspace_a, scopes=["intake"])

    def send(**fields):
        return client.post(INTAKE, {"api_token": key, **fields}, content_type="application/json")

    return send


@pytest.fixture
def catalog(workspace_a):
    return {
        "line": Line.objects.create(workspace=workspace_a, name="Main", phone_number="+18185550000"),
        "tag": Tag.objects.create(workspace=workspace_a, name="facebook"),
        "disposition": DispositionStatus.objects.create(workspace=workspace_a, name="Interested"),
    }


def types():
    return list(Event.objects.order_by("created_at", "id").values_list("type", flat=True))


# --- lead.created carries the state after the whole request ----------------------------------


def test_intake_lead_created_carries_owner_line_tag_and_disposition(intake, agent_a, catalog):
    response = intake(
        phone_number="8187405020",
        user_id=agent_a.pk,
        line_id=catalog["line"].pk,
        tag_id=catalog["tag"].pk,
        disposition_status_id=catalog["disposition"].pk,
    )
    assert response.status_code == 201
    assert types() == ["lead.created"]
    data = Event.objects.get().data
    assert data["owner_id"] == agent_a.pk
    assert data["line_id"] == catalog["line"].pk
    assert data["tags"] == ["facebook"]
    assert data["disposition_status"] == {"id": catalog["disposition"].pk, "name": "Interested"}
    contact = Contact.objects.get()
    kinds = set(contact.timeline.values_list("kind", flat=True))
    assert kinds == {"created", "owner", "line", "tag", "disposition"}


def test_api_create_with_owner_and_tags_is_one_lead_created_carrying_them(api_a, workspace_a, owner_a):
    tag_create(workspace=workspace_a, name="vip")
    response = api_a.post(
        "/api/v1/contacts", {"phone_number": "8187405020", "owner_id": owner_a.pk, "tags": ["vip"]}, format="json"
    )
    assert response.status_code == 201
    assert types() == ["lead.created"]
    data = Event.objects.get().data
    assert data["owner_id"] == owner_a.pk
    assert data["tags"] == ["vip"]
    assert data == {**response.json(), **{key: data[key] for key in EVENT_EXTRA}}


def test_a_qualified_new_lead_emits_created_then_qualified_with_the_same_state(intake, agent_a):
    intake(phone_number="8187405020", name="Ada", user_id=agent_a.pk)
    assert types() == ["lead.created", "lead.qualified"]
    created, qualified = (event.data for event in Event.objects.order_by("created_at", "id"))
    assert created == qualified
    assert created["owner_id"] == agent_a.pk and created["status"] == "qualified"


# --- the same change from every channel ---------------------------------------------------------


def _owner_change_by_intake(intake, contact, owner):
    assert intake(phone_number=contact.phone_number, user_id=owner.pk, force_update=True).status_code == 200


def _owner_change_by_api(api, contact, owner):
    assert api.patch(f"/api/v1/contacts/{contact.id}", {"owner_id": owner.pk}, format="json").status_code == 200


def _owner_change_by_service(contact, owner):
    services.contact_set_owner(contact=contact, owner=owner)


def _owner_change_by_dashboard(dashboard, contact, owner):
    response = dashboard.post(
        f"/w/{contact.workspace_id}/leads/{contact.id}/update", {"status": contact.status, "owner": owner.pk}
    )
    assert response.status_code == 302


@pytest.fixture
def dashboard(client, owner_a):
    client.force_login(owner_a)
    return client


@pytest.mark.parametrize("channel", ["intake", "api", "service", "dashboard"])
def test_an_owner_change_emits_one_lead_updated_and_an_owner_entry_from_every_channel(
    channel, intake, api_a, dashboard, workspace_a, agent_a
):
    contact = contact_make(workspace_a, phone="8187405020")
    Event.objects.all().delete()
    if channel == "intake":
        _owner_change_by_intake(intake, contact, agent_a)
    elif channel == "api":
        _owner_change_by_api(api_a, contact, agent_a)
    elif channel == "dashboard":
        _owner_change_by_dashboard(dashboard, contact, agent_a)
    else:
        _owner_change_by_service(contact, agent_a)
    assert types() == ["lead.updated"]
    assert Event.objects.get().data["owner_id"] == agent_a.pk
    entry = contact.timeline.get(kind=TimelineEntry.Kind.OWNER)
    assert entry.data == {"owner_id": agent_a.pk}


@pytest.mark.parametrize("channel", ["intake", "api", "service", "dashboard"])
def test_a_tag_added_emits_one_lead_updated_and_a_tag_entry_from_every_channel(
    channel, intake, api_a, dashboard, workspace_a, catalog
):
    contact = contact_make(workspace_a, phone="8187405020")
    tag = catalog["tag"]
    Event.objects.all().delete()
    if channel == "intake":  # a tag is added without force_update (SPEC §5.1)
        assert intake(phone_number=contact.phone_number, tag_id=tag.pk).status_code == 202
    elif channel == "api":
        response = api_a.patch(f"/api/v1/contacts/{contact.id}", {"tags": [tag.name]}, format="json")
        assert response.status_code == 200
    elif channel == "dashboard":
        response = dashboard.post(f"/w/{workspace_a.pk}/leads/{contact.id}/tags", {"tags": [tag.pk]})
        assert response.status_code == 302
    else:
        services.contact_set_tags(contact=contact, tags=[tag])
    assert types() == ["lead.updated"]
    assert Event.objects.get().data["tags"] == ["facebook"]
    assert contact.timeline.get(kind=TimelineEntry.Kind.TAG).data == {"added": ["facebook"], "removed": []}


@pytest.mark.parametrize("relation", ["line", "disposition"])
@pytest.mark.parametrize("channel", ["intake", "api", "service"])
def test_a_line_or_disposition_change_emits_one_lead_updated_and_its_entry_from_every_channel(
    channel, relation, intake, api_a, workspace_a, catalog
):
    """The dashboard sets neither (only owner, status and tags): these are the channels that do."""
    contact = contact_make(workspace_a, phone="8187405020")
    value = catalog[relation]
    name = {"line": "line_id", "disposition": "disposition_status_id"}[relation]
    Event.objects.all().delete()
    if channel == "intake":  # replacing needs force_update (SPEC §5.1)
        assert intake(phone_number=contact.phone_number, force_update=True, **{name: value.pk}).status_code == 200
    elif channel == "api":
        response = api_a.patch(f"/api/v1/contacts/{contact.id}", {name: value.pk}, format="json")
        assert response.status_code == 200
    elif relation == "line":
        services.contact_set_line(contact=contact, line=value)
    else:
        services.contact_set_disposition(contact=contact, disposition=value)
    assert types() == ["lead.updated"]
    data = Event.objects.get().data
    if relation == "line":
        assert data["line_id"] == value.pk
        assert contact.timeline.get(kind=TimelineEntry.Kind.LINE).data == {"line_id": value.pk}
    else:
        assert data["disposition_status"] == {"id": value.pk, "name": "Interested"}
        entry = contact.timeline.get(kind=TimelineEntry.Kind.DISPOSITION)
        assert entry.data == {"disposition": "Interested"}


# Counting messages: a count that moves is no change of the lead (message.received and
# message.sent say each message), from every channel that counts them; the message that makes
# the lead hot is one, so it emits one lead.updated carrying `hot`.


def _widget_counts(workspace):
    brain = brain_create(workspace=workspace, name="Bot")
    said = []

    def count(n):  # the widget saves the whole conversation; the count is of stored messages
        said.extend({"role": "user", "content": f"message {len(said) + i}"} for i in range(n))
        return widget_capture(brain=brain, session_id="s1", messages=list(said)).contact

    return count(1), lambda contact, n: count(n)


def _conversation_counts(workspace):  # SMS/WhatsApp in and out, agents' replies, sequences
    def add(contact, n):
        services.contact_count_messages(contact=contact, count=n)

    return contact_make(workspace, phone="8187405020", message_count=1), add


def _campaign_counts(workspace):
    def add(contact, n):
        contacts_count_messages(contact_ids=[contact.pk], count=n)

    return contact_make(workspace, phone="8187405020", message_count=1), add


@pytest.mark.parametrize("channel", [_widget_counts, _conversation_counts, _campaign_counts], ids=lambda f: f.__name__)
def test_a_message_count_emits_nothing_and_the_one_that_makes_the_lead_hot_one_lead_updated(channel, workspace_a):
    contact, add = channel(workspace_a)
    Event.objects.filter(type__startswith="lead.").delete()
    entries = TimelineEntry.objects.count()
    add(contact, 3)
    assert types() == []
    add(contact, 1)
    assert types() == ["lead.updated"]
    data = Event.objects.get().data
    assert (data["message_count"], data["hot"]) == (5, True)
    add(contact, 2)
    assert types() == ["lead.updated"]
    assert Contact.objects.get(pk=contact.pk).message_count == 7
    assert TimelineEntry.objects.count() == entries


def test_a_tags_only_patch_emits_lead_updated_with_the_tags(api_a, workspace_a):
    contact = contact_make(workspace_a, phone="8187405020")
    tag_create(workspace=workspace_a, name="vip")
    Event.objects.all().delete()
    response = api_a.patch(f"/api/v1/contacts/{contact.id}", {"tags": ["vip"]}, format="json")
    assert response.status_code == 200
    assert types() == ["lead.updated"]
    assert Event.objects.get().data["tags"] == ["vip"]
    assert contact.timeline.get(kind=TimelineEntry.Kind.TAG).data == {"added": ["vip"], "removed": []}


def test_a_tag_added_by_intake_to_an_existing_contact_emits_lead_updated(intake, workspace_a, catalog):
    contact_make(workspace_a, phone="8187405020")
    Event.objects.all().delete()
    assert intake(phone_number="8187405020", tag_id=catalog["tag"].pk).status_code == 202
    assert types() == ["lead.updated"]
    assert Event.objects.get().data["tags"] == ["facebook"]


def test_a_patch_that_changes_nothing_emits_nothing(api_a, workspace_a):
    contact = contact_make(workspace_a, phone="8187405020", name="Ada")
    Event.objects.all().delete()
    assert api_a.patch(f"/api/v1/contacts/{contact.id}", {"name": "Ada"}, format="json").status_code == 200
    assert types() == []


def test_a_force_update_changing_fields_and_owner_is_one_lead_updated(intake, workspace_a, agent_a):
    contact_make(workspace_a, phone="8187405020")
    Event.objects.all().delete()
    intake(phone_number="8187405020", company_name="Engines", user_id=agent_a.pk, force_update=True)
    assert types() == ["lead.updated"]
    data = Event.objects.get().data
    assert data["company_name"] == "Engines" and data["owner_id"] == agent_a.pk


# --- identity clashes are a domain exception ----------------------------------------------------


def test_contact_create_of_an_existing_person_raises_already_exists_and_writes_nothing(workspace_a):
    ada = contact_make(workspace_a, phone="8187405020")
    before = (Event.objects.count(), TimelineEntry.objects.count())
    with pytest.raises(AlreadyExists) as caught:
        services.contact_create(
            workspace=workspace_a,
            phone=parse_phone("(818) 740 5020", default_region="US"),
            email=None,
            values={"name": "Someone"},
            attribution={"utm_source": "google"},
        )
    assert caught.value.field == "phone_number"
    assert caught.value.existing == ada
    assert (Event.objects.count(), TimelineEntry.objects.count()) == before
    ada.refresh_from_db()
    assert ada.latest_touch == {} and ada.name == ""


def test_contact_update_onto_another_contacts_phone_raises_already_exists(workspace_a):
    ada = contact_make(workspace_a, phone="8187405020")
    bob = contact_make(workspace_a, phone="8187405021")
    with pytest.raises(AlreadyExists) as caught:
        services.contact_update(contact=bob, values={"phone_number": ada.phone_number})
    assert (caught.value.field, caught.value.existing) == ("phone_number", ada)


def test_a_repeated_tag_is_409_naming_the_existing_tag(api_a, workspace_a):
    tag = tag_create(workspace=workspace_a, name="vip")
    response = api_a.post("/api/v1/tags", {"name": "vip"}, format="json")
    assert response.status_code == 409
    assert response.json()["error"] == {
        "code": "CONFLICT",
        "message": "A tag with this name exists already.",
        "details": {"field": "name", "id": str(tag.pk)},
    }


# --- the fields, declared once ------------------------------------------------------------------


def test_the_api_shows_exactly_the_declared_fields_in_order(api_a, workspace_a):
    contact = contact_make(workspace_a, phone="8187405020")
    assert list(api_a.get(f"/api/v1/contacts/{contact.id}").json()) == list(REPRESENTATION)


def test_lead_events_carry_the_representation_and_the_spec_names(intake):
    intake(phone_number="8187405020", email="ada@example.com")
    data = Event.objects.get(type="lead.created").data
    assert set(data) == {*REPRESENTATION, *EVENT_EXTRA}  # jsonb keeps no key order
    assert data["phone"] == data["phone_number"] == "+18187405020"


@pytest.mark.parametrize("name", TEXT_FIELDS)
def test_text_fields_take_up_to_the_models_max_length_and_no_more(intake, api_a, name):
    limit = max_length(name)
    assert limit == (Contact._meta.get_field(name).max_length or 10000)
    value = "a" * limit
    assert intake(phone_number="8187405020", **{name: value}).status_code == 201
    too_long = intake(phone_number="8187405021", **{name: value + "a"})
    assert too_long.status_code == 400
    assert name in too_long.json()["errors"]
    response = api_a.post("/api/v1/contacts", {"phone_number": "8187405022", name: value + "a"}, format="json")
    assert response.status_code == 400
    assert name in response.json()["error"]["details"]


def test_a_phone_with_the_email_of_a_phoneless_contact_joins_that_contact(intake, workspace_a):
    ada = contact_make(workspace_a, email="ada@example.com")
    response = intake(phone_number="8187405020", email="ada@example.com")
    assert response.status_code == 202
    assert response.json()["contact_id"] == str(ada.id)
    assert Contact.objects.count() == 1
    assert TimelineEntry.objects.filter(kind=TimelineEntry.Kind.CREATED).count() == 1
    assert types() == ["lead.created"]  # ada's own, from contact_make


def test_contact_new_builds_what_the_keyword_constructor_builds(workspace_a, owner_a):
    values = {
        "workspace": workspace_a,
        "phone_number": "+18187405020",
        "email": "ada@example.com",
        "first_touch": {"utm_source": "x"},
        "name": "Ada",
        "status": Contact.Status.QUALIFIED,
        "owner": owner_a,
        "line": None,
    }
    built, expected = contact_new(values), Contact(**values)

    def state(contact):
        return {key: value for key, value in contact.__dict__.items() if key not in ("_state", "id", "created_at")}

    assert state(built) == state(expected)
    assert built.owner is owner_a and built.workspace is workspace_a
    assert built._state.adding and built._state.db == expected._state.db
    assert built.other_phone_numbers == [] and built.other_phone_numbers is not contact_new(values).other_phone_numbers
    with pytest.raises(TypeError):
        contact_new({**values, "nonsense": 1})
