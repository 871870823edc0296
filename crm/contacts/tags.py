"""A contact's tags as a change of the contact: which ones the change adds and removes, written
in two statements at most. ContactWrite (writer.py) records the change on the timeline and in
the events."""

from dataclasses import dataclass

from ..models import Contact, Tag


@dataclass(frozen=True)
class TagsChange:
    added: list[Tag]
    removed: list[Tag]
    names: list[str]  # the contact's tag names after the change, sorted


def contact_tags_change(
    contact: Contact, tags: list[Tag] | tuple[Tag, ...], *, exact: bool, has_none: bool = False
) -> TagsChange | None:
    """Give the contact `tags` (and, `exact`, only them); None when that changes nothing.
    `has_none`: the caller knows the contact has no tag yet (one it has just created), so they
    are not read."""
    wanted = {tag.pk: tag for tag in tags}
    current: dict = {} if has_none else {tag.pk: tag for tag in contact.tags.all()}
    added = [wanted[pk] for pk in wanted.keys() - current.keys()]
    removed = [current[pk] for pk in current.keys() - wanted.keys()] if exact else []
    if not added and not removed:
        return None
    if removed:
        contact.tags.remove(*removed)
    if added:
        Contact.tags.through.objects.bulk_create(
            [Contact.tags.through(contact_id=contact.pk, tag_id=tag.pk) for tag in added]
        )
    after = {**current, **{tag.pk: tag for tag in added}}
    for tag in removed:
        after.pop(tag.pk, None)
    # The prefetched tags (if any) are stale now.
    getattr(contact, "_prefetched_objects_cache", {}).pop("tags", None)
    return TagsChange(added=added, removed=removed, names=sorted(tag.name for tag in after.values()))
