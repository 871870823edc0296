"""POST /api/v1/webhook/forms: the actions of SPEC §5.1 (owner, ring groups, power dialer,
sequence, line, tag, disposition) and the workspace's walls around them. Split from
test_intake.py."""

import pytest

from accounts.models import Membership, Role
from accounts.services import membership_set
from crm.models import (
    Contact,
    DispositionStatus,
    Enrollment,
    Line,
    PowerDialerEntry,
    RingGroup,
    RingGroupMember,
    Sequence,
    Tag,
)

URL = "/api/v1/webhook/forms"
pytestmark = pytest.mark.django_db


def test_user_id_sets_the_owner(post, workspace_a, agent_a):
    post(phone_number="8187405020", user_id=agent_a.pk)
    assert Contact.objects.get().owner == agent_a


def test_ring_group_distribution_overrides_user_id(post, workspace_a, owner_a, agent_a):
    group = RingGroup.objects.create(workspace=workspace_a, name="Sales")
    RingGroupMember.objects.create(ring_group=group, user=agent_a)
    post(phone_number="8187405020", user_id=owner_a.pk, distribute_to_ring_group=True, ring_group_id=group.pk)
    assert Contact.objects.get().owner == agent_a


def test_check_available_users_picks_only_available_members(post, workspace_a, owner_a, agent_a):
    group = RingGroup.objects.create(workspace=workspace_a, name="Sales")
    RingGroupMember.objects.create(ring_group=group, user=owner_a, is_available=False)
    RingGroupMember.objects.create(ring_group=group, user=agent_a, is_available=True)
    for n in range(6):
        post(
            phone_number=f"81874050{20 + n}",
            distribute_to_ring_group=True,
            ring_group_id=group.pk,
            check_available_users=True,
        )
    assert set(Contact.objects.values_list("owner", flat=True)) == {agent_a.pk}


def test_with_nobody_available_the_contact_is_not_distributed(post, workspace_a, agent_a):
    group = RingGroup.objects.create(workspace=workspace_a, name="Sales")
    RingGroupMember.objects.create(ring_group=group, user=agent_a, is_available=False)
    response = post(
        phone_number="8187405020", distribute_to_ring_group=True, ring_group_id=group.pk, check_available_users=True
    )
    assert response.status_code == 201
    assert Contact.objects.get().owner is None


@pytest.mark.parametrize("how", ["membership removed", "login deactivated"])
def test_a_removed_member_is_never_picked_from_a_ring_group(post, workspace_a, owner_a, agent_a, how):
    group = RingGroup.objects.create(workspace=workspace_a, name="Sales")
    RingGroupMember.objects.create(ring_group=group, user=agent_a)
    if how == "membership removed":
        Membership.objects.filter(workspace=workspace_a, user=agent_a).delete()
    else:
        agent_a.is_active = False
        agent_a.save(update_fields=["is_active"])
    response = post(phone_number="8187405020", distribute_to_ring_group=True, ring_group_id=group.pk)
    assert response.status_code == 201
    assert Contact.objects.get().owner is None  # nobody left to give it to
    RingGroupMember.objects.create(ring_group=group, user=owner_a)
    post(phone_number="8187405021", distribute_to_ring_group=True, ring_group_id=group.pk)
    assert Contact.objects.get(phone_number="+18187405021").owner == owner_a


def test_power_dialer_top_and_bottom_and_skip_when_queued(post, workspace_a, agent_a):
    post(phone_number="8187405020", user_id=agent_a.pk, add_to_powerdialer=True)
    post(phone_number="8187405021", user_id=agent_a.pk, add_to_powerdialer=True, powerdialer_position="bottom")
    post(phone_number="8187405022", user_id=agent_a.pk, add_to_powerdialer=True, powerdialer_position="top")
    post(phone_number="8187405020", add_to_powerdialer=True, powerdialer_position="bottom")  # already queued
    queue = [
        entry.contact.phone_number
        for entry in PowerDialerEntry.objects.filter(owner=agent_a).select_related("contact").order_by("position")
    ]
    assert queue == ["+18187405022", "+18187405020", "+18187405021"]


def test_sequence_enrollment_and_force_update_sequence(post, workspace_a):
    first = Sequence.objects.create(workspace=workspace_a, name="Welcome")
    second = Sequence.objects.create(workspace=workspace_a, name="Nurture")
    post(phone_number="8187405020", sequence_id=first.pk)
    post(phone_number="8187405020", sequence_id=second.pk)
    assert Enrollment.objects.filter(status="active").count() == 2
    third = Sequence.objects.create(workspace=workspace_a, name="Win-back")
    post(phone_number="8187405020", sequence_id=third.pk, force_update_sequence=True)
    assert list(Enrollment.objects.filter(status="active").values_list("sequence__name", flat=True)) == ["Win-back"]
    post(phone_number="8187405020", sequence_id=third.pk)
    assert Enrollment.objects.filter(sequence=third).count() == 1


