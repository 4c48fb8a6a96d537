"""One turn of a conversation as the answer modes see it.

The pipeline reads a question once — its language and script, the standalone form of a
follow-up, the documents and articles it names, what kind of answer it wants — and hands
that to the answer mode. Modes compose in Simplified Chinese (the corpus's script) or in
English; the pipeline converts to Traditional once, at the end, when the question was
written in Traditional.
"""

from __future__ import annotations

from dataclasses import dataclass

from rag.answer.intent import Intent, intent_of
from rag.answer.prompts import Language, language_of
from rag.retrieve.references import References
from rag.text.normalize import fold_for_search


@dataclass(frozen=True)
class Turn:
    question: str  # as typed
    standalone: str  # the question actually answered (a follow-up rewritten); Traditional is read in mainland Simplified
    language: Language  # of the question as typed: the answer's
    refs: References  # the documents and articles it names
    intent: Intent
    # Why the LLM endpoint is down, when the rewrite step already found out (no second wait).
    llm_down: str | None = None

    @classmethod
    def read(cls, question: str, standalone: str, refs: References | None = None, llm_down: str | None = None) -> Turn:
        return cls(question, standalone, language_of(question), refs or References(residual=fold_for_search(standalone)),
                   intent_of(standalone), llm_down)

    @property
    def english(self) -> bool:
        return self.language == "en"

    @property
    def traditional(self) -> bool:
        return self.language == "zh-Hant"
