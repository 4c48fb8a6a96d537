"""When to say "the documents do not cover this", decided from evidence, not a prompt plea.

Two signals, calibrated on the dev half of the gold set (``eval/data/gold.jsonl``) with
``python -m eval calibrate``; the thresholds live in ``refusal.toml`` beside this file:

* ``coverage``: the idf-weighted share of the question's terms found in the best
  sentence (and its heading). A term the corpus never uses weighs most, so a question
  about something the corpus lacks (「养老补贴标准」) scores low even when the city
  and the topic match.
* ``dense``: the cosine of the question to the best passage. It is the only signal for
  questions without Chinese characters (English), whose terms cannot match lexically.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

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
