"""The structure of an official text: headings, articles, numbered items and lead lines.

Chinese official documents number their parts in a few fixed ways. Laws and regulations:
第X编 / 第X章 / 第X节 headings over 第X条 articles, an article's paragraphs (款) and its
（一）（二） enumerations (项). Policy documents: 一、 / （一） / 1． / （1） headings — or
*items*, when the numbered line is a whole paragraph whose first sentence names it
(「1．完善“健康码”管理，便利老年人通行。在新冠……」) — and “——” lead lines
(「——坚持传统服务与智能创新相结合。……」).

Three readers share this one parse, so they always agree:

* the chunker, so a passage never crosses a unit and its section path names the unit
  (「第三章 数据安全制度 > 第二十一条」, 「二、重点任务 > （七）… > 16．扩大适老化智能终端产品供给」);
* the citation locator, the form a lawyer or an official writes a reference in
  (``第二十一条``, ``第三十一条第一款``, ``二、（七）16．``);
* list answers, which read a section's children off the outline.
"""

from __future__ import annotations

import re
from bisect import bisect_right
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

from rag.text.numerals import CN_NUMERAL, cn_to_int, int_to_cn

_N = CN_NUMERAL

# (rank, pattern) of numbered headings; a lower rank is a higher level. Ranks are fixed so
# that a document using any subset of these styles nests correctly (the stack pops
# equal-or-deeper ranks).
_PARTS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (10, re.compile(rf"^第[{_N}\d]+[编部]\s*\S")),
    (20, re.compile(rf"^第[{_N}\d]+章\s*\S")),
    (30, re.compile(rf"^第[{_N}\d]+节\s*\S")),
)
_NUMBERED: tuple[tuple[int, re.Pattern[str]], ...] = (
    (40, re.compile(rf"^([{_N}]+、)\s*(?=\S)")),
    (50, re.compile(rf"^([（(][{_N}]+[)）])\s*(?=\S)")),
    (60, re.compile(r"^(\d{1,2}[.．、])\s*(?=[^\d\s])")),
    (70, re.compile(r"^([（(]\d{1,2}[)）])\s*(?=\S)")),
)
ARTICLE_RANK = 80
LEAD_RANK = 95
# 第X条 opens an article; its line is body text, the article names the section.
_ARTICLE = re.compile(rf"^(第([{_N}\d]+)条)(?:之[{_N}]+)?")
# Enumerations inside an article (项) never open a section of their own.
_ITEM_IN_ARTICLE = re.compile(rf"^[（(]([{_N}\d]+)[)）]")
_LEAD = re.compile(r"^——\s*")
_MARKDOWN = re.compile(r"^(#{1,6})\s+(\S.*)$")
# Unnumbered headings that official texts use on a line of their own.
_BARE_HEADINGS = frozenset({"前言", "引言", "序言", "结语", "结束语", "附则"})
# An appendix (附录：技术术语解释, 附件2) sits above the body's own numbering, below 第X编.
_APPENDIX = re.compile(r"^附[录件][一二三四五六七八九十\d]*(?:[：:\s]\S.{0,36})?$")
APPENDIX_RANK = 15
_MAX_HEADING_CHARS = 40
_SENTENCE_END = re.compile(r"[。！？!?]")
_LEAD_END = re.compile(r"[。！？；：!?;:]")

Kind = Literal["heading", "article", "item", "lead"]


@dataclass(frozen=True)
class Node:
    """One structural unit. ``text[title_start:title_end] == title``.

    ``start``/``end`` are the unit's scope in the text: from its opening line to the next
    unit of the same or a higher level. ``label`` is its number as written (第二十一条,
    二、, （七）, 16．; empty for lead lines and bare headings).
    """

    start: int
    end: int
    rank: int
    kind: Kind
    label: str
    title: str
    title_start: int
    title_end: int
    parent: int | None  # index of the enclosing node in `Structure.nodes`


@dataclass(frozen=True)
class Block:
    """A body paragraph (one line) with the units that govern it, outermost first."""

    start: int
    end: int
    path: tuple[int, ...]  # indices into `Structure.nodes`


