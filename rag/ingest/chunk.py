"""Cut a cleaned document into passages that follow its own structure.

A chunk never crosses a unit of the document's structure (`rag.text.outline`: a heading,
an article, a numbered item); inside a unit, whole paragraphs are packed up to
the token budget, a paragraph that does not fit starts the next chunk, and only a
paragraph longer than the budget is cut at sentence ends, the next piece repeating the
last sentence of the previous one so a fact split across the cut stays findable.
Heading lines are not part of chunk text: they become the chunk's ``section`` path,
which retrieval sees through `embedding_text`. An article split for the budget keeps
its article in every piece's section path (「第二章 … > 第十三条」), so each piece is
still citable by its article number.
"""

from __future__ import annotations

import hashlib

from rag.text.outline import Block, structure
from rag.text.sentences import split_sentences
from rag.text.tokens import count_tokens
from rag.types import Chunk

# Bump when chunk boundaries change: it is part of each document's content hash, so the
# next ingest re-chunks every document instead of keeping passages cut the old way.
# 3: units of the official structure (articles, numbered items, lead lines) are chunked
# apart, and numbered headings ending in 。 are headings.
CHUNKER_VERSION = "3"


def chunk_id(doc_id: str, start: int, end: int, text: str) -> str:
    """Deterministic id: same document, span and text → same id, so re-indexing is idempotent."""
    return hashlib.sha1(f"{doc_id}\x1f{start}\x1f{end}\x1f{text}".encode()).hexdigest()[:20]


def chunk_document(doc_id: str, text: str, max_tokens: int = 320, overlap_sentences: int = 1) -> list[Chunk]:
    """Chunks of a cleaned document; each chunk's text is ``text[start:end]``."""
    chunks: list[Chunk] = []
    # Group consecutive paragraphs by the unit that governs them (an article, an item, a
    # section), keeping document order: a passage never crosses a unit.
    parsed = structure(text)
    groups: list[tuple[tuple[int, ...], list[Block]]] = []
    for block in parsed.blocks:
        if groups and groups[-1][0] == block.path:
            groups[-1][1].append(block)
        else:
            groups.append((block.path, [block]))

    for _, paras in groups:
        section = parsed.section(paras[0])
        for start, end in _pack_paragraphs(text, paras, max_tokens, overlap_sentences):
            body = text[start:end]
            chunks.append(Chunk(chunk_id(doc_id, start, end, body), doc_id, start, end, body, section, len(chunks)))
    return chunks


def _pack_paragraphs(
    text: str, paras: list[Block], max_tokens: int, overlap: int
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
