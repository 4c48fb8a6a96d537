"""The index as one object: document store + vector store + lexical index + embeddings.

Construction is cheap (nothing is opened or loaded); each part comes up on first use.
`health` reports on the three persisted parts in one model (`rag.index.health`).
"""

from __future__ import annotations

from functools import cached_property

from rag.config import Settings
from rag.errors import IndexDamaged
from rag.index.docstore import DocStore
from rag.index.embeddings import CachedEmbeddings, make_embeddings
from rag.index.health import PartHealth
from rag.index.lexical import LexicalIndex
from rag.index.store import VectorStore


class Index:
    """Everything retrieval reads and ingest writes, under ``settings.index_dir``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @cached_property
    def embeddings(self) -> CachedEmbeddings:
        model = make_embeddings(self.settings.embedding.model, self.settings.embedding.threads)
        return CachedEmbeddings(model, self.settings.cache_dir, self.settings.embedding.batch_size)

    @cached_property
    def docs(self) -> DocStore:
        return DocStore(self.settings.index_dir / "docs.sqlite")

    @cached_property
    def vectors(self) -> VectorStore:
        return VectorStore(self.settings, self.embeddings)

    @cached_property
    def lexical(self) -> LexicalIndex:
        return LexicalIndex(self.settings.index_dir / "bm25")

    def refresh_lexical(self) -> None:
        """Bring the BM25 index in line with the document store (load or rebuild)."""
        self.lexical.ensure(self.docs.chunks, self.docs.revision())

    def is_empty(self) -> bool:
        return self.docs.count_chunks() == 0

    def health(self) -> list[PartHealth]:
        """Documents, keywords, vectors: each ok or not, with one line a user can act on.

        Cheap enough for every ``/readyz`` probe: a part looks at its files again only
        when their sizes or times changed (a Chroma server is asked each time). The
        keyword index is always ok — it repairs itself from the documents — and its
        message says when it did.
        """
        return [self.docs.health(), self.lexical.health(), self.vectors.health()]

    def check(self) -> None:
        """Raise `IndexDamaged` for the first damaged part (at start, before any question).

        A store that is merely unreachable (a Chroma server not up yet) is no reason to
        fail here: questions report it when they need it, ``/readyz`` until it answers.
        """
        for part in self.health():
            if part.state == "damaged":
                raise IndexDamaged(part.message)