@dataclass
class Structure:
    """Every unit and body paragraph of one text, in order."""

    nodes: list[Node]
    blocks: list[Block]
    has_articles: bool
    _starts: list[int] = field(default_factory=list, repr=False)

    def __post_init__(self) -> None:
        self._starts = [b.start for b in self.blocks]

    def section(self, block: Block) -> str:
        """The heading path shown for a passage: 「第三章 数据安全制度 > 第二十一条」."""
        return " > ".join(self.nodes[i].title for i in block.path)

    def block_at(self, offset: int) -> Block | None:
        """The body paragraph that holds ``offset`` (or the last one before it)."""
        i = bisect_right(self._starts, offset) - 1
        return self.blocks[i] if i >= 0 else None

    def path_at(self, offset: int) -> tuple[int, ...]:
        """Units around ``offset``: those of its paragraph, or of the heading it lies in."""
        inside = [i for i, n in enumerate(self.nodes) if n.title_start <= offset < n.title_end]
        if inside:  # a heading quoted as such
            path: list[int] = []
            j: int | None = inside[-1]
            while j is not None:
                path.append(j)
                j = self.nodes[j].parent
            return tuple(reversed(path))
        block = self.block_at(offset)
        return block.path if block is not None and offset < max(block.end, 1) + 1 else ()

    def children(self, index: int | None) -> list[int]:
        """Direct sub-units of a unit (of the document when ``index`` is None)."""
        return [i for i, n in enumerate(self.nodes) if n.parent == index]

    def article(self, number: int) -> Node | None:
        """The article 第``number``条, if the text has it."""
        label = f"第{int_to_cn(number)}条"
        return next((n for n in self.nodes if n.kind == "article" and n.label == label), None)

    def article_numbers(self) -> list[int]:
        return [n for n in (cn_to_int(x.label[1:-1]) for x in self.nodes if x.kind == "article") if n]

    def locator(self, text: str, offset: int, detail: bool = True) -> str:
        """Where ``offset`` sits, as an official writes it: ``第三十一条第一款`` for a law
        (``detail=False``: the article alone), ``二、（七）16．`` for a policy document, ''
        before the first unit."""
        path = self.path_at(offset)
        arts = [i for i in path if self.nodes[i].kind == "article"]
        if arts:
            article = self.nodes[arts[-1]]
            return article.label + (_paragraph_locator(text, article, offset) if detail else "")
        labels = [self.nodes[i].label or self.nodes[i].title for i in path if self.nodes[i].kind != "lead"]
        # A bare heading (前言) names itself; numbered units join their labels.
        return "".join(labels)


def heading_of(line: str) -> tuple[int, str] | None:
    """``(rank, title)`` when the line is a heading on its own, else None."""
    m = _MARKDOWN.match(line)
    if m:
        return len(m.group(1)) * 10 - 5, m.group(2).strip()  # '#' ranks above 第X编
    stripped = line.strip()
    if stripped.replace(" ", "") in _BARE_HEADINGS:
        return 40, stripped
    if _APPENDIX.match(stripped) and not _SENTENCE_END.search(stripped):
        return APPENDIX_RANK, stripped
    if not stripped or len(stripped) > _MAX_HEADING_CHARS:
        return None
    for rank, pattern in _PARTS:
        if pattern.match(stripped) and not _SENTENCE_END.search(stripped):
            return rank, stripped
    for rank, pattern in _NUMBERED:
        if pattern.match(stripped) and _short_title(stripped):
            return rank, stripped.rstrip("。")
    return None


def _short_title(line: str) -> bool:
    """A numbered line is a heading when it is one short phrase: no sentence end inside,
    at most a final 。 (「（一）指导思想。」), never a clause ending in ；：, (「（一）国家机关；」)."""
    if line.endswith(("；", "：", "，", ";", ":", ",")):
        return False
    return not _SENTENCE_END.search(line.rstrip("。"))


