"""What kind of answer a question wants (how many / when / where / who / which / why / how / yes-no)."""

from __future__ import annotations

import re
from enum import Enum

from rag.text.normalize import fold_for_search


class QType(str, Enum):
    COUNT = "count"  # 多少 / 几 / how many / how much / what percentage
    WHEN = "when"  # 何时 / 哪年 / when / what year
    WHERE = "where"  # 哪里 / 哪个城市 / where / which city
    WHO = "who"  # 谁 / 哪个部门 / who / which organisation
    LIST = "list"  # 哪些 / 有哪些 / what are / list
    WHY = "why"  # 为什么 / why
    HOW = "how"  # 怎么 / 如何 / how
    YESNO = "yesno"  # 吗 / 是否 / is / does
    WHAT = "what"  # anything else


_RULES: tuple[tuple[QType, re.Pattern[str]], ...] = (
    (QType.WHEN, re.compile(r"何时|什么时候|哪一?年|哪个?月|哪天|几月|几年|什么时间|when\b|what year|which year")),
    (QType.COUNT, re.compile(r"多少|几[个家项类种所名人万亿%]?|比例|占比|百分之|how many|how much|what percentage|what share|number of")),
    (QType.WHERE, re.compile(r"哪里|哪儿|在哪|哪个?城市|哪个?地区|哪个?省|哪个?区|哪些城市|哪些地区|where\b|which cit|which region|which district")),
    (QType.WHO, re.compile(r"谁|哪个?部门|哪个?机构|哪家|哪些部门|哪些机构|who\b|which (?:department|organi[sz]ation|agency|ministry)")),
    (QType.WHY, re.compile(r"为什么|为何|原因|why\b")),
    (QType.LIST, re.compile(r"哪些|有什么|包括什么|包括哪|列举|what are|which .*(?:are|were)\b|list\b")),
    (QType.HOW, re.compile(r"怎么|怎样|如何|通过什么|用什么|how\b")),
    (QType.YESNO, re.compile(r"[吗嘛][？?]?$|是否|是不是|有没有|能不能|^(?:is|are|does|do|did|can|was|were)\b")),
)


def question_type(question: str) -> QType:
    """The first matching rule wins; the order puts the most specific forms first."""
    q = fold_for_search(question).strip()
    for qtype, pattern in _RULES:
        if pattern.search(q):
            return qtype
    return QType.WHAT


# What a direct answer looks like for each type (used to pick the span of a factoid).
NUMBER = re.compile(
    r"(?:约|近|超过|达到?|共|累计)?\d[\d,.]*\s*(?:多|余)?\s*(?:%|％|万|亿|千|百)?\s*"
    r"(?:个|家|项|类|种|名|人次|人|次|所|座|户|岁|年|天|小时|分钟|元|亿元|万元|倍|个百分点|大类|多万人次|多名)?"
    r"|[一二三四五六七八九十百千万两]+(?:个|家|项|类|种|大类|名|所)"
)
DATE = re.compile(r"\d{4}\s*年(?:\s*\d{1,2}\s*月)?(?:\s*\d{1,2}\s*日)?|\d{4}[-/]\d{1,2}(?:[-/]\d{1,2})?|(?:春节|今年|去年|近年来)")
