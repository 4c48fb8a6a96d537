"""The protocol every answer mode meets, and what they share."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from rag.answer.turn import Turn
from rag.config import Settings
from rag.types import Event, Mode, Passage


class AnswerMode(Protocol):
    name: Mode

    def compose(self, turn: Turn, passages: list[Passage]) -> Iterator[Event]:
        """Token events of the answer, then its `AnswerEvent` (status events between)."""
        ...


def mode_of(settings: Settings) -> Mode:
    """``llm`` when asked for, or on ``auto`` with an endpoint configured; else ``extractive``."""
    mode = settings.answer.mode
    return "llm" if mode == "llm" or (mode == "auto" and bool(settings.llm.base_url)) else "extractive"


def pieces(text: str) -> Iterator[str]:
    """Answer text in sentence-sized pieces, so front ends can stream it."""
    buf = ""
    for ch in text:
        buf += ch
        if ch in "。！？\n" and len(buf) >= 2:
            yield buf
            buf = ""
    if buf:
        yield buf

