"""The hybrid search: dense (Chroma) and lexical (BM25) candidates, fused, shaped.

Both sides score the union of their candidates exactly — BM25 scores every chunk, and
BM25-only candidates get their dense cosine from their stored vectors — then the two
are fused (`rag.retrieve.fusion`). A question that names documents (`references`) is
searched inside them: a named article comes first, and several named documents share
the top k (`diversity`).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from rag.index.index import Index
from rag.index.rerank import Reranker, make_reranker, rerank
from rag.locator import locator
from rag.retrieve.diversity import diversify, share_between_documents
from rag.retrieve.filters import Filters
from rag.retrieve.fusion import fuse, fusion_weight
from rag.retrieve.references import DocumentNames, References
from rag.text.normalize import fold_for_search
from rag.text.numerals import CN_NUMERAL, int_to_cn
from rag.text.places import PLACES
from rag.text.synonyms import expand
from rag.text.tokenize import dictionary_words, query_terms, words
from rag.types import Chunk, DocumentMeta, Passage


_ASKS_DEFINITION = re.compile(r"定义|是指|含义|什么是|指什么|什么意思|界定|概念|\bdefin|\bmeaning\b")
_DEFINITION_WORDS = frozenset("定义 含义 是指 什么 意思 界定 概念 怎么 如何 分别 规定".split())


def definition_pattern(term: str) -> re.Pattern[str]:
    """「（四）公共数据，是指」「本法所称数据，是指」: the term starts a clause, so
    「无条件开放的公共数据，是指」 defines something else."""
    t = re.escape(term)
    return re.compile(rf"(?:^|[\n）)、，,。；;：:])(?:本(?:法|条例|规定|办法)中?)?(?:所称)?{t}[，,]?是指")


def stated_pattern(term: str) -> re.Pattern[str]:
    """「数字经济是继农业经济、工业经济之后的主要经济形态」: a plan or a paper defines a
    term by opening a paragraph with it and 是 — the fallback when no clause says 是指."""
    return re.compile(rf"(?:^|\n)(?:第[{CN_NUMERAL}\d]+条\s*)?(?:本(?:法|条例|规定|办法)中?)?(?:所称)?{re.escape(term)}是(?!指)")


def defined_terms(query: str) -> list[str]:
    """The terms a definition question asks about, longest first ('' words dropped)."""
    folded = fold_for_search(query)
    if not _ASKS_DEFINITION.search(folded):
        return []
    terms = [t for t in dict.fromkeys(words(folded)) if len(t) > 1 and t not in _DEFINITION_WORDS
             and re.fullmatch(r"[\u4e00-\u9fff]+", t) and t not in PLACES]
    return sorted(terms, key=len, reverse=True)


def _content(text: str) -> bool:
    """Whether a text has any searchable word left (not only 「的」「规定了什么」)."""
    return any(len(t) > 1 or t.isdigit() for t in query_terms(text)) if text else False


@dataclass
class Catalog:
    """Chunks and their documents for one index revision, aligned with the lexical index."""

    revision: str
    chunks: list[Chunk]
    metas: dict[str, DocumentMeta]
    pos: dict[str, int] = field(default_factory=dict)
    names: DocumentNames | None = None
    by_doc: dict[str, list[int]] = field(default_factory=dict)  # doc_id → chunk positions in order


class Searcher:
    """The retrieval engine; `rag.retrieve.langchain.HybridRetriever` wraps it for LangChain."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self._catalog: Catalog | None = None
        self.last_timings: dict[str, float] = {}

    def catalog(self) -> Catalog:
        """Chunk table for the current index revision (reloaded when ingest changed it)."""
        rev = self.index.docs.revision()
        if self._catalog is None or self._catalog.revision != rev:
            self.index.refresh_lexical()
            by_id = {c.chunk_id: c for c in self.index.docs.chunks()}
            chunks = [by_id[cid] for cid in self.index.lexical.ids]
            metas = {m.doc_id: m for m, _ in self.index.docs.documents()}
            by_doc: dict[str, list[int]] = {}
            for i, c in enumerate(chunks):
                by_doc.setdefault(c.doc_id, []).append(i)
            for positions in by_doc.values():
                positions.sort(key=lambda i: chunks[i].start)
            names = DocumentNames(metas, self._text_of)
            self._catalog = Catalog(rev, chunks, metas, {c.chunk_id: i for i, c in enumerate(chunks)}, names, by_doc)
        return self._catalog

    def _text_of(self, doc_id: str) -> str:
        doc = self.index.docs.document(doc_id)
        return doc.text if doc is not None else ""

    def references(self, query: str) -> References:
        """The corpus documents and articles ``query`` names, and the names it lacks."""
        names = self.catalog().names
        return names.resolve(query, dictionary_words) if names is not None else References(residual=fold_for_search(query))

    def search(
        self,
        query: str,
        k: int | None = None,
        filters: Filters | dict[str, Any] | None = None,
        refs: References | None = None,
    ) -> list[Passage]:
        """The ``k`` best passages for ``query`` under ``filters``.

        ``refs`` (from `references`; computed here when not given) scopes the search: a
        question that names documents is answered from them, with a named article first.
        An explicit ``doc_id`` filter wins over the names in the question.
        """
        s = self.index.settings.retrieve
        k = k or s.k
        flt = filters if isinstance(filters, Filters) else Filters.parse(filters)
        t0 = time.perf_counter()
        cat = self.catalog()
        if not cat.chunks:
            return []
        refs = refs if refs is not None else self.references(query)
        scope = [d for d in refs.docs if d in cat.metas] if not flt.doc_id else []
        allowed = self._mask(cat, flt, scope)
        if not allowed.any():
            return []
        n_cand = max(s.candidates, k * 4)
        # Inside named documents, their names are the scope, not words to match: 「国办发
        # 〔2020〕45号的工作目标」 is searched for 工作目标, or the notice that carries the 文号
        # would outrank the 工作目标 passage.
        if scope and _content(refs.residual):
            query = refs.residual

        # Lexical side: every chunk scored.
        tokens = query_terms(query) + expand(query)
        lex = self.index.lexical.scores(tokens) * allowed
        t1 = time.perf_counter()

        # Dense side: the nearest chunks from the store, under the same filters.
        qvec = np.asarray(self.index.embeddings.embed_query(fold_for_search(query)), dtype=np.float32)
        t2 = time.perf_counter()
        where = self._where(cat, flt, allowed) if flt or scope else None
        dense_hits = self.index.vectors.query(qvec.tolist(), min(n_cand, int(allowed.sum())), where)
        t3 = time.perf_counter()

        dense: dict[int, float] = {cat.pos[cid]: sc for cid, sc in dense_hits if cid in cat.pos}
        lex_top = [int(i) for i in np.argsort(-lex)[:n_cand] if lex[i] > 0]
        pinned = self._articles(cat, scope, refs, allowed) or self._definitions(cat, query, scope, allowed, lex_top)
        need = [i for i in dict.fromkeys(lex_top + pinned) if i not in dense]
        for cid, vec in self.index.vectors.vectors([cat.chunks[i].chunk_id for i in need]).items():
            dense[cat.pos[cid]] = float(vec @ qvec)
        cand = [i for i in sorted(set(dense) | set(lex_top) | set(pinned)) if allowed[i]]
        if not cand:
            return []
        d = np.array([dense.get(i, 0.0) for i in cand], dtype=np.float32)
        l_ = np.array([lex[i] for i in cand], dtype=np.float32)
        fused = fuse(d, l_, fusion_weight(self.index.settings))
        order = [cand[j] for j in np.argsort(-fused, kind="stable")]
        score = {cand[j]: float(fused[j]) for j in range(len(cand))}
        dscore = {cand[j]: float(d[j]) for j in range(len(cand))}
        if self.reranker is not None:
            order = self._reranked(query, order[: s.rerank_top], cat, score) + order[s.rerank_top :]
        if pinned:
            # The article the question names is the answer's place, whatever the scores say.
            top = max(score.values()) if score else 0.0
            for rank, i in enumerate(pinned):
                score[i] = top + (len(pinned) - rank) * 1e-3
            order = pinned + [i for i in order if i not in pinned]
        if len(scope) > 1:
            order = share_between_documents(order, cat.chunks, scope)
        picked = diversify(order, cat.chunks, k, s.diversity)
        t4 = time.perf_counter()
        self.last_timings = {
            "lexical_ms": (t1 - t0) * 1000,
            "embed_ms": (t2 - t1) * 1000,
            "dense_ms": (t3 - t2) * 1000,
            "fuse_ms": (t4 - t3) * 1000,
            "total_ms": (t4 - t0) * 1000,
        }
        return [self._passage(cat, i, score[i], dscore.get(i), float(lex[i])) for i in picked]

    def _passage(self, cat: Catalog, i: int, score: float, dense: float | None, lexical: float) -> Passage:
        c = cat.chunks[i]
        m = cat.metas[c.doc_id]
        return Passage(
            c.chunk_id, c.doc_id, m.title, c.section, c.text, score, c.start, c.end,
            meta=m.to_dict(), dense_score=dense, lexical_score=lexical,
            locator=locator(m, self._text_of(c.doc_id), c.start, detail=False),
        )

    def _articles(self, cat: Catalog, scope: list[str], refs: References, allowed: np.ndarray) -> list[int]:
        """Chunks of the articles the question names, in document order, when it names
        one document (「数据安全法第二十一条」): those are where the answer is."""
        if len(scope) != 1 or not refs.articles:
            return []
        labels = {f"第{int_to_cn(n)}条" for n in refs.articles}
        return [i for i in cat.by_doc.get(scope[0], []) if allowed[i]
                and cat.chunks[i].section.rsplit(" > ", 1)[-1] in labels]

    def _definitions(
        self, cat: Catalog, query: str, scope: list[str], allowed: np.ndarray, near: list[int]
    ) -> list[int]:
        """For 「怎么定义公共数据」: the passages that define the term (「（四）公共数据，是指……」,
        「本法所称数据，是指……」) — in the named documents, else among the candidates. A
        long definition article dilutes every one of its terms, so scores alone miss it."""
        terms = defined_terms(query)
        if not terms:
            return []
        pool = [i for d in scope for i in cat.by_doc.get(d, [])] if scope else near
        out: list[int] = []
        for make in (definition_pattern, stated_pattern):
            for term in terms:
                pattern = make(term)
                out += [i for i in pool if allowed[i] and i not in out and pattern.search(fold_for_search(cat.chunks[i].text))]
                if out:
                    return out
        return out

    @cached_property
    def reranker(self) -> Reranker | None:
        return make_reranker(self.index.settings.retrieve.reranker)

    def _reranked(self, query: str, order: list[int], cat: Catalog, score: dict[int, float]) -> list[int]:
        """Re-score the head of the fused list with the configured reranker."""
        head = [Passage(cat.chunks[i].chunk_id, cat.chunks[i].doc_id, "", "", cat.chunks[i].text, 0.0, 0, 0) for i in order]
        ranked = rerank(self.reranker, query, head)  # type: ignore[arg-type]
        pos = {cat.chunks[i].chunk_id: i for i in order}
        for p in ranked:
            score[pos[p.chunk_id]] = p.score
        return [pos[p.chunk_id] for p in ranked]

    def _mask(self, cat: Catalog, flt: Filters, scope: list[str]) -> np.ndarray:
        if not flt and not scope:
            return np.ones(len(cat.chunks), dtype=np.float32)
        docs = {d for d, m in cat.metas.items() if flt.allows_document(m) and (not scope or d in scope)}
        mask = np.zeros(len(cat.chunks), dtype=np.float32)
        for d in docs:
            for i in cat.by_doc.get(d, []):
                if not (flt.city or flt.domain) or flt.allows(cat.chunks[i], cat.metas[d]):
                    mask[i] = 1.0
        return mask

    def _where(self, cat: Catalog, flt: Filters, allowed: np.ndarray) -> dict[str, Any]:
        """The same filters for Chroma: the allowed documents plus chunk-level flags."""
        docs = sorted({cat.chunks[i].doc_id for i in np.flatnonzero(allowed)})
        return flt.where(docs)