def test_line_tag_and_disposition_are_attached(post, workspace_a):
    line = Line.objects.create(workspace=workspace_a, name="Main", phone_number="+18185550000")
    tag = Tag.objects.create(workspace=workspace_a, name="Facebook")
    disposition = DispositionStatus.objects.create(workspace=workspace_a, name="Interested")
    post(phone_number="8187405020", line_id=line.pk, tag_id=tag.pk, disposition_status_id=disposition.pk)
    contact = Contact.objects.get()
    assert contact.line == line
    assert list(contact.tags.all()) == [tag]
    assert contact.disposition_status == disposition


def test_campaign_id_is_the_older_name_of_line_id(post, workspace_a):
    line = Line.objects.create(workspace=workspace_a, name="Main", phone_number="+18185550000")
    post(phone_number="8187405020", campaign_id=line.pk)
    assert Contact.objects.get().line == line


def test_campaign_id_and_a_different_line_id_is_400(post, workspace_a):
    one = Line.objects.create(workspace=workspace_a, name="One", phone_number="+18185550000")
    two = Line.objects.create(workspace=workspace_a, name="Two", phone_number="+18185550001")
    response = post(phone_number="8187405020", line_id=one.pk, campaign_id=two.pk)
    assert response.status_code == 400
    assert "campaign_id" in response.json()["errors"]


def test_an_existing_contacts_owner_changes_only_with_force_update(post, workspace_a, owner_a, agent_a):
    post(phone_number="8187405020", user_id=owner_a.pk)
    post(phone_number="8187405020", user_id=agent_a.pk)
    assert Contact.objects.get().owner == owner_a
    post(phone_number="8187405020", user_id=agent_a.pk, force_update=True)
    assert Contact.objects.get().owner == agent_a


@pytest.mark.parametrize(
    "field", ["user_id", "ring_group_id", "sequence_id", "line_id", "campaign_id", "tag_id", "disposition_status_id"]
)
def test_an_id_outside_the_workspace_is_400_on_that_field(post, workspace_b, outsider, field):
    foreign = {
        "user_id": lambda: outsider.pk,
        "ring_group_id": lambda: RingGroup.objects.create(workspace=workspace_b, name="B").pk,
        "sequence_id": lambda: Sequence.objects.create(workspace=workspace_b, name="B").pk,
        "line_id": lambda: Line.objects.create(workspace=workspace_b, name="B", phone_number="+18185559999").pk,
        "campaign_id": lambda: Line.objects.create(workspace=workspace_b, name="B", phone_number="+18185559998").pk,
        "tag_id": lambda: Tag.objects.create(workspace=workspace_b, name="B").pk,
        "disposition_status_id": lambda: DispositionStatus.objects.create(workspace=workspace_b, name="B").pk,
    }[field]()
    for value in (foreign, 999999, "not-an-id"):
        response = post(phone_number="8187405020", **{field: value})
        assert response.status_code == 400, (field, value)
        assert field in response.json()["errors"]
    assert not Contact.objects.exists()


def test_a_member_through_the_agency_may_own(post, workspace_a, django_user_model):
    from accounts.models import AgencyMembership

    staff = django_user_model.objects.create_user(username="staff")
    AgencyMembership.objects.create(agency=workspace_a.agency, user=staff, role=Role.AGENT)
    post(phone_number="8187405020", user_id=staff.pk)
    assert Contact.objects.get().owner == staff


def test_contacts_of_another_workspace_are_apart(post, workspace_b, make_key, client):
    post(phone_number="8187405020", name="A's lead")
    key_b = make_key(workspace_b, scopes=["intake"])
    response = client.post(URL, {"api_token": key_b, "phone_number": "8187405020"}, content_type="application/json")
    assert response.status_code == 201  # a new contact in B, not A's
    assert Contact.objects.count() == 2


def test_the_same_person_in_two_workspaces_is_two_contacts(post, workspace_a, workspace_b, outsider):
    membership_set(workspace=workspace_b, user=outsider, role=Role.OWNER)
    post(phone_number="8187405020")
    assert Contact.objects.filter(workspace=workspace_a).count() == 1
