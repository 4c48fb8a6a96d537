"""What kind of answer an open question wants: a list of measures, the problems, a
place's practice, a comparison, a definition, an explanation, a procedure, a yes/no — or
a factoid (the question types of `rag.answer.question`).

The words live in ``rag/text/intents.toml``. An intent decides how an answer is composed
(a list from the document's outline, passages about a place grouped …), never whether
the question is answered: that is `rag.answer.refusal`'s.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache
from importlib import resources

from rag.answer.question import FACTOID_TYPES, QUOTED_PHRASE, question_type
from rag.text.normalize import fold_for_search


class Intent(str, Enum):
    FACTOID = "factoid"
    DEFINITION = "definition"
    MEASURES = "measures"
    PROBLEMS = "problems"
    PRACTICE = "practice"
    COMPARISON = "comparison"
    EXPLANATION = "explanation"
    PROCEDURE = "procedure"
    YESNO = "yesno"


@dataclass(frozen=True)
class _Words:
    zh: tuple[str, ...]
    en: tuple[re.Pattern[str], ...]
    sections: tuple[str, ...]


@lru_cache(maxsize=1)
def _table() -> tuple[tuple[Intent, _Words], ...]:
    data = tomllib.loads(resources.files("rag.text").joinpath("intents.toml").read_text(encoding="utf-8"))
    return tuple(
        (Intent(name), _Words(tuple(fold_for_search(w) for w in data[name].get("zh", ())),
                              tuple(re.compile(p) for p in data[name].get("en", ())),
                              tuple(fold_for_search(w) for w in data[name].get("sections", ()))))
        for name in data["order"]
    )


def intent_of(question: str) -> Intent:
    """The intent of ``question``: a how-many, when, where or who question is a factoid
    whatever else it says (「有多少项措施」 asks a number); otherwise the first listed intent
    whose words it uses. Of several questions in one, the first open one's."""
    # A quoted phrase is one name (「遵循“谁提供，谁负责”」), not two clauses.
    question = QUOTED_PHRASE.sub("“”", fold_for_search(question))
    parts = [p for p in re.split(r"[？?，,；;]", question) if p.strip()]
    if len(parts) > 1:
        # 「具体怎么提交？多长时间能答复？」「要怎么提申请，多长时间内答复」: two questions,
        # answered together by the open one.
        found = [intent_of(p) for p in parts]
        return next((i for i in found if i is not Intent.FACTOID), Intent.FACTOID)
    if question_type(question) in FACTOID_TYPES:
        return Intent.FACTOID
    folded = fold_for_search(question)
    lower = question.lower()
    for intent, words in _table():
        if any(w in folded for w in words.zh) or any(p.search(lower) for p in words.en):
            return intent
    return Intent.FACTOID


def section_words(intent: Intent) -> tuple[str, ...]:
    """Words of a heading whose items answer ``intent`` (empty: not an outline intent)."""
    return next((w.sections for i, w in _table() if i is intent), ())


def intent_words(intent: Intent) -> tuple[str, ...]:
    """The Chinese words that name ``intent`` in a question (建议, 对策, 问题 …)."""
    return next((w.zh for i, w in _table() if i is intent), ())
