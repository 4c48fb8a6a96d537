"""Cut a cleaned document into passages that follow its own structure.

A chunk never crosses a heading; inside a section, whole paragraphs are packed up to
the token budget, a paragraph that does not fit starts the next chunk, and only a
paragraph longer than the budget is cut at sentence ends, the next piece repeating the
last sentence of the previous one so a fact split across the cut stays findable.
Heading lines are not part of chunk text: they become the chunk's ``section`` path,
which retrieval sees through `embedding_text`.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

from rag.text.sentences import split_sentences
from rag.text.tokens import count_tokens
from rag.types import Chunk

# Bump when chunk boundaries change: it is part of each document's content hash, so the
# next ingest re-chunks every document instead of keeping passages cut the old way.
CHUNKER_VERSION = "2"

_CN_NUM = "一二三四五六七八九十百零〇两"

# (rank, pattern): a lower rank is a higher level. Ranks are fixed so that a document
# using any subset of these styles nests correctly (the stack pops equal-or-deeper ranks).
_HEADINGS: tuple[tuple[int, re.Pattern[str]], ...] = (
    (10, re.compile(rf"^第[{_CN_NUM}\d]+[编部]\s*\S")),
    (20, re.compile(rf"^第[{_CN_NUM}\d]+章\s*\S")),
    (30, re.compile(rf"^第[{_CN_NUM}\d]+节\s*\S")),
    (40, re.compile(rf"^[{_CN_NUM}]+、\S")),
    (50, re.compile(rf"^[（(][{_CN_NUM}]+[)）]\S")),
    (60, re.compile(r"^\d{1,2}[.．、]\s*[^\d\s]")),
    (70, re.compile(r"^[（(]\d{1,2}[)）]\S")),
)
# 第X条 starts an article: it names the section but its line is body text.
_ARTICLE = re.compile(rf"^(第[{_CN_NUM}\d]+条)")
_MARKDOWN = re.compile(r"^(#{1,6})\s+(\S.*)$")
_MAX_HEADING_CHARS = 40
_SENTENCE_END = re.compile(r"[。！？!?]")


@dataclass(frozen=True)
class _Paragraph:
    start: int
    end: int
    section: str


def heading_of(line: str) -> tuple[int, str] | None:
    """``(rank, title)`` when the line is a heading, else None."""
    m = _MARKDOWN.match(line)
    if m:
        return len(m.group(1)) * 10 - 5, m.group(2).strip()  # '#' ranks above 第X编
    stripped = line.strip()
    if len(stripped) > _MAX_HEADING_CHARS or _SENTENCE_END.search(stripped[:-1] if stripped else ""):
        return None
    if stripped.endswith(("。", "；", "！", "？")):
        return None
    for rank, pattern in _HEADINGS:
        if pattern.match(stripped):
            return rank, stripped
    return None


def _paragraphs(text: str) -> list[_Paragraph]:
    """Body paragraphs with the heading path that governs each."""
    stack: list[tuple[int, str]] = []
    out: list[_Paragraph] = []
    pos = 0
    for line in text.split("\n"):
        start, end = pos, pos + len(line)
        pos = end + 1
        if not line.strip():
            continue
        head = heading_of(line)
        if head:
            rank, title = head
            while stack and stack[-1][0] >= rank:
                stack.pop()
            stack.append((rank, title))
            continue
        art = _ARTICLE.match(line.strip())
        if art:
            while stack and stack[-1][0] >= 80:
                stack.pop()
            stack.append((80, art.group(1)))
        lead = len(line) - len(line.lstrip())
        out.append(_Paragraph(start + lead, end - (len(line) - len(line.rstrip())), " > ".join(t for _, t in stack)))
    return out


@dataclass(frozen=True)
class Heading:
    """A heading of a document: ``text[start:end] == title``."""

    start: int
    end: int
    rank: int
    title: str
    parent: int | None  # index of the enclosing heading in the outline


def outline(text: str) -> list[Heading]:
    """The document's headings in order, each with its enclosing heading."""
    out: list[Heading] = []
    stack: list[int] = []
    pos = 0
    for line in text.split("\n"):
        start = pos
        pos += len(line) + 1
        head = heading_of(line)
        if not head:
            continue
        rank, title = head
        while stack and out[stack[-1]].rank >= rank:
            stack.pop()
        at = start + line.find(title)
        out.append(Heading(at, at + len(title), rank, title, stack[-1] if stack else None))
        stack.append(len(out) - 1)
    return out


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """Deterministic id: same document, span and text → same id, so re-indexing is idempotent."""
    return hashlib.sha1(f"{doc_id}\x1f{start}\x1f{end}\x1f{text}".encode()).hexdigest()[:20]


