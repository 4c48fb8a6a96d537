"""The LLM mode: the evidence decides as offline; the model writes; the sources check.

Whether to answer is the extractive mode's decision: the model is not called when it
refuses, and what the corpus does not cover (a named document it lacks, a place with no
practice on the topic) is said first, in the fixed words, whatever the model writes.

For an open question (a list of measures, a place's practice, a comparison …) the model
gets the evidence the extractive composition gathered for that intent — the section's
items, every sentence about the place — as numbered, delimited sources, with what shape
the answer should take; for a factoid, the retrieved passages. Only sentences the sources
support are shown (`rag.answer.grounding`); on any failure of the model — down, slow,
unsupported — the extractive composition is the answer.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import replace

from rag.answer.extractive import Draft
from rag.answer.grounding import Grounder
from rag.answer.intent import Intent
from rag.answer.llm import LLMAnswerer
from rag.answer.modes.extractive import Composed, ExtractiveMode, emit
from rag.answer.refusal import Decision
from rag.answer.turn import Turn
from rag.errors import LLMUnavailable
from rag.types import Answer, AnswerEvent, Event, Mode, Passage, StatusEvent, TokenEvent

log = logging.getLogger(__name__)

Similarity = Callable[[str, list[str]], list[float]]

# Compositions whose sentences are the intent's evidence (not one factoid's best sentences).
_GATHERED = frozenset({"list", "practice", "comparison", "definition", "yesno", "procedure",
                       "measures", "problems",
                       "explanation", "per_document"})


class LLMMode:
    name: Mode = "llm"

    def __init__(self, llm: LLMAnswerer, extractive: ExtractiveMode, similarity: Similarity) -> None:
        self.llm = llm
        self.extractive = extractive
        self.similarity = similarity

    def compose(self, turn: Turn, passages: list[Passage]) -> Iterator[Event]:
        composed = self.extractive.composed(turn, passages)
        if composed.answer.refused:
            yield from emit(replace(composed.answer, mode="llm"))
            return
        if turn.llm_down:
            yield from self.fall_back(composed, turn.llm_down)
            return
        sources, intent = self.sources(turn, passages, composed.draft)
        grounder = Grounder(sources, self.similarity)
        # What the corpus does not cover goes first, once the model has a checked sentence
        # to follow it (if it has none, the fallback says it).
        shown: list[str] = []
        try:
            for piece in self.checked(turn, sources, intent, grounder):
                if not shown and composed.notice:
                    shown.append(composed.notice + "\n")
                    yield TokenEvent(text=shown[-1])
                shown.append(piece)
                yield TokenEvent(text=piece)
        except LLMUnavailable as exc:
            yield from self.fall_back(composed, str(exc), "".join(shown))
            return
        yield from self.finish(turn, passages, grounder, "".join(shown), composed)

    def checked(self, turn: Turn, sources: list[Passage], intent: Intent, grounder: Grounder) -> Iterator[str]:
        """The model's deltas through the grounding check: only supported sentences come out.
        The model writes Simplified (or English), the corpus's script; `Pipeline.finish`
        converts a Traditional reader's answer, once."""
        for delta in self.llm.stream(turn.standalone, sources, "en" if turn.english else "zh-Hans", intent):
            yield from grounder.feed(delta)
        yield from grounder.finish()

    def sources(self, turn: Turn, passages: list[Passage], draft: Draft | None) -> tuple[list[Passage], Intent]:
        """What the model writes from: the intent's gathered sentences, each a source
        labelled with its group (the list's section, the place, the document), or the
        retrieved passages for a factoid."""
        if draft is None or draft.kind not in _GATHERED or not draft.sentences:
            return passages, Intent.FACTOID
        out: list[Passage] = []
        seen: set[tuple[str, int, int]] = set()
        for s in draft.sentences:
            key = (s.passage.doc_id, s.start, s.end)
            if key in seen:
                continue
            seen.add(key)
            p = s.passage
            section = s.group or p.section
            out.append(Passage(p.chunk_id, p.doc_id, p.title, section, s.text, p.score, s.start, s.end,
                               meta=p.meta, dense_score=p.dense_score, lexical_score=p.lexical_score))
        return out, turn.intent

    def finish(self, turn: Turn, passages: list[Passage], grounder: Grounder, text: str, composed: Composed) -> Iterator[Event]:
        """The checked answer; when no sentence survived, the refusal the model's silence
        means — or, when the evidence did answer, the extractive composition."""
        g = grounder.result
        if not g.kept:
            if g.no_answer:
                refusal = self.extractive.refusal(turn, passages, Decision(
                    False, "evidence", detail="the model found no answer in the sources"))
                yield from emit(replace(refusal, mode="llm"))
                return
            yield from self.fall_back(composed, f"no sentence of the model's answer is supported by its sources "
                                                f"(dropped {len(g.dropped)})")
            return
        yield AnswerEvent(answer=Answer(
            answer=text, refused=False, mode="llm", citations=g.citations, passages=passages,
            question=turn.standalone, status=g.status(), direct=g.direct,
        ))

    def fall_back(self, composed: Composed, reason: str, shown: str = "") -> Iterator[Event]:
        """The extractive answer, announced, after the model failed. ``shown`` is what
        already went out: front ends replace it (a stream cannot take it back)."""
        log.warning("LLM answer unusable (%s); answering extractively", reason)
        yield StatusEvent(step="fallback", data={"reason": reason, "shown": len(shown)})
        yield from emit(replace(composed.answer, status=f"llm_fallback: {reason}"))
