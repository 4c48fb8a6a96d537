"""One pipeline for every front end: ``answer(question, history, filters) -> Iterator[Event]``.

It reads as its named steps — validate, condense, retrieve, compose, verify, finish —
and yields typed events as it goes: status lines, the passages found, the answer text
in pieces, and last the final answer with verified citations. The CLI prints them, the
UI folds them into components, the HTTP API streams them as SSE, tests assert on them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import cached_property
from typing import Any

import numpy as np

from rag.answer.extractive import Draft, ExtractiveAnswerer
from rag.answer.grounding import Grounder
from rag.answer.llm import EndpointDown, LLMAnswerer, has_user_turn
from rag.answer.prompts import Language, language_of
from rag.answer import messages as msg
from rag.answer.extractive import citation_of, with_marker
from rag.answer.focus import Focus, FocusReader
from rag.answer.messages import as_names, corpus_summary, titles
from rag.answer.refusal import Decision, decide
from rag.condense import condense
from rag.config import Settings, get_settings
from rag.errors import InputError, LLMUnavailable
from rag.index.index import Index
from rag.ingest.indexer import Indexer
from rag.locator import cite
from rag.retrieve import Filters, References, Searcher
from rag.text.normalize import fold_for_search, has_cjk
from rag.text.script import is_traditional, to_traditional
from rag.types import Answer, AnswerEvent, Event, Passage, PassagesEvent, StatusEvent, TokenEvent

log = logging.getLogger(__name__)


class Pipeline:
    """Holds the index and the answerers for one `Settings`; cheap to build, loads lazily."""

    def __init__(self, settings: Settings | None = None, index: Index | None = None) -> None:
        self.settings = settings or get_settings()
        self.index = index or Index(self.settings)
        self.searcher = Searcher(self.index)
        self.extractive = ExtractiveAnswerer(self.index, self.settings.answer.max_sentences)
        self.llm = LLMAnswerer(self.settings)
        self._bootstrap_lock = threading.Lock()

    # ---- setup ---------------------------------------------------------------------

    def ensure_index(self) -> bool:
        """Build the index from the bundled corpus when the home is empty. True if it did."""
        if not self.index.is_empty():
            return False
        with self._bootstrap_lock:
            if not self.index.is_empty():
                return False
            Indexer(self.index).ingest_bundled()
            return True

    # ---- the steps -----------------------------------------------------------------

    def validate(self, question: str) -> str:
        q = (question or "").strip()
        if not q:
            raise InputError("the question is empty; type a question, e.g. 常德建了多少家智能养老服务站点？")
        if len(q) > self.settings.max_question_chars:
            raise InputError(
                f"the question is {len(q)} characters long; the limit is {self.settings.max_question_chars} "
                "(POLICY_QA_MAX_QUESTION_CHARS): ask a shorter question"
            )
        return q

    def retrieve(
        self, question: str, filters: Filters, k: int | None = None, refs: References | None = None
    ) -> list[Passage]:
        return self.searcher.search(question, k or self.settings.retrieve.k, filters, refs)

    def run(
        self,
        question: str,
        history: Sequence[dict[str, str]] = (),
        filters: dict[str, Any] | Filters | None = None,
    ) -> Iterator[Event]:
        """The events of one turn; see the module docstring."""
        q = self.validate(question)
        flt = filters if isinstance(filters, Filters) else Filters.parse(filters)
        if self.settings.log_questions:
            log.info("question: %s", q)
        if self.index.is_empty():
            yield StatusEvent(step="index", message="首次使用：正在为内置资料建立索引…")
            self.ensure_index()

        llm = self.llm if self.uses_llm() else None
        standalone, llm_down = self.condense_question(q, history, llm)
        if standalone != q:
            yield StatusEvent(step="condense", message=f"结合上文理解为：{standalone}")

        yield StatusEvent(step="retrieve", message="正在检索资料…")
        refs = self.searcher.references(standalone)
        passages = self.retrieve(standalone, flt, refs=refs)
        yield PassagesEvent(passages=passages, question=standalone)

        yield StatusEvent(step="compose", message="正在组织答案…")
        if llm is None:
            yield from self.emit(self.compose_extractive(q, standalone, passages, refs))
        else:
            yield from self.compose_llm(llm, q, standalone, passages, llm_down, refs)

    # ---- the LLM mode ----------------------------------------------------

    def uses_llm(self) -> bool:
        """LLM mode: asked for, or 'auto' with an endpoint configured."""
        mode = self.settings.answer.mode
        return mode == "llm" or (mode == "auto" and bool(self.settings.llm.base_url))

    def condense_question(
        self, question: str, history: Sequence[dict[str, str]], llm: LLMAnswerer | None
    ) -> tuple[str, str | None]:
        """The standalone question, and why the endpoint is down if the rewrite found out.

        The model rewrites follow-ups in LLM mode; on any failure the heuristic does. When
        the endpoint itself failed (unreachable, timed out), the answer step is told, so the
        user does not wait a second time for the same dead server.
        """
        if llm is None or not has_user_turn(history):
            return condense(question, history), None
        try:
            return llm.rewrite(question, history), None
        except EndpointDown as exc:
            log.warning("LLM rewrite failed (%s); using the heuristic", exc)
            return condense(question, history), str(exc)
        except LLMUnavailable as exc:
            log.warning("LLM rewrite unusable (%s); using the heuristic", exc)
            return condense(question, history), None

    def compose_llm(
        self, llm: LLMAnswerer, original: str, standalone: str, passages: list[Passage], llm_down: str | None,
        refs: References | None = None,
    ) -> Iterator[Event]:
        """Stream the model's answer, sentence by checked sentence; fall back on failure.

        Whether to answer at all is decided from the evidence, as in extractive mode: the
        model is not called when the extractive checks refuse. The extractive answer is
        also what the user gets if the model fails at any point.
        """
        extractive = self.compose_extractive(original, standalone, passages, refs)
        if extractive.refused:
            yield from self.emit(extractive)
            return
        if llm_down:
            yield from self.fall_back(extractive, llm_down)
            return
        traditional = is_traditional(original)
        grounder = Grounder(passages, self.similarity)
        shown: list[str] = []
        try:
            for piece in self.checked_pieces(llm, standalone, passages, language_of(original), grounder):
                piece = to_traditional(piece) if traditional else piece
                shown.append(piece)
                yield TokenEvent(text=piece)
        except LLMUnavailable as exc:
            yield from self.fall_back(extractive, str(exc))
            return
        yield from self.finish_llm(original, standalone, passages, grounder, "".join(shown), traditional)

    def checked_pieces(
        self, llm: LLMAnswerer, question: str, passages: list[Passage], language: Language, grounder: Grounder
    ) -> Iterator[str]:
        """The model's deltas through the grounding check: only supported sentences come out."""
        for delta in llm.stream(question, passages, language):
            yield from grounder.feed(delta)
        yield from grounder.finish()

    def finish_llm(
        self, original: str, standalone: str, passages: list[Passage], grounder: Grounder, text: str, traditional: bool
    ) -> Iterator[Event]:
        """The final answer of the checked text, or the refusal when no sentence survived."""
        g = grounder.result
        if not g.kept:
            reason = "the model found no answer in the sources" if g.no_answer else (
                f"no sentence of the model's answer is supported by its sources (dropped {len(g.dropped)})"
            )
            refusal = self.refusal(original, standalone, passages, Decision(False, "evidence", detail=reason),
                                   not has_cjk(original), traditional)
            yield from self.emit(replace(refusal, mode="llm"))
            return
        direct = to_traditional(g.direct) if traditional else g.direct
        yield AnswerEvent(answer=self.cited(Answer(
            answer=text, refused=False, mode="llm", citations=g.citations, passages=passages,
            question=standalone, status=g.status(), direct=direct,
        )))

    def fall_back(self, extractive: Answer, reason: str) -> Iterator[Event]:
        """The extractive answer, announced, after the model failed."""
        yield StatusEvent(step="fallback", message=f"大模型暂不可用（{reason}），改用摘录式回答。")
        yield from self.emit(replace(extractive, status=f"llm_fallback: {reason}"))

    def similarity(self, sentence: str, spans: list[str]) -> list[float]:
        """Cosine of a sentence to each span (the grounding check of English sentences)."""
        emb = self.index.embeddings
        q = np.asarray(emb.embed_query(sentence), dtype=np.float32)
        m = np.asarray(emb.embed_documents(spans), dtype=np.float32)
        return [float(v) for v in m @ q]

    def emit(self, answer: Answer) -> Iterator[Event]:
        """A finished answer as events: its text in pieces, then the answer itself."""
        for piece in _pieces(answer.answer):
            yield TokenEvent(text=piece)
        yield AnswerEvent(answer=self.cited(answer))

    def cited(self, answer: Answer) -> Answer:
        """Every citation with its locator, legal level, status and the document's notice."""
        out = []
        for c in answer.citations:
            doc = self.index.docs.document(c.doc_id)
            out.append(cite(c, doc) if doc is not None else c)
        return replace(answer, citations=out)

    def compose_extractive(
        self, original: str, standalone: str, passages: list[Passage], refs: References | None = None
    ) -> Answer:
        """Extractive answer, or the refusal when the evidence does not support one."""
        traditional = is_traditional(original)
        english = not has_cjk(original)
        refs = refs or References(residual=fold_for_search(standalone))
        draft, decision = self.evidence(standalone, passages, refs)
        if not decision.answer or draft is None:
            return self.refusal(original, standalone, passages, decision, english, traditional, refs)
        text = draft.text
        if refs.missing:
            names = as_names(refs.missing)
            partial = (msg.PARTIAL_EN if english else msg.PARTIAL) if refs.docs else (
                msg.MENTIONED_EN if english else msg.MENTIONED)
            text = partial.format(names=names) + "\n" + text
        if traditional:
            text = to_traditional(text)
        return Answer(
            answer=text, refused=False, mode="extractive", citations=draft.citations, passages=passages,
            question=standalone, status="ok", direct=to_traditional(draft.direct) if traditional else draft.direct,
        )

    @cached_property
    def focus(self) -> FocusReader:
        """Reads questions' focus against this index (its BM25 terms and chunk texts)."""
        return FocusReader(self.index.lexical, lambda i: self.searcher.catalog().chunks[i].text)

    def evidence(self, standalone: str, passages: list[Passage], refs: References) -> tuple[Draft | None, Decision]:
        """The extractive draft and the decision on it (`rag.answer.refusal.decide`):
        everything the choice to answer rests on. ``eval.calibrate`` reads the same."""
        draft, focus, dense = self.features(standalone, passages, refs)
        return draft, decide(standalone, draft, refs, focus, dense)

    def features(self, standalone: str, passages: list[Passage], refs: References) -> tuple[Draft | None, Focus, float]:
        """What `decide` weighs: the draft, the question's focus, the best dense cosine."""
        focus = self.focus.read(standalone, refs.residual if refs.docs else None)
        draft = self.extractive.answer(standalone, passages, refs, focus) if passages else None
        dense_top = max((p.dense_score or 0.0 for p in passages), default=0.0)
        return draft, focus, dense_top

    def refusal(
        self, original: str, standalone: str, passages: list[Passage], decision: Decision | str, english: bool,
        traditional: bool, refs: References | None = None,
    ) -> Answer:
        """The refusal: why, in words (the document, article, place, year or topic the
        corpus lacks), a related fact offered as such, and what the corpus holds."""
        if isinstance(decision, str):
            decision = Decision(False, "evidence", detail=decision)
        metas = list(self.searcher.catalog().metas.values())
        lines: list[str] = []
        citations = []
        if decision.check == "article" and refs is not None:
            articles = "、".join(refs.missing_articles)
            lines.append((msg.MISSING_ARTICLE_EN if english else msg.MISSING_ARTICLE).format(articles=articles))
        elif decision.check == "document" and refs is not None:
            lines.append((msg.MISSING_DOCUMENT_EN if english else msg.MISSING_DOCUMENT).format(names=as_names(refs.missing)))
            names = self.searcher.catalog().names
            kin = [names.metas[d] for d in names.same_kind(refs.missing[0])] if names is not None else []
            if kin:
                lines.append((msg.SAME_KIND_EN if english else msg.SAME_KIND).format(titles=titles(kin)))
        else:
            lines.append(decision.message(english))
        if decision.related is not None:
            # A fact about a sibling place or another year: offered as what it is, cited.
            related = decision.related
            citations = [citation_of(1, related)]
            lines.append((msg.RELATED_EN if english else msg.RELATED).format(what=decision.related_what)
                         + with_marker(related.text, 1))
        lines.append((msg.COVERAGE_HINT_EN if english else msg.COVERAGE_HINT).format(topics=corpus_summary(metas, english)))
        text = "\n".join(lines)
        if traditional:
            text = to_traditional(text)
        return Answer(
            answer=text, refused=True, mode="extractive", citations=citations, passages=passages,
            question=standalone, status=decision.status, direct="",
            reason={"check": decision.check, "term": decision.term, "message": to_traditional(lines[0]) if traditional
                    else lines[0]},
        )


