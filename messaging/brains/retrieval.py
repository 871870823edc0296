"""Which knowledge documents go into the model's context for a message (SPEC §7).

PostgreSQL: full-text search. The message's meaningful words are OR-ed into a tsquery and
matched against the document's stored `search` column (`to_tsvector('english', title || ' ' ||
content)`, generated when the document is written, with a GIN index: migration 0007), ranked by
ts_rank; the best few with a positive rank go into the context. A statement written once (every
inbound message asks it). SQLite: the same words counted in each document of the brain (title
words count double).
"""

import re

from django.db import connection

from ..ai import terms
from ..models import Brain, KnowledgeDocument

MAX_DOCUMENTS = 3
MAX_TERMS = 24
SQLITE_SCAN_LIMIT = 2000
_PLAIN = re.compile(r"^[a-z0-9]+$")


def documents_for(*, brain: Brain, text: str, limit: int = MAX_DOCUMENTS) -> list[KnowledgeDocument]:
    words = [word for word in dict.fromkeys(terms(text)) if _PLAIN.match(word)][:MAX_TERMS]
    if not words:
        return []
    if connection.vendor == "postgresql":
        return _searched(brain, " | ".join(words), limit)
    documents = KnowledgeDocument.objects.filter(workspace_id=brain.workspace_id, brain=brain)
    wanted = set(words)
    scored = []
    for document in documents.order_by("-created_at")[:SQLITE_SCAN_LIMIT]:
        score = 2 * len(wanted & set(terms(document.title))) + len(wanted & set(terms(document.content)))
        if score:
            scored.append((-score, -document.created_at.timestamp(), document))
    scored.sort(key=lambda item: item[:2])
    return [document for _, _, document in scored[:limit]]


def _searched(brain: Brain, query: str, limit: int) -> list[KnowledgeDocument]:
    """PostgreSQL: the brain's documents matching the raw tsquery `query` (plain words OR-ed),
    best first."""
    concrete = KnowledgeDocument._meta.concrete_fields
    fields = [field.attname for field in concrete]
    columns = ", ".join(f"d.{connection.ops.quote_name(field.column)}" for field in concrete)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM {KnowledgeDocument._meta.db_table} d, to_tsquery('english'::regconfig, %s) q "  # noqa: S608
            "WHERE d.brain_id = %s AND d.workspace_id = %s AND d.search @@ q "
            "ORDER BY ts_rank(d.search, q) DESC, d.created_at DESC LIMIT %s",
            [query, brain.pk, brain.workspace_id, limit],
        )
        rows = cursor.fetchall()
    return [KnowledgeDocument.from_db(connection.alias, fields, row) for row in rows]
