"""The document store: cleaned texts, metadata and chunk spans in one SQLite file.

It is the source of truth for what is indexed: the vector store and the lexical index
are derived from it, citations are checked against its texts, and incremental ingest
compares its content hashes with the files on disk.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from rag.types import LIST_FIELDS, Chunk, Document, DocumentMeta

_SCHEMA = """
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    root TEXT NOT NULL,          -- the ingest root (bundled corpus or a user path) it came from
    path TEXT NOT NULL,
    content_hash TEXT NOT NULL,
    meta TEXT NOT NULL,          -- DocumentMeta as JSON
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id) ON DELETE CASCADE,
    start INTEGER NOT NULL,
    "end" INTEGER NOT NULL,
    section TEXT NOT NULL,
    ordinal INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id, ordinal);
CREATE TABLE IF NOT EXISTS info (key TEXT PRIMARY KEY, value TEXT NOT NULL);
-- Documents an administrator deleted from a corpus that still holds them (the bundled
-- manifest, a folder): ingest skips them until they are restored.
CREATE TABLE IF NOT EXISTS withdrawn (
    doc_id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    at TEXT NOT NULL             -- ISO 8601, UTC
);
"""


def meta_from_json(data: str) -> DocumentMeta:
    d = json.loads(data)
    for key in LIST_FIELDS:
        d[key] = tuple(d.get(key, ()))
    return DocumentMeta(**{k: v for k, v in d.items() if k in DocumentMeta.__dataclass_fields__})


class DocStore:
    """SQLite-backed documents and chunk spans. Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._cache: dict[str, Document] = {}

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self.path, timeout=30)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA foreign_keys=ON")
            db.executescript(_SCHEMA)
            self._local.db = db
        return db

    # ---- writing -------------------------------------------------------------------

    def put(self, doc: Document, root: str, chunks: list[Chunk]) -> None:
        """Insert or replace a document and its chunks in one transaction."""
        db = self._db()
        with db:
            db.execute("DELETE FROM documents WHERE doc_id=?", (doc.meta.doc_id,))
            db.execute(
                "INSERT INTO documents VALUES (?,?,?,?,?,?)",
                (
                    doc.meta.doc_id,
                    root,
                    doc.meta.path,
                    doc.content_hash,
                    json.dumps(doc.meta.to_dict(), ensure_ascii=False),
                    doc.text,
                ),
            )
            db.executemany(
                'INSERT INTO chunks VALUES (?,?,?,?,?,?)',
                [(c.chunk_id, c.doc_id, c.start, c.end, c.section, c.ordinal) for c in chunks],
            )
        self._cache.pop(doc.meta.doc_id, None)

    def delete(self, doc_id: str) -> None:
        db = self._db()
        with db:
            db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
        self._cache.pop(doc_id, None)

    def withdraw(self, doc_id: str, title: str) -> None:
        """Remember that ``doc_id`` was deleted on purpose (see `withdrawn`)."""
        db = self._db()
        with db:
            db.execute("INSERT OR REPLACE INTO withdrawn VALUES (?,?,?)",
                       (doc_id, title, datetime.now(UTC).isoformat(timespec="seconds")))

    def restore(self, doc_id: str) -> bool:
        """Let ingest index ``doc_id`` again; False when it was not withdrawn."""
        db = self._db()
        with db:
            return db.execute("DELETE FROM withdrawn WHERE doc_id=?", (doc_id,)).rowcount == 1

    def withdrawn(self) -> dict[str, tuple[str, str]]:
        """doc_id → (title, when) of every withdrawn document."""
        rows = self._db().execute("SELECT doc_id, title, at FROM withdrawn ORDER BY at").fetchall()
        return {d: (t, at) for d, t, at in rows}

    def set_info(self, key: str, value: str) -> None:
        db = self._db()
        with db:
            db.execute("INSERT OR REPLACE INTO info VALUES (?,?)", (key, value))

    # ---- reading -------------------------------------------------------------------

    def info(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM info WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    def hashes(self, root: str | None = None) -> dict[str, str]:
        """doc_id → content hash, for one ingest root or all."""
        sql, args = "SELECT doc_id, content_hash FROM documents", ()
        if root is not None:
            sql, args = sql + " WHERE root=?", (root,)
        return dict(self._db().execute(sql, args).fetchall())

    def document(self, doc_id: str) -> Document | None:
        if doc_id in self._cache:
            return self._cache[doc_id]
        row = self._db().execute(
            "SELECT meta, text, content_hash FROM documents WHERE doc_id=?", (doc_id,)
        ).fetchone()
        if not row:
            return None
        doc = Document(meta_from_json(row[0]), row[1], row[2])
        self._cache[doc_id] = doc
        return doc

    def documents(self) -> list[tuple[DocumentMeta, int]]:
        """Every document's metadata with its chunk count, in id order."""
        rows = self._db().execute(
            "SELECT d.meta, COUNT(c.chunk_id) FROM documents d LEFT JOIN chunks c USING (doc_id) "
            "GROUP BY d.doc_id ORDER BY d.doc_id"
        ).fetchall()
        return [(meta_from_json(m), n) for m, n in rows]

    def chunks(self, doc_ids: Iterable[str] | None = None) -> list[Chunk]:
        """Chunks in document order (text sliced from the stored document)."""
        rows = self._db().execute(
            'SELECT chunk_id, doc_id, start, "end", section, ordinal FROM chunks ORDER BY doc_id, ordinal'
        ).fetchall()
        wanted = set(doc_ids) if doc_ids is not None else None
        out = []
        for cid, did, s, e, sec, o in rows:
            if wanted is not None and did not in wanted:
                continue
            doc = self.document(did)
            assert doc is not None
            out.append(Chunk(cid, did, s, e, doc.text[s:e], sec, o))
        return out

    def chunk_ids(self, doc_id: str) -> list[str]:
        return [r[0] for r in self._db().execute("SELECT chunk_id FROM chunks WHERE doc_id=?", (doc_id,))]

    def chunk_spans(self, doc_id: str) -> list[tuple[str, int, int]]:
        """``(chunk_id, start, end)`` of a document's chunks in order."""
        return [tuple(r) for r in self._db().execute(  # type: ignore[misc]
            'SELECT chunk_id, start, "end" FROM chunks WHERE doc_id=? ORDER BY ordinal', (doc_id,))]

    def count_chunks(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    def revision(self) -> str:
        """Changes whenever the set of chunks changes (drives lexical index reloads)."""
        rows = self._db().execute("SELECT doc_id, content_hash FROM documents ORDER BY doc_id").fetchall()
        return hashlib.sha1(repr(rows).encode()).hexdigest()[:16]
