"""Hybrid retrieval: dense (Chroma) + lexical (BM25), fused on normalised scores.

Plain reciprocal-rank fusion throws away how *sure* each side is and loses to BM25
alone on CMRC 2018 (DESIGN.md). Here both sides score the union of their candidates
exactly — BM25 scores every chunk, and BM25-only candidates get their dense cosine from
their stored vectors — then each side is z-normalised over the candidates and the two
are summed with a weight tuned on held-out data. Near-duplicate passages (overlapping
spans of one document) are pushed down so the top-k is not one paragraph five times.
"""

from __future__ import annotations

import time
import tomllib
from dataclasses import dataclass, field
from functools import cache, cached_property
from importlib import resources
from typing import Any

import numpy as np
from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document as LCDocument
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from rag.config import Settings
from rag.errors import InputError
from rag.index.index import Index
from rag.index.rerank import Reranker, make_reranker, rerank
from rag.ingest.tags import chunk_tags
from rag.text.normalize import fold_for_search
from rag.text.synonyms import expand
from rag.text.tokenize import query_terms
from rag.types import Chunk, DocumentMeta, Passage

FILTER_KEYS = ("kind", "issuer", "city", "domain", "doc_id", "date_from", "date_to")


@cache
def tuned_weights() -> dict[str, Any]:
    """``rag/fusion.toml``: ``default`` and a ``dense_weight`` table per embedding model."""
    return tomllib.loads(resources.files("rag").joinpath("fusion.toml").read_text(encoding="utf-8"))


def fusion_weight(settings: Settings) -> float:
    """The dense side's weight: the configured one, else the one tuned for this model.

    Models differ in how far their cosines separate relevant passages (use-m3 far less
    than e5-small on Chinese), so one weight for all would under- or over-trust some.
    """
    if settings.retrieve.dense_weight is not None:
        return settings.retrieve.dense_weight
    data = tuned_weights()
    return float(data.get("dense_weight", {}).get(settings.embedding.model, data["default"]))


@dataclass(frozen=True)
class Filters:
    """Metadata filters; every given field must match (cities/domains per chunk)."""

    kind: str | None = None
    issuer: str | None = None
    city: str | None = None
    domain: str | None = None
    doc_id: str | None = None
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

    def allows(self, chunk: Chunk, meta: DocumentMeta) -> bool:
        if self.kind and meta.kind != self.kind:
            return False
        if self.issuer and self.issuer not in meta.issuer:
            return False
        if self.doc_id and meta.doc_id != self.doc_id:
            return False
        if self.date_from and (not meta.date or meta.date[: len(self.date_from)] < self.date_from):
            return False
        if self.date_to and (not meta.date or meta.date[: len(self.date_to)] > self.date_to):
            return False
        if self.city or self.domain:
            cities, domains = chunk_tags(chunk, meta)
            if self.city and self.city.removesuffix("市") not in {c.removesuffix("市") for c in cities}:
                return False
            if self.domain and self.domain not in domains:
                return False
        return True


@dataclass
class _Catalog:
    """Chunks and their document metadata, aligned with the lexical index."""

    revision: str
    chunks: list[Chunk]
    metas: dict[str, DocumentMeta]
    pos: dict[str, int] = field(default_factory=dict)


