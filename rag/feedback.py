"""User feedback on answers (👍/👎 plus an optional comment), kept in one SQLite file.

Everything is passed through :func:`rag.privacy.redact` before it is written, so the
file under ``$POLICY_QA_HOME/feedback.sqlite`` never holds an ID, phone, bank card or
e-mail that a user typed into a question or comment (full-width or spaced ones included)
— nor one quoted in the answer or its citations.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

from rag.errors import InputError
from rag.privacy import redact, redact_values

FEEDBACK_FILE = "feedback.sqlite"
RATINGS = ("up", "down")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feedback (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    created TEXT NOT NULL,       -- ISO 8601, UTC
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    question TEXT NOT NULL,
    answer TEXT NOT NULL,
    comment TEXT NOT NULL,
    citations TEXT NOT NULL,     -- JSON list of the answer's citations
    mode TEXT NOT NULL           -- 'extractive' | 'llm' | ''
);
"""


class FeedbackStore:
    """Feedback rows; safe to use from many threads (one connection per call).

    A chat rating is written the moment the thumb is clicked (a tab closed right after
    must not lose it); the optional comment, a changed mind or a withdrawn thumb then
    update or delete that same row.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    @contextmanager
    def _db(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        db = sqlite3.connect(self.path, timeout=30)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            with db:  # commit on success, roll back on error
                yield db
        finally:
            db.close()

    def add(
        self,
        question: str,
        answer: str,
        rating: Literal["up", "down"],
        comment: str = "",
        citations: list[dict[str, Any]] | None = None,
        mode: str = "",
    ) -> int:
        """Store one redacted feedback row and return its id."""
        if rating not in RATINGS:
            raise InputError(f"rating must be 'up' or 'down', got {rating!r}")
        row = (
            datetime.now(UTC).isoformat(timespec="seconds"),
            rating,
            redact(question),
            redact(answer),
            redact(comment),
            json.dumps(redact_values(citations or []), ensure_ascii=False),
            redact(mode),  # a free string from the API: whatever a client puts there
        )
        with self._db() as db:
            cur = db.execute(
                "INSERT INTO feedback (created, rating, question, answer, comment, citations, mode) "
                "VALUES (?,?,?,?,?,?,?)",
                row,
            )
            return int(cur.lastrowid or 0)

    def update(self, row_id: int, *, rating: Literal["up", "down"] | None = None, comment: str | None = None) -> bool:
        """Change a row's rating and/or comment (redacted); False when the row is gone."""
        if rating is not None and rating not in RATINGS:
            raise InputError(f"rating must be 'up' or 'down', got {rating!r}")
        sets = [(col, val) for col, val in (("rating", rating), ("comment", None if comment is None else redact(comment)))
                if val is not None]
        if not sets:
            return True
        with self._db() as db:
            cur = db.execute(
                f"UPDATE feedback SET {', '.join(f'{col}=?' for col, _ in sets)} WHERE id=?",  # column names are fixed above, values bound
                [val for _, val in sets] + [row_id],
            )
            return cur.rowcount == 1

    def delete(self, row_id: int) -> bool:
        """Remove a row (a rating the user withdrew); False when it was already gone."""
        with self._db() as db:
            return db.execute("DELETE FROM feedback WHERE id=?", (row_id,)).rowcount == 1

    def list(self, limit: int = 100) -> list[dict[str, Any]]:
        """The newest ``limit`` rows, newest first."""
        with self._db() as db:
            db.row_factory = sqlite3.Row
            rows = db.execute("SELECT * FROM feedback ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
        return [{**dict(r), "citations": json.loads(r["citations"])} for r in rows]


__all__ = ["FeedbackStore", "FEEDBACK_FILE", "RATINGS"]
