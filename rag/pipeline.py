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
from typing import Any

import numpy as np

from rag.answer.extractive import Draft, ExtractiveAnswerer
from rag.answer.grounding import Grounder
from rag.answer.llm import EndpointDown, LLMAnswerer, has_user_turn
from rag.answer.prompts import Language, language_of
from rag.answer import refusal as msg
from rag.answer.refusal import as_names, corpus_summary, supported, titles, unsupported_constraints
from rag.condense import condense
from rag.config import Settings, get_settings
from rag.errors import InputError, LLMUnavailable
from rag.index.index import Index
from rag.ingest.indexer import Indexer
from rag.locator import cite
from rag.retrieve import Filters, References, Searcher
from rag.text.normalize import has_cjk
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
            refusal = self.refusal(original, standalone, passages, reason, not has_cjk(original), traditional)
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
        refs = refs or References(residual=standalone)
        if refs.missing_articles or (refs.missing and not refs.docs):
            # The question is about a document (or an article) the corpus does not hold:
            # any passage that matched would answer a different question.
            return self.refusal(original, standalone, passages, "not in the corpus: " + "、".join(
                refs.missing_articles or refs.missing), english, traditional, refs)
        draft, problems, dense_top = self.evidence(standalone, passages, refs)
        if draft is None:
            return self.refusal(original, standalone, passages, "no passages", english, traditional)
        if problems or not supported(draft.coverage, dense_top, has_cjk(standalone)):
            reason = "; ".join(problems) or f"weak evidence (coverage={draft.coverage:.2f}, dense={dense_top:.2f})"
            return self.refusal(original, standalone, passages, reason, english, traditional)
        text = draft.text
        if refs.missing:
            names = as_names(refs.missing)
            text = (msg.PARTIAL_EN if english else msg.PARTIAL).format(names=names) + "\n" + text
        if traditional:
            text = to_traditional(text)
        return Answer(
            answer=text, refused=False, mode="extractive", citations=draft.citations, passages=passages,
            question=standalone, status="ok", direct=to_traditional(draft.direct) if traditional else draft.direct,
        )

    def evidence(
        self, standalone: str, passages: list[Passage], refs: References
    ) -> tuple[Draft | None, list[str], float]:
        """The extractive draft, what it fails to back (`unsupported_constraints`), and the
        best passage's dense cosine: everything the decision to answer rests on (the
        calibration in ``eval.calibrate`` reads the same)."""
        draft = self.extractive.answer(standalone, passages, refs) if passages else None
        dense_top = max((p.dense_score or 0.0 for p in passages), default=0.0)
        problems = unsupported_constraints(standalone, draft, refs) if draft is not None else []
        return draft, problems, dense_top

    def refusal(
        self, original: str, standalone: str, passages: list[Passage], reason: str, english: bool, traditional: bool,
        refs: References | None = None,
    ) -> Answer:
        """The refusal, saying what is missing when the question named it, and what the corpus holds."""
        metas = list(self.searcher.catalog().metas.values())
        summary = corpus_summary(metas, english)
        lines: list[str] = []
        if refs is not None and refs.missing_articles:
            articles = "、".join(refs.missing_articles)
            lines.append((msg.MISSING_ARTICLE_EN if english else msg.MISSING_ARTICLE).format(articles=articles))
        elif refs is not None and refs.missing:
            lines.append((msg.MISSING_DOCUMENT_EN if english else msg.MISSING_DOCUMENT).format(names=as_names(refs.missing)))
            names = self.searcher.catalog().names
            kin = [names.metas[d] for d in names.same_kind(refs.missing[0])] if names is not None else []
            if kin:
                lines.append((msg.SAME_KIND_EN if english else msg.SAME_KIND).format(titles=titles(kin)))
        else:
            lines.append(msg.REFUSAL_MESSAGE_EN if english else msg.REFUSAL_MESSAGE)
        lines.append((msg.COVERAGE_HINT_EN if english else msg.COVERAGE_HINT).format(topics=summary))
        text = "\n".join(lines)
        if traditional:
            text = to_traditional(text)
        return Answer(
            answer=text, refused=True, mode="extractive", citations=[], passages=passages,
            question=standalone, status=f"refused: {reason}", direct="",
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
