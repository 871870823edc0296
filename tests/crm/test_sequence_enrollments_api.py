"""/api/v1/sequences/{id}/enrollments: enroll a contact (as the intake's `sequence_id` does), list
a sequence's enrollments, unenroll; 409 on an active enrollment, 404 across workspaces, 400
naming the field, the scopes of the sequences."""

import pytest

from crm.catalog.services import sequence_create, sequence_enroll
from crm.models import Contact, Enrollment, TimelineEntry

from .support import error_of

pytestmark = pytest.mark.django_db


@pytest.fixture
def sequence(workspace_a):
    return sequence_create(workspace=workspace_a, name="Welcome", steps=[{"message": "Hi"}, {"message": "Again"}])


@pytest.fixture
def ada(workspace_a):
    return Contact.objects.create(workspace=workspace_a, phone_number="+18187405020", first_name="Ada")


@pytest.fixture
def theirs(workspace_b):
    """Workspace B's sequence and contact."""
    sequence = sequence_create(workspace=workspace_b, name="Theirs", steps=[{"message": "Hi"}])
    contact = Contact.objects.create(workspace=workspace_b, phone_number="+18187405099", first_name="Bea")
    return sequence, contact


def url(sequence, contact=None) -> str:
    path = f"/api/v1/sequences/{sequence.pk if hasattr(sequence, 'pk') else sequence}/enrollments"
    return path if contact is None else f"{path}/{contact.pk if hasattr(contact, 'pk') else contact}"


def test_enrolling_answers_201_with_the_enrollment_and_puts_it_on_the_timeline(api_a, sequence, ada):
    response = api_a.post(url(sequence), {"contact_id": str(ada.pk)}, format="json")

    assert response.status_code == 201, response.content
    enrollment = Enrollment.objects.get()
    body = response.json()
    assert body == {
        "id": enrollment.pk,
        "sequence_id": sequence.pk,
        "contact_id": str(ada.pk),
        "status": "active",
        "enrolled_at": body["enrolled_at"],
        "stopped_at": None,
    }
    assert (enrollment.contact_id, enrollment.sequence_id, enrollment.status) == (ada.pk, sequence.pk, "active")
    entry = TimelineEntry.objects.get(contact=ada, kind="sequence")
    assert entry.data == {"sequence_id": sequence.pk, "name": "Welcome"}
    assert [e["id"] for e in api_a.get(url(sequence)).json()["results"]] == [enrollment.pk]


def test_enrolling_an_active_contact_again_is_409_with_the_enrollment_and_changes_nothing(api_a, sequence, ada):
    enrollment = sequence_enroll(contact=ada, sequence=sequence)

    error = error_of(api_a.post(url(sequence), {"contact_id": str(ada.pk)}, format="json"), 409, "CONFLICT")

    assert error["details"] == {"field": "contact_id", "id": str(enrollment.pk)}
    assert Enrollment.objects.count() == 1
    assert TimelineEntry.objects.filter(contact=ada, kind="sequence").count() == 1


def test_other_sequences_go_on_when_a_contact_is_enrolled(api_a, workspace_a, sequence, ada):
    other = sequence_create(workspace=workspace_a, name="Other", steps=[{"message": "Yo"}])
    sequence_enroll(contact=ada, sequence=other)

    assert api_a.post(url(sequence), {"contact_id": str(ada.pk)}, format="json").status_code == 201
    assert set(Enrollment.objects.values_list("sequence__name", "status")) == {
        ("Other", "active"),
        ("Welcome", "active"),
    }


def test_unenrolling_stops_the_enrollment_and_the_contact_may_be_enrolled_again(api_a, sequence, ada):
    enrollment = sequence_enroll(contact=ada, sequence=sequence)

    response = api_a.delete(url(sequence, ada))

    assert response.status_code == 204, response.content
    enrollment.refresh_from_db()
    assert enrollment.status == "stopped" and enrollment.stopped_at is not None
    assert TimelineEntry.objects.filter(contact=ada, kind="sequence", data__stopped="api").count() == 1
    error_of(api_a.delete(url(sequence, ada)), 404, "NOT_FOUND")  # nothing active left to stop
    again = api_a.post(url(sequence), {"contact_id": str(ada.pk)}, format="json")
    assert again.status_code == 201 and again.json()["id"] != enrollment.pk
    listed = api_a.get(url(sequence), {"status": "stopped"}).json()["results"]
    assert [(e["id"], e["status"]) for e in listed] == [(enrollment.pk, "stopped")]


def test_unenrolling_leaves_the_contacts_other_sequences_alone(api_a, workspace_a, sequence, ada):
    other = sequence_create(workspace=workspace_a, name="Other", steps=[{"message": "Yo"}])
    sequence_enroll(contact=ada, sequence=sequence)
    sequence_enroll(contact=ada, sequence=other)

    assert api_a.delete(url(sequence, ada)).status_code == 204
    assert set(Enrollment.objects.values_list("sequence__name", "status")) == {
        ("Other", "active"),
        ("Welcome", "stopped"),
    }


