"""The hybrid searcher as a LangChain retriever, for use in any LangChain chain."""

from __future__ import annotations

from typing import Any

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.retrieve.searcher import Searcher


class HybridRetriever(BaseRetriever):
    """LangChain retriever over the hybrid `Searcher`."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    searcher: Searcher
    k: int = 5
    filters: dict[str, Any] | None = None

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun) -> list[LCDocument]:
        return [
            LCDocument(
                page_content=p.text,
                id=p.chunk_id,
                metadata={"chunk_id": p.chunk_id, "doc_id": p.doc_id, "title": p.title, "section": p.section,
                          "start": p.start, "end": p.end, "score": p.score, "locator": p.locator},
            )
            for p in self.searcher.search(query, self.k, self.filters)
        ]