def chunk_document(doc_id: str, text: str, max_tokens: int = 320, overlap_sentences: int = 1) -> list[Chunk]:
    """Chunks of a cleaned document; each chunk's text is ``text[start:end]``."""
    chunks: list[Chunk] = []
    # Group consecutive paragraphs by section, keeping document order.
    groups: list[tuple[str, list[_Paragraph]]] = []
    for para in _paragraphs(text):
        if groups and groups[-1][0] == para.section:
            groups[-1][1].append(para)
        else:
            groups.append((para.section, [para]))

    for section, paras in groups:
        for start, end in _pack_paragraphs(text, paras, max_tokens, overlap_sentences):
            body = text[start:end]
            chunks.append(Chunk(chunk_id(doc_id, start, end, body), doc_id, start, end, body, section, len(chunks)))
    return chunks


def _pack_paragraphs(
    text: str, paras: list[_Paragraph], max_tokens: int, overlap: int
) -> list[tuple[int, int]]:
    """Whole paragraphs while they fit; a paragraph that does not fit the current chunk
    starts the next one; only a paragraph longer than the budget is cut at sentence ends
    (with overlap). A fact and the sentence naming its subject (「上海杨浦区的…」 … 「48项」)
    so stay in one passage."""
    windows: list[tuple[int, int]] = []
    cur: tuple[int, int] | None = None
    used = 0
    for p in paras:
        cost = count_tokens(text[p.start : p.end])
        if cost > max_tokens:
            if cur:
                windows.append(cur)
                cur, used = None, 0
            windows.extend(_pack(text, split_sentences(text[p.start : p.end], offset=p.start), max_tokens, overlap))
            continue
        if cur is not None and used + cost <= max_tokens:
            cur, used = (cur[0], p.end), used + cost
            continue
        if cur is not None:
            windows.append(cur)
        cur, used = (p.start, p.end), cost
    if cur is not None:
        windows.append(cur)
    return windows


def _pack(
    text: str, sentences: list[tuple[int, int]], max_tokens: int, overlap: int
) -> list[tuple[int, int]]:
    """Greedy packing of sentence spans into ``(start, end)`` windows under the budget."""
    windows: list[tuple[int, int]] = []
    cost = [count_tokens(text[s:e]) for s, e in sentences]
    i = 0
    while i < len(sentences):
        j, used = i, 0
        while j < len(sentences) and (j == i or used + cost[j] <= max_tokens):
            used += cost[j]
            j += 1
        windows.append((sentences[i][0], sentences[j - 1][1]))
        if j >= len(sentences):
            break
        # Step back `overlap` sentences, but always move forward and never repeat more
        # than a third of the budget.
        back = 0
        while back < overlap and j - back - 1 > i and sum(cost[j - back - 1 : j]) <= max_tokens // 3:
            back += 1
        i = j - back
    return windows


def embedding_text(title: str, section: str, text: str) -> str:
    """What the dense model sees: where the passage sits, then the passage."""
    where = " > ".join(x for x in (title, section) if x)
    return f"{where}\n{text}" if where else text
