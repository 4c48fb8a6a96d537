"""Every fixed string of a refusal, and the corpus summary that follows it.

A refusal says why in the user's words — which document, article, place, year or topic
the corpus lacks (「资料中没有关于上海房价的内容。」) — then what the corpus does hold, so
the user can re-ask. The decision itself is in `rag.answer.refusal`.
"""

from __future__ import annotations

from rag.text.places import PLACES
from rag.text.synonyms import english_of
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
MENTIONED = "资料库中没有{names}的原文；以下是资料库中其他文件对它的说法。"
MENTIONED_EN = "The corpus does not hold {names} itself; what follows is what its other documents say about it."
# Why a question was refused, per failed check (`rag.answer.refusal.Decision.check`).
NO_TOPIC = "资料中没有关于{topic}的内容。"
NO_TOPIC_EN = "The documents say nothing about {topic}."
NO_YEAR = "资料中没有{when}{topic}的相关内容。"
NO_YEAR_EN = "The documents have nothing on {topic} for {when}."
NO_PLACE = "资料中没有关于{place}的相关内容。"
NO_PLACE_EN = "The documents have nothing on {place}."
NO_PLACE_TOPIC_EN = "The documents have nothing on this for {place}."
NO_PRACTICE = "资料中没有{topic}的具体做法。"
NO_PRACTICE_EN = "The documents describe nothing {place} has done on this."
NO_SPAN = "资料中没有{topic}的{kind}。"
NO_SPAN_EN = "The documents do not give {kind_en} for {topic}."
TASK = "这不是资料能回答的问题：资料库收录的是政策文件和研究文章，可以查它们写了什么，但不代写文稿，也不作评价或预测。"
TASK_EN = ("That is not something the documents can answer: they are policy texts and a research article. "
           "I can tell you what they say, but I do not write texts to order, give opinions or make predictions.")
ELSEWHERE = "关于{topic}，资料提到："
ELSEWHERE_EN = "On {topic}, the documents say:"
RELATED = "资料只提到{what}："
RELATED_EN = "The documents only mention {what}: "
RELATED_EN_PLAIN = "The documents only say: "  # when the related fact is not about another place or year
SPAN_KIND = {"count": ("具体数字", "a figure"), "when": ("具体时间", "a date"), "where": ("具体地点", "a place"),
             "who": ("具体机构或人员", "a body or person"), "steps": ("具体办理步骤", "the steps"),
             "person": ("具体人员姓名", "the names of the people")}
# How each legal level is counted in the coverage line (部 for laws, 份 for documents).
_MEASURE = {"法律": "部", "行政法规": "部", "地方性法规": "部", "研究文章": "篇"}
_LEVEL_EN = {"法律": "laws", "行政法规": "administrative regulations", "地方性法规": "local regulations",
             "国务院文件": "State Council documents", "部门文件": "ministry documents", "研究文章": "research articles"}


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
        # Each plural in _LEVEL_EN ends in "s": one document of a level drops it.
        parts = [f"{len(by_level[lv])} {_LEVEL_EN.get(lv, 'other documents').removesuffix('s' if len(by_level[lv]) == 1 else '')}"
                 for lv in levels]
        named = ", ".join(dict.fromkeys(english_of(d) for d in domains))
        return f"{len(metas)} documents: " + ", ".join(parts) + (f"; service domains include {named}" if domains else "")
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


# What each pipeline step says while it runs (`rag.types.StatusEvent`), in Chinese and English.
STATUS: dict[str, tuple[str, str]] = {
    "index": ("首次使用：正在为内置资料建立索引…", "First use: indexing the bundled documents…"),
    "condense": ("结合上文理解为：{question}", "Read with the conversation as: {question}"),
    "retrieve": ("正在检索资料…", "Searching the documents…"),
    "compose": ("正在组织答案…", "Composing the answer…"),
    "fallback": ("大模型暂不可用（{reason}），改用摘录式回答。",
                 "The language model is unavailable ({reason}); answering from the documents' own sentences."),
}


def status_line(step: str, data: dict[str, object], english: bool = False) -> str:
    """The words of a status step for the reader, filled from its data."""
    zh, en = STATUS.get(step, (step, step))
    try:
        return (en if english else zh).format(**data)
    except (KeyError, IndexError):
        return (en if english else zh).split("{")[0].rstrip("：:（( ")
