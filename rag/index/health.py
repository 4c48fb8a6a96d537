"""One health model for every persisted part of the index: documents, keywords, vectors.

Each part answers `health()` with a `PartHealth`: whether it can serve questions now,
and one line a user can act on — what is wrong and the command that repairs it, or
what was repaired on the way. ``/readyz`` asks on every probe, so a part re-checks its
files only when they changed (`Fingerprint`: size and mtime of each file), never
re-reading a large index per probe.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Literal

Part = Literal["documents", "keywords", "vectors"]

REBUILD = "policy-qa ingest --rebuild"

# The SQLite result codes of a damaged file; anything else (locked, read-only, I/O) is
# a store that cannot be used right now, not one to set aside.
_SQLITE_DAMAGE = frozenset({"SQLITE_CORRUPT", "SQLITE_NOTADB"})


def is_sqlite_damage(exc: sqlite3.DatabaseError) -> bool:
    """Whether an SQLite error says the file itself is damaged (malformed, not a database)."""
    return getattr(exc, "sqlite_errorname", "") in _SQLITE_DAMAGE


# ok: serves questions (perhaps after a repair, which the message then names);
# damaged: a file cannot be read, and `policy-qa ingest --rebuild` repairs it;
# unavailable: cannot be used now (a server down, another embedding model configured).
State = Literal["ok", "damaged", "unavailable"]


@dataclass(frozen=True)
class PartHealth:
    """The state of one part, with one line a user can act on."""

    part: Part
    where: str  # the file, folder or server it lives in
    state: State
    # Not ok: what is wrong and what to do. Ok: what was repaired, or "".
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.state == "ok"

    def public(self) -> dict[str, object]:
        return {**asdict(self), "ok": self.ok}


def short_reason(exc: BaseException, limit: int = 120) -> str:
    """An exception as a short phrase for a one-line message (first line, clipped)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text if len(text) <= limit else text[: limit - 1] + "…"


Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(paths: Iterable[Path]) -> Fingerprint:
    """Size and mtime of each existing file: changes whenever any of them is written."""
    out = []
    for p in paths:
        try:
            st = p.stat()
        except OSError:
            continue
        out.append((str(p), st.st_size, st.st_mtime_ns))
    return tuple(out)


def files_under(folder: Path) -> list[Path]:
    """Every file under ``folder`` (none when it does not exist), in a stable order."""
    if not folder.is_dir():
        return []
    return sorted(Path(root) / name for root, _, names in os.walk(folder) for name in names)


class CachedCheck:
    """Remembers the last check of some files and repeats it only when they changed."""

    def __init__(self) -> None:
        self._key: Fingerprint | None = None
        self._result: PartHealth | None = None

    def get(self, key: Callable[[], Fingerprint], check: Callable[[], PartHealth]) -> PartHealth:
        if self._result is None or key() != self._key:
            self._result = check()
            # Taken after the check: opening a store may itself touch its files (Chroma does).
            self._key = key()
        return self._result

    def forget(self) -> None:
        self._key = self._result = None