class Searcher:
    """The retrieval engine; `HybridRetriever` wraps it for LangChain."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._catalog: _Catalog | None = None
        self.last_timings: dict[str, float] = {}

    def catalog(self) -> _Catalog:
        """Chunk table for the current index revision (reloaded when ingest changed it)."""
        rev = self.index.docs.revision()
        if self._catalog is None or self._catalog.revision != rev:
            self.index.refresh_lexical()
            by_id = {c.chunk_id: c for c in self.index.docs.chunks()}
            chunks = [by_id[cid] for cid in self.index.lexical.ids]
            metas = {m.doc_id: m for m, _ in self.index.docs.documents()}
            self._catalog = _Catalog(rev, chunks, metas, {c.chunk_id: i for i, c in enumerate(chunks)})
        return self._catalog

    def search(self, query: str, k: int | None = None, filters: Filters | dict[str, Any] | None = None) -> list[Passage]:
        """The ``k`` best passages for ``query`` under ``filters``."""
        s = self.index.settings.retrieve
        k = k or s.k
        flt = filters if isinstance(filters, Filters) else Filters.parse(filters)
        t0 = time.perf_counter()
        cat = self.catalog()
        if not cat.chunks:
            return []
        allowed = self._mask(cat, flt)
        if not allowed.any():
            return []
        n_cand = max(s.candidates, k * 4)

        # Lexical side: every chunk scored.
        tokens = query_terms(query)
        tokens += expand(query)
        lex = self.index.lexical.scores(tokens) * allowed
        t1 = time.perf_counter()

        # Dense side: the nearest chunks from the store, under the same filters.
        qtext = fold_for_search(query)
        qvec = np.asarray(self.index.embeddings.embed_query(qtext), dtype=np.float32)
        t2 = time.perf_counter()
        where = self._where(cat, flt, allowed) if flt else None
        dense_hits = self.index.vectors.query(qvec.tolist(), min(n_cand, int(allowed.sum())), where)
        t3 = time.perf_counter()

        dense: dict[int, float] = {cat.pos[cid]: sc for cid, sc in dense_hits if cid in cat.pos}
        lex_top = [int(i) for i in np.argsort(-lex)[:n_cand] if lex[i] > 0]
        missing = [cat.chunks[i].chunk_id for i in lex_top if i not in dense]
        for cid, vec in self.index.vectors.vectors(missing).items():
            dense[cat.pos[cid]] = float(vec @ qvec)
        cand = sorted(set(dense) | set(lex_top))
        cand = [i for i in cand if allowed[i]]
        if not cand:
            return []
        d = np.array([dense.get(i, 0.0) for i in cand], dtype=np.float32)
        l_ = np.array([lex[i] for i in cand], dtype=np.float32)
        w = fusion_weight(self.index.settings)
        fused = w * _z(d) + (1 - w) * _z(l_)
        order = [cand[j] for j in np.argsort(-fused, kind="stable")]
        score = {cand[j]: float(fused[j]) for j in range(len(cand))}
        dscore = {cand[j]: float(d[j]) for j in range(len(cand))}
        if self.reranker is not None:
            order = self._reranked(query, order[: s.rerank_top], cat, score) + order[s.rerank_top :]
        picked = _diversify(order, cat.chunks, k, s.diversity)
        t4 = time.perf_counter()
        self.last_timings = {
            "lexical_ms": (t1 - t0) * 1000,
            "embed_ms": (t2 - t1) * 1000,
            "dense_ms": (t3 - t2) * 1000,
            "fuse_ms": (t4 - t3) * 1000,
            "total_ms": (t4 - t0) * 1000,
        }
        out = []
        for i in picked:
            c = cat.chunks[i]
            m = cat.metas[c.doc_id]
            out.append(
                Passage(
                    c.chunk_id, c.doc_id, m.title, c.section, c.text, score[i], c.start, c.end,
                    meta=m.to_dict(), dense_score=dscore[i], lexical_score=float(lex[i]),
                )
            )
        return out

    @cached_property
    def reranker(self) -> Reranker | None:
        return make_reranker(self.index.settings.retrieve.reranker)

    def _reranked(self, query: str, order: list[int], cat: _Catalog, score: dict[int, float]) -> list[int]:
        """Re-score the head of the fused list with the configured reranker."""
        head = [Passage(cat.chunks[i].chunk_id, cat.chunks[i].doc_id, "", "", cat.chunks[i].text, 0.0, 0, 0) for i in order]
        ranked = rerank(self.reranker, query, head)  # type: ignore[arg-type]
        pos = {cat.chunks[i].chunk_id: i for i in order}
        for p in ranked:
            score[pos[p.chunk_id]] = p.score
        return [pos[p.chunk_id] for p in ranked]

    def _mask(self, cat: _Catalog, flt: Filters) -> np.ndarray:
        if not flt:
            return np.ones(len(cat.chunks), dtype=np.float32)
        return np.array([1.0 if flt.allows(c, cat.metas[c.doc_id]) else 0.0 for c in cat.chunks], dtype=np.float32)

    def _where(self, cat: _Catalog, flt: Filters, allowed: np.ndarray) -> dict[str, Any]:
        """The same filters for Chroma: the allowed documents plus chunk-level flags."""
        docs = sorted({cat.chunks[i].doc_id for i in np.flatnonzero(allowed)})
        clauses: list[dict[str, Any]] = [{"doc_id": {"$in": docs}}]
        if flt.city:
            clauses.append({f"city:{flt.city.removesuffix('市')}": True})
        if flt.domain:
            clauses.append({f"domain:{flt.domain}": True})
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}


def _z(x: np.ndarray) -> np.ndarray:
    """z-score; a side with no spread (e.g. BM25 on an English question) contributes 0."""
    sd = float(x.std())
    return (x - float(x.mean())) / sd if sd > 1e-9 else np.zeros_like(x)


def _diversify(order: list[int], chunks: list[Chunk], k: int, threshold: float) -> list[int]:
    """Take in order, but defer a chunk whose span mostly overlaps one already taken."""
    taken: list[int] = []
    deferred: list[int] = []
    for i in order:
        c = chunks[i]
        dup = any(
            chunks[j].doc_id == c.doc_id
            and (min(c.end, chunks[j].end) - max(c.start, chunks[j].start)) > threshold * min(c.end - c.start, chunks[j].end - chunks[j].start)
            for j in taken
        )
        (deferred if dup else taken).append(i)
        if len(taken) >= k:
            return taken
    return (taken + deferred)[:k]


class HybridRetriever(BaseRetriever):
    """LangChain retriever over the hybrid `Searcher` (use in any LangChain chain)."""

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
                          "start": p.start, "end": p.end, "score": p.score},
            )
            for p in self.searcher.search(query, self.k, self.filters)
        ]
