"""Metadata filters, one definition for both stores: a predicate for the chunk table
(the BM25 side) and a Chroma ``where`` clause (the dense side)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rag.errors import InputError
from rag.ingest.tags import chunk_tags
from rag.types import Chunk, DocumentMeta

FILTER_KEYS = ("kind", "issuer", "city", "domain", "doc_id", "legal_level", "status", "date_from", "date_to")


@dataclass(frozen=True)
class Filters:
    """Metadata filters; every given field must match (cities/domains per chunk)."""

    kind: str | None = None
    issuer: str | None = None
    city: str | None = None
    domain: str | None = None
    doc_id: str | None = None
    legal_level: str | None = None  # 法律, 行政法规, 地方性法规, 国务院文件, 部门文件, 研究文章
    status: str | None = None  # 现行有效, 已修订, 已废止, 未核实
    date_from: str | None = None  # inclusive, compared as ISO-like strings ("2021", "2021-12")
    date_to: str | None = None

    @classmethod
    def parse(cls, data: dict[str, Any] | None) -> Filters:
        data = {k: v for k, v in (data or {}).items() if v not in (None, "", [])}
        unknown = set(data) - set(FILTER_KEYS)
        if unknown:
            raise InputError(f"unknown filter(s) {', '.join(sorted(unknown))}; use {', '.join(FILTER_KEYS)}")
        return cls(**{k: str(v) for k, v in data.items()})

    def __bool__(self) -> bool:
        return any(getattr(self, k) for k in FILTER_KEYS)

    def allows_document(self, meta: DocumentMeta) -> bool:
        """The document-level part of the filter."""
        if self.kind and meta.kind != self.kind:
            return False
        if self.issuer and self.issuer not in meta.issuer:
            return False
        if self.doc_id and meta.doc_id != self.doc_id:
            return False
        if self.legal_level and meta.legal_level != self.legal_level:
            return False
        if self.status and meta.status != self.status:
            return False
        if self.date_from and (not meta.date or meta.date[: len(self.date_from)] < self.date_from):
            return False
        if self.date_to and (not meta.date or meta.date[: len(self.date_to)] > self.date_to):
            return False
        return True

    def allows(self, chunk: Chunk, meta: DocumentMeta) -> bool:
        if not self.allows_document(meta):
            return False
        if self.city or self.domain:
            cities, domains = chunk_tags(chunk, meta)
            if self.city and self.city.removesuffix("市") not in {c.removesuffix("市") for c in cities}:
                return False
            if self.domain and self.domain not in domains:
                return False
        return True

    def where(self, doc_ids: list[str]) -> dict[str, Any]:
        """The same filter for Chroma: the allowed documents plus the chunk-level flags
        (`rag.index.store.chunk_metadata` writes them)."""
        clauses: list[dict[str, Any]] = [{"doc_id": {"$in": doc_ids}}]
        if self.city:
            clauses.append({f"city:{self.city.removesuffix('市')}": True})
        if self.domain:
            clauses.append({f"domain:{self.domain}": True})
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}
