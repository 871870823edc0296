"""Which knowledge documents go into the model's context for a message (SPEC §7).

PostgreSQL: full-text search. The message's meaningful words are OR-ed into a tsquery and
matched against `to_tsvector('english', title || ' ' || content)`, the expression of the GIN
index that migration 0005 creates, ranked by ts_rank; the best few with a positive rank go
into the context. SQLite: the same words counted in each document of the brain (title words
count double).
"""

import re

from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector
from django.db import connection

from ..ai import terms
from ..models import Brain, KnowledgeDocument

MAX_DOCUMENTS = 3
MAX_TERMS = 24
SQLITE_SCAN_LIMIT = 2000
_PLAIN = re.compile(r"^[a-z0-9]+$")


def search_vector() -> SearchVector:
    """The indexed expression; queries must use exactly this to use the GIN index."""
    return SearchVector("title", "content", config="english")


def documents_for(*, brain: Brain, text: str, limit: int = MAX_DOCUMENTS) -> list[KnowledgeDocument]:
    words = [word for word in dict.fromkeys(terms(text)) if _PLAIN.match(word)][:MAX_TERMS]
    if not words:
        return []
    documents = KnowledgeDocument.objects.filter(workspace_id=brain.workspace_id, brain=brain)
    if connection.vendor == "postgresql":
        query = SearchQuery(" | ".join(words), search_type="raw", config="english")
        return list(
            documents.annotate(search=search_vector(), rank=SearchRank(search_vector(), query))
            .filter(search=query)
            .order_by("-rank", "-created_at")[:limit]
        )
    wanted = set(words)
    scored = []
    for document in documents.order_by("-created_at")[:SQLITE_SCAN_LIMIT]:
        score = 2 * len(wanted & set(terms(document.title))) + len(wanted & set(terms(document.content)))
        if score:
            scored.append((-score, -document.created_at.timestamp(), document))
    scored.sort(key=lambda item: item[:2])
    return [document for _, _, document in scored[:limit]]
