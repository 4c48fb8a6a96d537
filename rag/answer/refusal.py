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

from rag.answer.extractive import Draft, Sentence
from rag.answer.question import QType, question_type
from rag.retrieve.references import References
from rag.text.normalize import fold_for_search, has_cjk
from rag.text.places import PLACES, places_in
from rag.text.synonyms import expand
from rag.types import LEGAL_LEVELS, DocumentMeta

REFUSAL_MESSAGE = "抱歉，现有资料中没有找到能回答这个问题的内容，因此不作回答，以免误导。"
REFUSAL_MESSAGE_EN = "Sorry, the documents available do not cover this question, so I will not guess."
COVERAGE_HINT = "资料库目前收录：{topics}。可以换个问法，或询问这些方面的问题。"
COVERAGE_HINT_EN = "The documents currently cover: {topics}. Try rephrasing, or ask about these topics."
MISSING_DOCUMENT = "资料库中没有{names}，因此无法依据它作答。"
MISSING_DOCUMENT_EN = "The corpus does not hold {names}, so I cannot answer from it."
MISSING_ARTICLE = "资料中没有{articles}。"
MISSING_ARTICLE_EN = "The corpus has no {articles}."
SAME_KIND = "资料库收录的同类文件有：{titles}。"
SAME_KIND_EN = "Documents of that kind in the corpus: {titles}."
PARTIAL = "资料库中没有{names}；以下仅依据资料库中的文件作答。"
PARTIAL_EN = "The corpus does not hold {names}; what follows rests on the documents it does hold."
# How each legal level is counted in the coverage line (部 for laws, 份 for documents).
_MEASURE = {"法律": "部", "行政法规": "部", "地方性法规": "部", "研究文章": "篇"}
_LEVEL_EN = {"法律": "laws", "行政法规": "administrative regulations", "地方性法规": "local regulations",
             "国务院文件": "State Council documents", "部门文件": "ministry documents", "研究文章": "research articles"}


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


def _context(s: Sentence) -> str:
    """Where a sentence sits: its section path, and for a document about one place, the
    document's title and place (a paper about eight cities names each where it means it)."""
    meta = s.passage.meta
    cities = meta.get("cities") or []
    own = (s.passage.title + "".join(cities)) if len(cities) == 1 else ""
    return f"{own}\n{s.passage.section}\n"


def unsupported_constraints(question: str, draft: Draft, refs: References | None = None) -> list[str]:
    """What the question pins down that the chosen evidence does not back.

    These are the checks an official would make before quoting an answer: a year the
    question names must be in the evidence (「2023年新增了多少」 is not answered by a 2021
    figure); a place it names must be what the evidence is about (「广州的做法」 is not
    answered by a passage on 杭州); a how-many question needs a number of the right kind
    (「投资了多少钱」 is not answered by 「2000多名医师」); a when-question needs a date.
    """
    problems: list[str] = []
    # A sentence is read in its paragraph and under its headings, as a reader would — and
    # in its document: an article of 《上海市数据条例》 that says 本市 is about 上海.
    evidence = "\n".join(dict.fromkeys(_context(s) + s.paragraph + s.passage.text for s in draft.sentences))
    best = draft.sentences[0] if draft.sentences else None
    # A year inside a title (《2020年中国数字经济发展报告》) is not a fact about that year.
    untitled = _TITLE.sub("", evidence)
    # So is a year inside a document's name or 文号 (人社部发〔2021〕48号): ``refs.residual``
    # is the question without the names it gave.
    asked = refs.residual if refs is not None and refs.docs else question
    for year in _YEAR.findall(_TITLE.sub("", asked)):
        if year not in untitled:
            problems.append(f"year {year} not in the evidence")
    places = places_in(fold_for_search(question))
    missing = [p for p in places if p not in evidence]
    if missing:
        problems.append(f"place {'、'.join(missing)} not in the evidence")
    qtype = question_type(question)
    named_article = refs is not None and bool(refs.articles) and len(refs.docs) == 1
    # An article the question names is the evidence it asked for, whatever its wording.
    if qtype in _NEEDS_SPAN and not draft.direct_found and not named_article:
        problems.append(f"no {_NEEDS_SPAN[qtype]} in the evidence")
    if not has_cjk(question) and not (set(expand(question)) - set(places)):
        problems.append("the question names nothing the documents' vocabulary knows besides places")
    if best is not None and places and not any(p in _context(best) + best.paragraph + best.passage.text for p in places):
        problems.append("the best sentence is not about the place asked")
    return problems


def corpus_summary(metas: list[DocumentMeta], english: bool = False) -> str:
    """What the corpus holds, in one line: documents by legal level, places, domains.

    「18份文件：法律4部、行政法规3部、地方性法规6部（北京、上海……）……」 tells an official
    at a glance whether the document they asked about could be here at all.
    """
    by_level: dict[str, list[DocumentMeta]] = {}
    for m in metas:
        by_level.setdefault(m.legal_level or "其他", []).append(m)
    levels = [lv for lv in (*LEGAL_LEVELS, "其他") if lv in by_level]
    places = sorted({c.removesuffix("市") for m in metas if m.legal_level == "地方性法规" for c in m.cities},
                    key=lambda c: list(PLACES).index(c) if c in PLACES else len(PLACES))
    domains = list(dict.fromkeys(d for m in metas for d in m.domains))[:8]
    if english:
        parts = [f"{len(by_level[lv])} {_LEVEL_EN.get(lv, 'other documents')}" for lv in levels]
        return f"{len(metas)} documents: " + ", ".join(parts) + (f"; service domains include {', '.join(domains)}" if domains else "")
    parts = []
    for lv in levels:
        part = f"{lv}{len(by_level[lv])}{_MEASURE.get(lv, '份')}"
        if lv == "地方性法规" and places:
            part += f"（{'、'.join(places)}）"
        parts.append(part)
    line = f"{len(metas)}份文件：" + "、".join(parts)
    return line + (f"；服务领域包括{'、'.join(domains)}等" if domains else "")


def titles(metas: list[DocumentMeta]) -> str:
    """「《上海市数据条例》、《深圳经济特区数据条例》」: the enclosed document's title for a
    印发…的通知 (《“十四五”数字经济发展规划》), which is the name people know it by."""
    return "、".join(f"《{m.subtitle or m.title}》" for m in metas)


def as_names(missing: tuple[str, ...]) -> str:
    """Missing documents as a reader expects them written: titles in 《》, 文号 as they are."""
    return "、".join(n if n.startswith("《") or n.endswith("号") else f"《{n}》" for n in missing)