def test_a_contact_never_enrolled_cannot_be_unenrolled(api_a, sequence, ada):
    error_of(api_a.delete(url(sequence, ada)), 404, "NOT_FOUND")


def test_another_workspaces_sequence_or_contact_is_404_and_nothing_changes(api_a, sequence, ada, theirs):
    their_sequence, their_contact = theirs
    sequence_enroll(contact=their_contact, sequence=their_sequence)

    error_of(api_a.get(url(their_sequence)), 404, "NOT_FOUND")
    error_of(api_a.post(url(their_sequence), {"contact_id": str(ada.pk)}, format="json"), 404, "NOT_FOUND")
    error_of(api_a.post(url(sequence), {"contact_id": str(their_contact.pk)}, format="json"), 404, "NOT_FOUND")
    error_of(api_a.delete(url(their_sequence, their_contact)), 404, "NOT_FOUND")
    error_of(api_a.delete(url(sequence, their_contact)), 404, "NOT_FOUND")
    assert list(Enrollment.objects.values_list("contact_id", "status")) == [(their_contact.pk, "active")]


@pytest.mark.parametrize("sequence_id", ["0", "-1", "abc", "99999999", str(2**64), "1.5"])
def test_a_missing_or_malformed_sequence_id_is_404(api_a, ada, sequence_id):
    error_of(api_a.get(url(sequence_id)), 404, "NOT_FOUND")
    error_of(api_a.post(url(sequence_id), {"contact_id": str(ada.pk)}, format="json"), 404, "NOT_FOUND")
    error_of(api_a.delete(url(sequence_id, ada)), 404, "NOT_FOUND")


def test_a_missing_or_malformed_contact_id_in_the_path_is_404(api_a, sequence):
    for contact_id in ["nope", "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10"]:
        error_of(api_a.delete(url(sequence, contact_id)), 404, "NOT_FOUND")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "contact_id"),
        ({"contact_id": "nope"}, "contact_id"),
        ({"contact_id": 12}, "contact_id"),
        ({"contact_id": None}, "contact_id"),
        ({"contact_id": ["5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10"]}, "contact_id"),
        ({"contact_id": "5f0c6f8e-3f1b-4a53-9d0e-2f4c1c7a9b10", "sequence_id": 3}, "sequence_id"),
    ],
)
def test_bad_input_is_400_naming_the_field(api_a, sequence, body, field):
    error = error_of(api_a.post(url(sequence), body, format="json"), 400, "VALIDATION_ERROR")
    assert field in error["details"], error
    assert not Enrollment.objects.exists()


@pytest.mark.parametrize(("query", "field"), [({"status": "paused"}, "status"), ({"contact": "x"}, "contact")])
def test_bad_list_queries_are_400_naming_the_parameter(api_a, sequence, query, field):
    error = error_of(api_a.get(url(sequence), query), 400, "VALIDATION_ERROR")
    assert field in error["details"], error


def test_the_scopes_are_the_sequences(workspace_a, sequence, ada, make_key, client_for):
    nothing = client_for(make_key(workspace_a, scopes=["stats:read"]))
    reader = client_for(make_key(workspace_a, scopes=["contacts:read"]))
    body = {"contact_id": str(ada.pk)}

    error_of(nothing.get(url(sequence)), 403, "FORBIDDEN")
    assert reader.get(url(sequence)).status_code == 200
    error_of(reader.post(url(sequence), body, format="json"), 403, "FORBIDDEN")
    sequence_enroll(contact=ada, sequence=sequence)
    error_of(reader.delete(url(sequence, ada)), 403, "FORBIDDEN")
    assert list(Enrollment.objects.values_list("status", flat=True)) == ["active"]


def test_an_idempotency_key_replays_the_enrollment(api_a, sequence, ada):
    first = api_a.post(url(sequence), {"contact_id": str(ada.pk)}, format="json", HTTP_IDEMPOTENCY_KEY="enroll-ada")
    again = api_a.post(url(sequence), {"contact_id": str(ada.pk)}, format="json", HTTP_IDEMPOTENCY_KEY="enroll-ada")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Enrollment.objects.count() == 1


def test_paths_answer_with_and_without_a_trailing_slash(api_a, sequence, ada):
    assert api_a.get(url(sequence) + "/").status_code == 200
    assert api_a.post(url(sequence) + "/", {"contact_id": str(ada.pk)}, format="json").status_code == 201
    assert api_a.delete(url(sequence, ada) + "/").status_code == 204


def test_the_list_keeps_its_queries_fixed(api_a, workspace_a, sequence, django_assert_max_num_queries):
    for n in range(20):
        contact = Contact.objects.create(workspace=workspace_a, phone_number=f"+1818555{n:04d}")
        sequence_enroll(contact=contact, sequence=sequence)
    with django_assert_max_num_queries(5):
        assert len(api_a.get(url(sequence), {"limit": 100}).json()["results"]) == 20
