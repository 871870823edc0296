"""Reads of what organises contacts: tags, dispositions, lines, ring groups, sequences."""

import random
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Prefetch, Q, QuerySet
from django.http import Http404

from accounts.models import Workspace

from ..fields import MAX_DB_INT
from ..models import DispositionStatus, Enrollment, Line, RingGroup, RingGroupMember, Sequence, SequenceStep, Tag


def tags_list(*, workspace: Workspace) -> QuerySet[Tag]:
    return Tag.objects.filter(workspace=workspace)


def tag_get(*, workspace: Workspace, name: str) -> Tag | None:
    return Tag.objects.filter(workspace=workspace, name=name).first()


def dispositions_list(*, workspace: Workspace) -> QuerySet[DispositionStatus]:
    return DispositionStatus.objects.filter(workspace=workspace)


def lines_list(*, workspace: Workspace) -> QuerySet[Line]:
    return Line.objects.filter(workspace=workspace)


def ring_groups_list(*, workspace: Workspace) -> QuerySet[RingGroup]:
    return RingGroup.objects.filter(workspace=workspace).prefetch_related(
        Prefetch("members", queryset=RingGroupMember.objects.order_by("id"))
    )


def sequences_list(*, workspace: Workspace) -> QuerySet[Sequence]:
    return Sequence.objects.filter(workspace=workspace).prefetch_related(
        Prefetch("steps", queryset=SequenceStep.objects.order_by("position"))
    )


def sequence_get(*, workspace: Workspace, sequence_id: Any) -> Sequence:
    """The workspace's sequence; a missing, foreign or malformed id raises the same 404."""
    try:
        pk = int(str(sequence_id))
    except ValueError:
        pk = 0
    sequence = sequences_list(workspace=workspace).filter(pk=pk).first() if 0 < pk <= MAX_DB_INT else None
    if sequence is None:
        raise Http404("No such sequence.")
    return sequence


def enrollments_list(*, sequence: Sequence, status: str | None = None) -> QuerySet[Enrollment]:
    enrollments = Enrollment.objects.filter(workspace_id=sequence.workspace_id, sequence=sequence)
    return enrollments.filter(status=status) if status else enrollments


def ring_group_pick(*, ring_group: RingGroup, only_available: bool) -> AbstractBaseUser | None:
    """A random member of the ring group (only available ones if asked); None if there is none.

    Only people who may still own the workspace's contacts are picked: a member removed from
    the workspace (or its agency's staff), or whose login is deactivated, stays in the group's
    rows until someone edits it, but is never given a lead."""
    members = ring_group.members.select_related("user").filter(
        user__is_active=True, user__in=workspace_users(workspace=ring_group.workspace).values("pk")
    )
    if only_available:
        members = members.filter(is_available=True)
    members = list(members)
    return random.choice(members).user if members else None  # noqa: S311 (fair distribution, not security)


def workspace_users(*, workspace: Workspace) -> QuerySet[AbstractBaseUser]:
    """People who may own contacts or answer in ring groups: members and agency staff."""
    users = get_user_model().objects.all()
    condition = Q(memberships__workspace=workspace)
    if workspace.agency_id:
        condition |= Q(agency_memberships__agency_id=workspace.agency_id)
    return users.filter(condition).distinct()
