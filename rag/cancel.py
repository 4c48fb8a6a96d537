"""Stopping a turn whose asker has gone.

A front end that notices its client left (an HTTP disconnect) sets the turn's event;
the pipeline's events are pulled through `stoppable`, which stops at the next event,
and waits that may last seconds (the LLM's stream) poll `requested()` so they end too.
The event travels in a context variable: the request's context is copied into the
worker threads that run the blocking pipeline, so no signature has to carry it.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_event: ContextVar[threading.Event | None] = ContextVar("policy_qa_cancel", default=None)


class Cancelled(Exception):
    """The turn was stopped because nobody waits for its answer any more."""


@contextmanager
def scope(event: threading.Event) -> Iterator[threading.Event]:
    """Run the code inside (and the worker threads it starts) under ``event``."""
    token = _event.set(event)
    try:
        yield event
    finally:
        _event.reset(token)


def requested() -> bool:
    """Whether the current turn's asker has gone."""
    event = _event.get()
    return event is not None and event.is_set()


def stoppable(items: Iterator[T], event: threading.Event) -> Iterator[T]:
    """``items`` until ``event`` is set; then the source is closed and `Cancelled` raised."""
    try:
        for item in items:
            if event.is_set():
                raise Cancelled
            yield item
    finally:
        close = getattr(items, "close", None)
        if callable(close):
            close()
