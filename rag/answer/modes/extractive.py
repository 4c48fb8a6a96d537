"""The offline mode: the evidence decides whether to answer; cited corpus sentences,
composed by the question's intent, are the answer.

`rag.answer.extractive` picks and composes the sentences (a draft); `rag.answer.refusal`
decides on the draft; this mode turns the two into the user's answer — or into a refusal
that says why in words and what the corpus does hold.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from functools import cached_property

from rag.answer import messages as msg
from rag.answer.extractive import Draft, ExtractiveAnswerer, Sentence, citation_of, with_marker
from rag.answer.focus import Focus, FocusReader
from rag.answer.messages import as_names, corpus_summary, titles
from rag.answer.modes.base import pieces
from rag.answer.refusal import Decision, decide, thresholds
from rag.answer.turn import Turn
from rag.index.index import Index
from rag.retrieve import References, Searcher
from rag.text.synonyms import english_of
from rag.types import Answer, AnswerEvent, Event, Mode, Passage, TokenEvent


@dataclass
class Composed:
    """The extractive answer with what it was made of: the draft (its sentences, grouped
    by the intent's composition), and the line that says what the corpus does not cover."""

    answer: Answer
    draft: Draft | None
    notice: str = ""


class ExtractiveMode:
    name: Mode = "extractive"

    def __init__(self, index: Index, searcher: Searcher, max_sentences: int) -> None:
        self.index = index
        self.searcher = searcher
        self.answerer = ExtractiveAnswerer(index, max_sentences)
        self._summary: tuple[tuple[str, bool] | None, str] = (None, "")

    def compose(self, turn: Turn, passages: list[Passage]) -> Iterator[Event]:
        yield from emit(self.composed(turn, passages).answer)

    def composed(self, turn: Turn, passages: list[Passage]) -> Composed:
        """The answer, or the refusal when the evidence does not support one."""
        refs = turn.refs
        draft, decision = self.evidence(turn.standalone, passages, refs)
        if not decision.answer or draft is None:
            # A place with no practice on the topic: what other places did is the useful part.
            elsewhere = draft.sentences[:3] if draft is not None and draft.kind == "practice_elsewhere" else None
            refused = self.refusal(turn, passages, decision, elsewhere)
            if draft is not None and draft.kind == "undated" and draft.notice:
                # Why the date is missing: the document's own caveat (its text stops early).
                first, _, rest = refused.answer.partition("\n")
                refused = replace(refused, answer=f"{first}\n{draft.notice}\n{rest}")
            return Composed(refused, None)
        text, notices = draft.text, [draft.notice] if draft.notice else []
        if refs.missing:
            # A named document the corpus lacks: said first, before what the corpus does hold.
            partial = (msg.PARTIAL_EN if turn.english else msg.PARTIAL) if refs.docs else (
                msg.MENTIONED_EN if turn.english else msg.MENTIONED)
            notices.insert(0, partial.format(names=as_names(refs.missing)))
            text = notices[0] + "\n" + text
        answer = Answer(
            answer=text, refused=False, mode="extractive", citations=draft.citations, passages=passages,
            question=turn.standalone, status="ok", direct=draft.direct,
        )
        return Composed(answer, draft, "\n".join(notices))

    # ---- the decision ----------------------------------------------------------------

    @cached_property
    def focus(self) -> FocusReader:
        """Reads questions' focus against this index (its BM25 terms and chunk texts)."""
        return FocusReader(self.index.lexical, lambda i: self.searcher.catalog().chunks[i].text)

    def evidence(self, standalone: str, passages: list[Passage], refs: References) -> tuple[Draft | None, Decision]:
        """The extractive draft and the decision on it (`rag.answer.refusal.decide`):
        everything the choice to answer rests on. ``eval.calibrate`` reads the same."""
        draft, focus, dense = self.features(standalone, passages, refs)
        return draft, decide(standalone, draft, refs, focus, dense, thresholds(self.index.settings.embedding.model))

    def features(self, standalone: str, passages: list[Passage], refs: References) -> tuple[Draft | None, Focus, float]:
        """What `decide` weighs: the draft, the question's focus, the best dense cosine."""
        focus = self.focus.read(standalone, refs.residual if refs.docs else None)
        draft = self.answerer.answer(standalone, passages, refs, focus) if passages else None
        dense_top = max((p.dense_score or 0.0 for p in passages), default=0.0)
        return draft, focus, dense_top

    # ---- the refusal -----------------------------------------------------------------

    def refusal(
        self, turn: Turn, passages: list[Passage], decision: Decision | str, elsewhere: list[Sentence] | None = None,
    ) -> Answer:
        """The refusal: why, in words (the document, article, place, year or topic the
        corpus lacks), a related fact offered as such — or, for a place's practice the
        corpus lacks, what it says ``elsewhere`` on the topic — and what the corpus holds."""
        if isinstance(decision, str):
            decision = Decision(False, "evidence", detail=decision)
        english, refs = turn.english, turn.refs
        lines: list[str] = []
        citations = []
        if decision.check == "article":
            articles = "、".join(refs.missing_articles)
            lines.append((msg.MISSING_ARTICLE_EN if english else msg.MISSING_ARTICLE).format(articles=articles))
        elif decision.check == "document":
            lines.append((msg.MISSING_DOCUMENT_EN if english else msg.MISSING_DOCUMENT).format(names=as_names(refs.missing)))
            names = self.searcher.catalog().names
            kin = [names.metas[d] for d in names.same_kind(refs.missing[0])] if names is not None else []
            if kin:
                lines.append((msg.SAME_KIND_EN if english else msg.SAME_KIND).format(titles=titles(kin)))
        else:
            lines.append(decision.message(english))
        if elsewhere:
            # 「资料中没有深圳在智慧养老方面的具体做法」, then what 上海、杭州 did, each cited.
            citations = [citation_of(n, s) for n, s in enumerate(elsewhere, 1)]
            topic = decision.topic.removeprefix(f"{decision.term}在").removesuffix("方面")  # 「株洲在智慧养老方面」
            topic = english_of(topic) if english else topic
            lines.append((msg.ELSEWHERE_EN if english else msg.ELSEWHERE).format(topic=topic))
            lines.extend(with_marker(s.text, n) for n, s in enumerate(elsewhere, 1))
        elif decision.related is not None:
            # A fact about a sibling place or another year: offered as what it is, cited.
            related = decision.related
            citations = [citation_of(1, related)]
            what = decision.related_what
            lead = (msg.RELATED_EN.format(what=what) if what else msg.RELATED_EN_PLAIN) if english else msg.RELATED.format(what=what)
            lines.append(lead
                         + with_marker(related.text, 1))
        lines.append((msg.COVERAGE_HINT_EN if english else msg.COVERAGE_HINT).format(topics=self.summary(english)))
        return Answer(
            answer="\n".join(lines), refused=True, mode="extractive", citations=citations, passages=passages,
            question=turn.standalone, status=decision.status, direct="",
            reason={"check": decision.check, "term": decision.term, "message": lines[0]},
        )


    def summary(self, english: bool) -> str:
        """What the corpus holds, in a line; computed once per index revision, as a refusal
        should cost no more than an answer however many documents there are."""
        cat = self.searcher.catalog()
        key = (cat.revision, english)
        if self._summary[0] != key:
            self._summary = (key, corpus_summary(list(cat.metas.values()), english))
        return self._summary[1]


def emit(answer: Answer) -> Iterator[Event]:
    """A finished answer as events: its text in pieces, then the answer itself."""
    for piece in pieces(answer.answer):
        yield TokenEvent(text=piece)
    yield AnswerEvent(answer=answer)

