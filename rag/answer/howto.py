"""How-to questions: the acts a person asks how to do, and whether evidence says how.

「醫保電子憑證怎麼激活？」 asks how to 激活; 「北京的互联网医院怎么线上挂号？」 how to 挂号.
A policy text often names the act only as an aim (「完善电话、网络、现场等多种预约挂号方
式」, 「推动将高技能人才纳入城市直接落户范围」): quoting that as the way to do it is a cited
wrong answer. The evidence answers a how-to question only where a clause names the act
as something done under a rule — who must or may do it, where, with what, by when
(「应当向行政机关的政府信息公开工作机构提出」) — and no verb of promotion governs it.
The word lists are data (``[how_to]`` in ``rag/text/focus.toml``).
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from rag.text.normalize import fold_for_search
from rag.text.synonyms import synonyms_of


@dataclass(frozen=True)
class _Lists:
    acts: tuple[str, ...]  # longest first: 实名 before 实, 办理 before 办
    english: tuple[tuple[re.Pattern[str], str], ...]
    directive: tuple[str, ...]
    procedural: tuple[str, ...]


@lru_cache(maxsize=1)
def _lists() -> _Lists:
    data = tomllib.loads(resources.files("rag.text").joinpath("focus.toml").read_text(encoding="utf-8"))["how_to"]
    return _Lists(
        acts=tuple(sorted(data["acts"], key=len, reverse=True)),
        english=tuple((re.compile(rf"\b{re.escape(en)}(?:s|ed|ing)?\b"), zh) for en, zh in data["english"]),
        directive=tuple(data["directive"]),
        procedural=tuple(data["procedural"]),
    )


# The asking part of a how-to question: what follows 怎么 / 如何 up to the end of its
# clause (「浙里办App怎么注册和实名认证」 → 注册和实名认证), or the whole question when it
# asks for the 程序 / 手续 / 步骤 of something named before (「申请创业担保贷款，要走哪些程序」).
_HOW = re.compile(r"(?:怎么|怎样|如何|咋)(?:样)?(?:才能|才可以|去|来)?([^，。？?！!；;]{1,16})")
_STEPS_ASKED = re.compile(r"(?:哪些|什么|啥)[^，。？?]{0,4}(?:程序|手续|流程|步骤|规程)|一步一步|具体(?:怎么|如何)操作"
                          r"|(?:程序|手续|流程)(?:怎么|如何)(?:走|办)")
# 「在哪里登记」「去哪儿报名」: where to do the act asks how it is done just the same.
_WHERE_TO = re.compile(r"(?:在|去|到)哪(?:里|儿)?(?:能|可以|才能)?([^，。？?！!；;]{1,8})")
_HOW_EN = re.compile(r"\bhow (?:do|can|should|does|would) (?:i|we|you|one|they|he|she|a [a-z\- ]+?|an [a-z\- ]+?)\b(.{1,60})")
_CLAUSE = re.compile(r"[，,；;：:。！!？?\n]")


def acts_asked(question: str) -> tuple[str, ...]:
    """The acts a how-to question asks about (at most two, in the question's order);
    empty when it is not a how-to question."""
    lists = _lists()
    q = fold_for_search(question)
    spans = [m.group(1) for m in _HOW.finditer(q)] + [m.group(1) for m in _WHERE_TO.finditer(q)]
    if _STEPS_ASKED.search(q):
        spans.append(q)
    found: list[tuple[int, str]] = []
    for span in spans:
        rest = span
        for act in lists.acts:
            at = rest.find(act)
            if at >= 0:
                found.append((q.find(span) + at, act))
                rest = rest.replace(act, " " * len(act))  # 办理 found, its 办 is not found again
    if not found:
        for m in _HOW_EN.finditer(q):
            found += [(m.start(1) + hit.start(), zh) for pattern, zh in lists.english if (hit := pattern.search(m.group(1)))]
    return tuple(dict.fromkeys(act for _, act in sorted(found)))[:2]


def says_how(text: str, act: str) -> bool:
    """Whether ``text`` names ``act`` (or a synonym) in a clause that says how it is done."""
    lists = _lists()
    clauses = _CLAUSE.split(fold_for_search(text))
    words = (act, *synonyms_of(act))

    def plain(clause: str, at: int) -> bool:  # no verb of promotion governs the word at ``at``
        return not any(d in clause[:at] for d in lists.directive)

    # A rule's marks (应当, 向……提出) count where no verb of promotion governs them either:
    # 「简化……就医服务流程」 names a 流程 to simplify, it lays none out.
    procedural = any(plain(c, i) for c in clauses for p in lists.procedural if (i := c.find(p)) >= 0)
    return procedural and any(
        plain(c, at) for c in clauses if (at := min((i for w in words if (i := c.find(w)) >= 0), default=-1)) >= 0)
