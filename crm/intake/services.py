"""The lead intake of SPEC §5.1 as one use case: lead_intake owns its whole policy (identity,
force_update, the actions, the timeline, the events) and its transaction."""

from dataclasses import dataclass
from typing import Any

from accounts.models import Workspace

from ..catalog.selectors import ring_group_pick
from ..catalog.services import power_dialer_add, sequence_enroll
from ..contacts.fields import ATTRIBUTION_FIELDS, VALUE_KEYS
from ..contacts.writer import ContactWrite
from ..models import Contact


@dataclass(frozen=True)
class IntakeResult:
    contact: Contact
    created: bool  # 201
    updated: bool  # force_update on an existing contact: 200 (else 202)


def lead_intake(*, workspace: Workspace, data: dict[str, Any], submitted: list[str]) -> IntakeResult:
    """Take a form's lead: create the contact, or find the one this person already is.

    `data` is the validated submission: `phone_number` (a Phone), `email`, the contact's
    fields, attribution, and the actions with their objects resolved in the workspace
    (`user_id` a user, `ring_group_id`, `line_id`/`campaign_id`, `tag_id`,
    `disposition_status_id`, `sequence_id`). `submitted` names the known fields the form sent.

    The contact's data changes only on create or with `force_update`; actions that replace
    (owner, line, disposition) apply only then too, actions that add (tag, power dialer,
    sequence) apply to an existing contact as well. A new contact's owner, line and
    disposition go into its INSERT, so lead.created carries the state after the whole request.
    """
    force = bool(data.get("force_update"))
    replace: dict[str, Any] = {}
    owner = data.get("user_id")
    if data.get("distribute_to_ring_group") and data.get("ring_group_id") is not None:
        # The ring group overrides user_id; with check_available_users and nobody available,
        # the contact is not distributed.
        owner = ring_group_pick(
            ring_group=data["ring_group_id"], only_available=bool(data.get("check_available_users"))
        )
    if owner is not None:
        replace["owner"] = owner
    line = data.get("line_id") or data.get("campaign_id")
    if line is not None:
        replace["line"] = line
    if data.get("disposition_status_id") is not None:
        replace["disposition_status"] = data["disposition_status_id"]

    # Without an action that follows the contact's write, a new lead is one statement (alone).
    follows = data.get("tag_id") is not None or data.get("add_to_powerdialer") or data.get("sequence_id") is not None
    with ContactWrite(workspace=workspace, source="intake", alone=not follows) as write:
        result = write.upsert(
            phone=data["phone_number"],
            email=data.get("email"),
            values={key: data[key] for key in VALUE_KEYS if key in data},
            attribution={key: data[key] for key in ATTRIBUTION_FIELDS if data.get(key)},
            update_existing=force,
            on_create=replace,
            submitted=submitted,
        )
        contact = result.contact
        changes: dict[str, Any] = {}
        if force and not result.created:
            changes.update(replace)
        if data.get("tag_id") is not None:
            changes["tags_add"] = [data["tag_id"]]
        if changes:
            write.update(changes)
        if data.get("add_to_powerdialer") and contact.owner_id is not None:
            power_dialer_add(contact=contact, owner=contact.owner, position=data.get("powerdialer_position") or "top")
        if data.get("sequence_id") is not None:
            sequence_enroll(
                contact=contact, sequence=data["sequence_id"], leave_others=bool(data.get("force_update_sequence"))
            )
    return IntakeResult(contact=contact, created=result.created, updated=force and not result.created)
