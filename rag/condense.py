"""Turn a follow-up (「那杭州呢？」) into a standalone question, without a language model.

The extractive mode carries over the previous question's subject and intent: a new
place or programme replaces the old one of the same kind («上海的数字养老有哪些做法？»
+ «那杭州呢？» → «杭州的数字养老有哪些做法？»); otherwise the previous question's topic
words are prefixed to the follow-up («杨浦区数字养老院提供哪些服务？» + «具体有多少项？»
→ «杨浦区数字养老院提供服务 具体有多少项？»). The LLM mode rewrites with the model.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from rag.text.normalize import fold_for_search
from rag.text.places import places_in

_FOLLOWUP = re.compile(
    r"^(?:那|那么|还有|另外|再|以及|和|与)|呢[？?。]?$|它|其中|其|该|这个|这些|那个|那些|具体|他们|她们|上述|前者|后者|"
    r"^(?:and|what about|how about|also)\b|\b(?:it|its|they|their|them|this|that|these|those)\b",
    re.IGNORECASE,
)
_QWORDS = re.compile(r"有哪些|哪些|是什么|什么|有多少|多少|怎么样|怎样|怎么|如何|为什么|是否|吗|呢|请问|[？?。！!]")
_LEAD = re.compile(r"^(?:那么?|还有|另外|再|以及)")


def is_followup(question: str) -> bool:
    """Whether the question leans on the previous turn (short, or pointing back)."""
    q = question.strip()
    return bool(_FOLLOWUP.search(q)) or len(re.sub(r"[？?。！!，,\s]", "", q)) <= 4


def condense(question: str, history: Sequence[dict[str, str]]) -> str:
    """A standalone version of ``question`` given earlier turns (``role``/``content`` dicts)."""
    previous = [t["content"] for t in history if t.get("role") == "user" and t.get("content", "").strip()]
    if not previous or not is_followup(question):
        return question
    prev = previous[-1]
    q = fold_for_search(question)
    p = fold_for_search(prev)
    new_places = places_in(q)
    old_places = places_in(p)
    if new_places and old_places and not any(x in p for x in new_places):
        swapped = p.replace(old_places[0], new_places[0])
        for extra in old_places[1:]:
            swapped = swapped.replace(extra, "")
        rest = _LEAD.sub("", _QWORDS.sub("", q)).replace(new_places[0], "").strip(" 的")
        return swapped if not rest else f"{swapped} {rest}"
    topic = _QWORDS.sub("", p).strip()
    return f"{topic} {_LEAD.sub('', question.strip())}"
