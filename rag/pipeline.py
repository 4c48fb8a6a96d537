"""One pipeline for every front end: ``answer(question, history, filters) -> Iterator[Event]``.

It reads as its named steps — validate, condense, retrieve, compose, finish — and
yields typed events as it goes: status steps with their data, the passages found, the
answer text in pieces, and last the final answer with verified citations. Composing is
the answer mode's (`rag.answer.modes`: extractive or LLM, peers behind one protocol);
finishing converts script once and gives every citation its locator. The CLI prints them, the
UI folds them into components, the HTTP API streams them as SSE, tests assert on them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from rag.answer.extractive import Draft
from rag.answer.focus import Focus
from rag.answer.llm import EndpointDown, LLMAnswerer, has_user_turn
from rag.answer.modes import AnswerMode, ExtractiveMode, LLMMode, mode_of
from rag.answer.prompts import language_of
from rag.answer.turn import Turn
from rag.condense import condense
from rag.config import Settings, get_settings
from rag.errors import InputError, LLMUnavailable
from rag.index.index import Index
from rag.ingest.indexer import Indexer
from rag.locator import cite
from rag.retrieve import Filters, References, Searcher
from rag.text.normalize import repair_input
from rag.text.script import to_mainland, to_traditional
from rag.types import Answer, AnswerEvent, Event, Mode, Passage, PassagesEvent, StatusEvent, TokenEvent

log = logging.getLogger(__name__)


class Pipeline:
    """Holds the index and the answer modes for one `Settings`; cheap to build, loads lazily."""

    def __init__(self, settings: Settings | None = None, index: Index | None = None) -> None:
        self.settings = settings or get_settings()
        self.index = index or Index(self.settings)
        self.searcher = Searcher(self.index)
        self.llm = LLMAnswerer(self.settings)
        offline = ExtractiveMode(self.index, self.searcher, self.settings.answer.max_sentences)
        self.modes: dict[Mode, AnswerMode] = {"extractive": offline, "llm": LLMMode(self.llm, offline, self.similarity)}
        self.extractive = offline
        self._bootstrap_lock = threading.Lock()

    # ---- setup ---------------------------------------------------------------------

    def ensure_index(self) -> bool:
        """Build the index from the bundled corpus when the home is empty. True if it did.

        First the integrity check of every persisted part (`Index.check`): a damaged
        document or vector store raises `IndexDamaged` with the file and the repair, here
        at start rather than as a failure of each question. A damaged keyword index is
        no error: it is rebuilt from the documents when first used.
        """
        self.index.check()
        if not self.index.is_empty():
            return False
        with self._bootstrap_lock:
            if not self.index.is_empty():
                return False
            Indexer(self.index).ingest_bundled()
            return True

    # A question the bundled corpus answers, asked once at server start (never logged).
    WARM_UP_QUESTION = "常德建了多少家线下智能养老服务站点？"

    def warm_up(self) -> None:
        """Load what the first question would otherwise wait for (the embedding model, the
        lexical index, the sentence vectors): one offline turn, its answer thrown away, so
        the first user does not wait seconds for a short answer."""
        q = self.WARM_UP_QUESTION
        refs = self.searcher.references(q)
        passages = self.retrieve(q, Filters.parse(None), refs=refs)
        for _ in self.extractive.compose(Turn.read(q, q, refs, None), passages):
            pass

    # ---- the steps -----------------------------------------------------------------

    def validate(self, question: str) -> str:
        # Repaired, not refused: a stray surrogate pasted from a broken editor should not
        # cost the user the question (and must never reach the embedding model).
        q = repair_input(question or "").strip()
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
        history = [{**t, "content": repair_input(str(t.get("content", "")))} for t in history]
        flt = filters if isinstance(filters, Filters) else Filters.parse(filters)
        if self.settings.log_questions:
            log.info("question: %s", q)
        if self.index.is_empty():
            yield StatusEvent(step="index")
            self.ensure_index()

        mode = self.modes[mode_of(self.settings)]
        standalone, llm_down = self.condense_question(q, history, self.llm if mode.name == "llm" else None)
        if standalone != q:
            yield StatusEvent(step="condense", data={"question": standalone})
        if language_of(q) == "zh-Hant":
            # Read in the corpus's script and words; the answer goes back to Traditional at the end.
            standalone = to_mainland(standalone)

        yield StatusEvent(step="retrieve")
        refs = self.searcher.references(standalone)
        passages = self.retrieve(standalone, flt, refs=refs)
        yield PassagesEvent(passages=passages, question=standalone)

        turn = Turn.read(q, standalone, refs, llm_down)
        yield StatusEvent(step="compose", data={"mode": mode.name, "intent": turn.intent.value})
        yield from self.finish(turn, mode.compose(turn, passages))

    def finish(self, turn: Turn, events: Iterator[Event]) -> Iterator[Event]:
        """The last step: the answer in the question's script (converted here, once) and
        every citation with its locator, legal level, status and the document's notice."""
        convert = to_traditional if turn.traditional else None
        for ev in events:
            if isinstance(ev, TokenEvent) and convert is not None:
                yield TokenEvent(text=convert(ev.text))
            elif isinstance(ev, AnswerEvent) and ev.answer is not None:
                yield AnswerEvent(answer=self.cited(in_script(ev.answer, convert)))
            else:
                yield ev

    # ---- the LLM's part outside the answer ---------------------------------------------

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

    def similarity(self, sentence: str, spans: list[str]) -> list[float]:
        """Cosine of a sentence to each span (the grounding check of English sentences)."""
        emb = self.index.embeddings
        q = np.asarray(emb.embed_query(sentence), dtype=np.float32)
        m = np.asarray(emb.embed_documents(spans), dtype=np.float32)
        return [float(v) for v in m @ q]

    def cited(self, answer: Answer) -> Answer:
        """Every citation with its locator, legal level, status and the document's notice."""
        out = []
        for c in answer.citations:
            doc = self.index.docs.document(c.doc_id)
            out.append(cite(c, doc) if doc is not None else c)
        return replace(answer, citations=out)

    # ---- what evaluation and calibration read ------------------------------------------

    def features(self, standalone: str, passages: list[Passage], refs: References) -> tuple[Draft | None, Focus, float]:
        """What the refusal decision weighs (`ExtractiveMode.features`)."""
        return self.extractive.features(standalone, passages, refs)


def in_script(answer: Answer, convert: Callable[[str], str] | None) -> Answer:
    """The answer's words in the reader's script; quotes stay exact spans of the corpus."""
    if convert is None:
        return answer
    reason = {**answer.reason, "message": convert(answer.reason["message"])} if answer.reason else None
    return replace(answer, answer=convert(answer.answer), direct=convert(answer.direct), reason=reason)


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
