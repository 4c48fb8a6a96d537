"""A circuit breaker for the LLM endpoint.

When the endpoint is down or hung, every question would otherwise wait the full
``timeout_s`` (20 s by default) before falling back to the extractive answer, and a
queue of users piles up behind that wait. After ``failures`` consecutive endpoint
failures the breaker opens: for ``cooldown_s`` no call is made and answers come from the
documents at once, with a status that says why. After the cool-down one call is let
through (half-open); its success closes the breaker, its failure opens it again.

Only failures of the endpoint count (no connection, a timeout, HTTP 5xx/429): a model
that answered badly (no [n] markers) is up, and the next question may go better.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable


class CircuitOpen(Exception):
    """Raised by `Breaker.admit` while the breaker is open; the message is user-facing."""


class Breaker:
    """Consecutive-failure breaker, shared by every thread of one process."""

    def __init__(self, failures: int, cooldown_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.failures = failures
        self.cooldown_s = cooldown_s
        self._clock = clock
        self._lock = threading.Lock()
        self._streak = 0
        self._open_until = 0.0
        self._trial = False  # a half-open trial call is out

    def admit(self) -> None:
        """Return when a call may go out; raise `CircuitOpen` while the breaker is open."""
        with self._lock:
            if self._streak < self.failures:
                return
            left = self._open_until - self._clock()
            if left > 0 or self._trial:
                wait = max(left, 0.0)
                raise CircuitOpen(
                    f"the LLM endpoint failed {self._streak} times in a row; answering from the documents "
                    f"for the next {wait:.0f} s" if wait else
                    "the LLM endpoint is being retried; answering from the documents meanwhile"
                )
            self._trial = True  # half-open: this one call decides

    def success(self) -> None:
        with self._lock:
            self._streak = 0
            self._trial = False

    def abandon(self) -> None:
        """The call ended with no verdict (its consumer stopped reading): let another try."""
        with self._lock:
            self._trial = False

    def failure(self) -> None:
        with self._lock:
            self._streak += 1
            self._trial = False
            if self._streak >= self.failures:
                self._open_until = self._clock() + self.cooldown_s

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._streak >= self.failures and (self._open_until > self._clock() or self._trial)
