"""When to say "the documents do not cover this", decided from evidence, not a prompt plea.

First, hard checks of what the question pins down (`unsupported_constraints`: years,
places, the kind of number or date asked for). Then two scores, calibrated on the dev half of the gold set (``eval/data/gold.jsonl``) with
``python -m eval.calibrate --write``; the thresholds live in ``refusal.toml`` beside this file:

* ``coverage``: the idf-weighted share of the question's terms found in the best
  sentence (and its heading). A term the corpus never uses weighs most, so a question
  about something the corpus lacks (「养老补贴标准」) scores low even when the city
  and the topic match.
* ``dense``: the cosine of the question to the best passage. It is the only signal for
  questions without Chinese characters (English), whose terms cannot match lexically.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from rag.answer.extractive import Draft
from rag.answer.question import QType, question_type
from rag.text.normalize import fold_for_search, has_cjk
from rag.text.places import places_in
from rag.text.synonyms import expand

REFUSAL_MESSAGE = "抱歉，现有资料中没有找到能回答这个问题的内容，因此不作回答，以免误导。"
REFUSAL_MESSAGE_EN = "Sorry, the documents available do not cover this question, so I will not guess."
COVERAGE_HINT = "资料库目前涵盖：{topics}。可以换个问法，或询问这些方面的问题。"
COVERAGE_HINT_EN = "The documents currently cover: {topics}. Try rephrasing, or ask about these topics."


@dataclass(frozen=True)
class Thresholds:
    min_coverage: float
    min_dense_zh: float
    min_dense_en: float


@lru_cache(maxsize=1)
def thresholds() -> Thresholds:
    data = tomllib.loads(resources.files("rag.answer").joinpath("refusal.toml").read_text(encoding="utf-8"))
    t = data["thresholds"]
    return Thresholds(float(t["min_coverage"]), float(t["min_dense_zh"]), float(t["min_dense_en"]))


def supported(coverage: float, dense: float, has_cjk: bool, t: Thresholds | None = None) -> bool:
    """Whether the evidence is strong enough to answer."""
    t = t or thresholds()
    if has_cjk:
        return coverage >= t.min_coverage and dense >= t.min_dense_zh
    return dense >= t.min_dense_en


_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
_TITLE = re.compile(r"《[^》]*》")
_NEEDS_SPAN = {
    QType.COUNT: "number of the asked kind",
    QType.WHEN: "date",
    QType.WHERE: "place name",
    QType.WHO: "named organisation",
}


def unsupported_constraints(question: str, draft: Draft) -> list[str]:
    """What the question pins down that the chosen evidence does not back.

    These are the checks an official would make before quoting an answer: a year the
    question names must be in the evidence (「2023年新增了多少」 is not answered by a 2021
    figure); a place it names must be what the evidence is about (「广州的做法」 is not
    answered by a passage on 杭州); a how-many question needs a number of the right kind
    (「投资了多少钱」 is not answered by 「2000多名医师」); a when-question needs a date.
    """
    problems: list[str] = []
    # A sentence is read in its paragraph and under its headings, as a reader would.
    evidence = "\n".join(dict.fromkeys(s.passage.section + "\n" + s.paragraph + s.passage.text for s in draft.sentences))
    best = draft.sentences[0] if draft.sentences else None
    # A year inside a title (《2020年中国数字经济发展报告》) is not a fact about that year.
    untitled = _TITLE.sub("", evidence)
    for year in _YEAR.findall(_TITLE.sub("", question)):
        if year not in untitled:
            problems.append(f"year {year} not in the evidence")
    places = places_in(fold_for_search(question))
    missing = [p for p in places if p not in evidence]
    if missing:
        problems.append(f"place {'、'.join(missing)} not in the evidence")
    qtype = question_type(question)
    if qtype in _NEEDS_SPAN and not draft.direct_found:
        problems.append(f"no {_NEEDS_SPAN[qtype]} in the evidence")
    if not has_cjk(question) and not (set(expand(question)) - set(places)):
        problems.append("the question names nothing the documents' vocabulary knows besides places")
    if best is not None and places and not any(p in best.paragraph + best.passage.text + best.passage.section for p in places):
        problems.append("the best sentence is not about the place asked")
    return problems