def _lead_title(body: str) -> str:
    """The naming first sentence of an item or lead paragraph, when it is short."""
    m = _LEAD_END.search(body)
    if m and 0 < m.start() <= _MAX_HEADING_CHARS and body[m.start()] in "。！？!?":
        return body[: m.start()]
    return ""


@lru_cache(maxsize=64)
def structure(text: str) -> Structure:
    """Parse ``text`` (cached: the same text always has the same structure)."""
    nodes: list[Node] = []
    blocks: list[Block] = []
    stack: list[int] = []  # indices of the open units
    pos = 0
    lines = text.split("\n")
    opened: list[tuple[int, int]] = []  # (node index, rank) in order, to close scopes later

    def open_node(rank: int, kind: Kind, label: str, title: str, t_start: int, line_start: int) -> int:
        while stack and nodes[stack[-1]].rank >= rank:
            stack.pop()
        parent = stack[-1] if stack else None
        nodes.append(Node(line_start, -1, rank, kind, label, title, t_start, t_start + len(title), parent))
        stack.append(len(nodes) - 1)
        opened.append((len(nodes) - 1, rank))
        return len(nodes) - 1

    for line in lines:
        start = pos
        pos += len(line) + 1
        stripped = line.strip()
        if not stripped:
            continue
        lead = start + len(line) - len(line.lstrip())
        in_article = any(nodes[i].kind == "article" for i in stack)
        head = heading_of(line)
        if head and (not in_article or head[0] <= 30 or _MARKDOWN.match(line)):
            rank, title = head
            t_start = start + line.find(title)
            m = next((p.match(stripped) for r, p in _NUMBERED if r == rank), None)
            open_node(rank, "heading", m.group(1) if m else "", title, t_start, start)
            continue
        art = _ARTICLE.match(stripped)
        if art:
            open_node(ARTICLE_RANK, "article", art.group(1), art.group(1), lead, start)
        elif not in_article:
            item = next(((r, m) for r, p in _NUMBERED if (m := p.match(stripped))), None)
            if item is not None:
                rank, m = item
                name = _lead_title(stripped[m.end():])
                title = stripped[: m.end()] + name if name else m.group(1)
                open_node(rank, "item", m.group(1), title, lead, start)
            elif _LEAD.match(stripped):
                body = stripped[_LEAD.match(stripped).end():]  # type: ignore[union-attr]
                name = _lead_title(body)
                if name:
                    open_node(LEAD_RANK, "lead", "", name, lead + stripped.find(name), start)
        end = start + len(line.rstrip())
        blocks.append(Block(lead, end, tuple(stack)))

    # Close every unit's scope at the next unit of the same or a higher level.
    ends = [len(text)] * len(nodes)
    for i, (idx, rank) in enumerate(opened):
        for later, later_rank in opened[i + 1 :]:
            if later_rank <= rank:
                ends[idx] = nodes[later].start
                break
    nodes = [Node(n.start, ends[i], n.rank, n.kind, n.label, n.title, n.title_start, n.title_end, n.parent)
             for i, n in enumerate(nodes)]
    return Structure(nodes, blocks, any(n.kind == "article" for n in nodes))


def _paragraph_locator(text: str, article: Node, offset: int) -> str:
    """``第一款``, ``第二款第（三）项`` inside an article with several paragraphs; '' otherwise."""
    body = text[article.start : article.end]
    lines = [ln for ln in body.split("\n") if ln.strip()]
    paragraphs = 0
    here_par, here_item = 0, ""
    cursor = article.start
    for ln in body.split("\n"):
        line_start, cursor = cursor, cursor + len(ln) + 1
        if not ln.strip():
            continue
        m = _ITEM_IN_ARTICLE.match(ln.strip())
        if m is None or paragraphs == 0:
            paragraphs += 1
            item = ""
        else:
            item = f"第（{m.group(1)}）项"
        if line_start <= offset:
            here_par, here_item = paragraphs, item
    if not lines:
        return ""
    out = f"第{int_to_cn(here_par)}款" if paragraphs > 1 and here_par else ""
    return out + here_item
