"""One writer per embedded home: `serve`, `ingest` and `remove` take an exclusive lock on it.

The embedded Chroma store keeps its HNSW segments in memory and on disk per process; a
second process writing the same folder left the running server answering from a
stale, then broken, index (seen while writing the README's scaling notes). So each
process that may write an embedded home holds ``writer.lock`` there for as long as it
runs, and a second one is refused with a message naming the holder and the ways
round it. With a Chroma server the server arbitrates and no lock is taken.

The lock is an OS advisory lock (``flock``): it goes away with the process that held
it, so a crashed server never leaves a home locked. Where ``fcntl`` does not exist
(Windows) no lock is taken and the README's advice is all there is.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from rag.config import Settings
from rag.errors import HomeBusy, InputError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

LOCK_NAME = "writer.lock"


@contextmanager
def exclusive_home(settings: Settings, holder: str) -> Iterator[None]:
    """Hold the home's writer lock for the ``with`` block; ``holder`` names us to others.

    Raises `HomeBusy` at once (never waits) when another process holds it.
    """
    if settings.chroma.host or fcntl is None:
        yield
        return
    path = settings.home / LOCK_NAME
    try:
        settings.home.mkdir(parents=True, exist_ok=True)
        handle: IO[str] = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held across the yield
    except OSError as exc:
        raise InputError(
            f"{settings.home}: cannot write the data folder ({exc.strerror or exc}); "
            "set POLICY_QA_HOME to a folder this user can write"
        ) from None
    try:
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            other = handle.read().strip() or "another policy-qa process"
            raise HomeBusy(
                f"{settings.home} is in use by {other}. The embedded index takes one writer at a time: "
                "add documents through the running server's admin API (POST /api/admin/documents), "
                "stop it first, or point both at a Chroma server (POLICY_QA_CHROMA_HOST)."
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"`{holder}` (pid {os.getpid()})")
        handle.flush()
        yield
    finally:
        handle.close()  # closing releases the lock
