"""Sentence splitting with character offsets, for chunking and for extractive answers."""

from __future__ import annotations

import re

# A sentence ends at 。！？；!? (or ; between Chinese), plus any closing quotes/brackets
# that belong to it, or at a line break.
_END = re.compile(r"[。！？；!?…]+[”’」』）》\)]*|\n+")


def split_sentences(text: str, offset: int = 0) -> list[tuple[int, int]]:
    """Spans ``(start, end)`` of the sentences of ``text``, shifted by ``offset``.

    Leading/trailing whitespace is excluded from each span so that ``text[start:end]``
    is the sentence as a reader would quote it. Empty spans are dropped.
    """
    spans: list[tuple[int, int]] = []
    pos = 0
    for m in _END.finditer(text):
        end = m.end() if not m.group().startswith("\n") else m.start()
        _append(text, pos, end, offset, spans)
        pos = m.end()
    _append(text, pos, len(text), offset, spans)
    return spans


def _append(text: str, start: int, end: int, offset: int, spans: list[tuple[int, int]]) -> None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    if end > start:
        spans.append((start + offset, end + offset))
