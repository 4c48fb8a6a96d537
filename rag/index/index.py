"""The index as one object: document store + vector store + lexical index + embeddings.

Construction is cheap (nothing is opened or loaded); each part comes up on first use.
"""

from __future__ import annotations

from functools import cached_property

from rag.config import Settings
from rag.index.docstore import DocStore
from rag.index.embeddings import CachedEmbeddings, make_embeddings
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
