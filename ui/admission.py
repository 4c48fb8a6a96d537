"""How many questions are answered at once.

Answering is CPU-bound (embedding, BM25, sentence scoring), so only ``max_concurrent``
questions run at once and at most ``max_queue`` wait; beyond that a client gets 503 with
``Retry-After`` at once instead of a minute-long wait, and the event loop and the thread
pool stay free for ``/healthz`` and ``/readyz``. A waiting request whose client
disconnects leaves the queue.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import JSONResponse


class Overloaded(Exception):
    """Every answer slot is busy and the queue is full (or the wait ran out)."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"the server is busy answering other questions; try again in {retry_after} s")
        self.retry_after = retry_after


class ClientGone(Exception):
    """The client disconnected while its request waited for a slot."""


class Admission:
    """At most ``slots`` answers at once, at most ``queue`` waiting (see the module docstring)."""

    def __init__(self, slots: int, queue: int, timeout_s: float) -> None:
        self.slots = slots
        self.queue = queue
        self.timeout_s = timeout_s
        self.running = 0
        self.waiting = 0
        self._free = asyncio.Semaphore(slots)

    def retry_after(self) -> int:
        # About how long the queue ahead takes to drain, at ~1 s an answer per slot.
        return max(1, math.ceil((self.waiting + self.running) / self.slots))

    async def acquire(self, request: Request | None = None) -> Callable[[], None]:
        """Wait for a slot; return the function that frees it (safe to call twice).

        Raises `Overloaded` when the queue is full or the wait passes ``timeout_s``, and
        `ClientGone` when the client disconnects while waiting."""
        if self._free.locked() and self.waiting >= self.queue:
            raise Overloaded(self.retry_after())
        self.waiting += 1
        try:
            loop = asyncio.get_running_loop()
            deadline = loop.time() + self.timeout_s
            while True:
                left = deadline - loop.time()
                if left <= 0:
                    raise Overloaded(self.retry_after())
                try:
                    await asyncio.wait_for(self._free.acquire(), min(left, 0.5))
                    break
                except TimeoutError:
                    if request is not None and await request.is_disconnected():
                        raise ClientGone from None
        finally:
            self.waiting -= 1
        self.running += 1
        released = False

        def release() -> None:
            nonlocal released
            if not released:
                released = True
                self.running -= 1
                self._free.release()

        return release


def overloaded_response(exc: Overloaded, openai: bool = False) -> JSONResponse:
    """503 with ``Retry-After``, in the API's error shape (or OpenAI's)."""
    message = str(exc)
    body: dict[str, object] = {"error": message}
    if openai:
        body = {"error": {"message": message, "type": "server_error", "code": "overloaded", "param": None}}
    return JSONResponse(body, status_code=503, headers={"Retry-After": str(exc.retry_after)})