def _pieces(text: str) -> Iterator[str]:
    """Answer text in sentence-sized pieces, so front ends can stream it."""
    buf = ""
    for ch in text:
        buf += ch
        if ch in "。！？\n" and len(buf) >= 2:
            yield buf
            buf = ""
    if buf:
        yield buf


_default: Pipeline | None = None
_default_lock = threading.Lock()


def default_pipeline() -> Pipeline:
    """The process-wide pipeline for the environment's settings."""
    global _default
    with _default_lock:
        if _default is None:
            _default = Pipeline()
        return _default


def answer(
    question: str,
    history: Sequence[dict[str, str]] = (),
    filters: dict[str, Any] | None = None,
    settings: Settings | None = None,
) -> Iterator[Event]:
    """Answer one turn; yields `StatusEvent`, `PassagesEvent`, `TokenEvent`s, then `AnswerEvent`."""
    pipe = Pipeline(settings) if settings is not None else default_pipeline()
    return pipe.run(question, history, filters)


def final_answer(events: Iterator[Event]) -> Answer:
    """Drain an event stream and return its final answer."""
    result = None
    for ev in events:
        if isinstance(ev, AnswerEvent):
            result = ev.answer
    if result is None:
        raise RuntimeError("the pipeline ended without an answer")
    return result


__all__ = ["Pipeline", "answer", "final_answer", "default_pipeline"]
