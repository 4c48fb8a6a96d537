"""The document store: cleaned texts, metadata and chunk spans in one SQLite file.

It is the source of truth for what is indexed: the vector store and the lexical index
are derived from it, citations are checked against its texts, and incremental ingest
compares its content hashes with the files on disk.

Because nothing else can rebuild it, a damaged file is reported, never papered over:
every SQLite error that means "damaged" (not a database, malformed) becomes an
`IndexDamaged` naming the file and ``policy-qa ingest --rebuild``, which moves the file
aside (`move_aside`) and ingests its sources again (`rag.index.sources`).
"""

from __future__ import annotations

import functools
import hashlib
import json
import logging
import sqlite3
import threading
import weakref
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Concatenate, ParamSpec, TypeVar

from rag.errors import IndexDamaged, StoreUnavailable
from rag.index.health import (
    REBUILD,
    CachedCheck,
    Fingerprint,
    PartHealth,
    fingerprint,
    is_sqlite_damage,
    short_reason,
)
from rag.index.sources import SOURCES_NAME, Sources, read_sources, write_sources
from rag.types import LIST_FIELDS, Chunk, Document, DocumentMeta

log = logging.getLogger(__name__)

P = ParamSpec("P")
R = TypeVar("R")

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


class _Connection(sqlite3.Connection):
    """A connection `DocStore.close` can reach weakly: a thread that ends still takes its
    connection with it (a plain `sqlite3.Connection` cannot be weakly referenced)."""


def _guarded(method: Callable[Concatenate[DocStore, P], R]) -> Callable[Concatenate[DocStore, P], R]:
    """Turn SQLite errors into the project's one-line errors (see `DocStore.error`)."""

    @functools.wraps(method)
    def wrapper(self: DocStore, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.DatabaseError as exc:
            raise self.error(exc) from None

    return wrapper


class DocStore:
    """SQLite-backed documents and chunk spans. Safe to share between threads."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.sources_path = path.with_name(SOURCES_NAME)
        self._local = threading.local()
        self._cache: dict[str, Document] = {}
        # Every thread's connection, so `close` can reach them all (before `move_aside`).
        self._connections: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._generation = 0
        self._connections_lock = threading.Lock()
        self._roots: set[str] | None = None  # the roots the sources mirror lists
        self._adopted: set[str] = set()  # roots of a replaced store, listed until back (`adopt`)
        self._checked = CachedCheck()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None or getattr(self._local, "generation", -1) != self._generation:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # check_same_thread=False only so `close` may close it from another thread;
            # each thread still uses its own connection.
            db = sqlite3.connect(self.path, timeout=30, check_same_thread=False, factory=_Connection)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("PRAGMA foreign_keys=ON")
                db.executescript(_SCHEMA)
            except sqlite3.DatabaseError:
                db.close()
                raise
            with self._connections_lock:
                self._connections.add(db)
                self._local.db, self._local.generation = db, self._generation
        return db

    # ---- integrity -----------------------------------------------------------------

    def error(self, exc: sqlite3.DatabaseError) -> StoreUnavailable:
        """The one-line error for an SQLite failure: damaged file, or store not usable."""
        if is_sqlite_damage(exc):
            self._checked.forget()  # the next health check looks again
            return IndexDamaged(self.damaged_message(short_reason(exc)))
        return StoreUnavailable(f"cannot use the document store {self.path}: {short_reason(exc)}")

    def damaged_message(self, reason: str) -> str:
        return (
            f"the document store {self.path} is damaged ({reason}); run `{REBUILD}` to move it aside "
            "and ingest its documents again"
        )

    def check(self) -> str | None:
        """Why the file is damaged (``PRAGMA quick_check``, ~0.1 s per 80 MB), or None when
        it is sound or not there yet. Other SQLite failures raise `StoreUnavailable`."""
        if not self.path.exists():
            return None
        try:
            # A connection of its own: the store's may answer from their page cache after
            # the file was damaged under them, and then fail on the next page they read.
            db = sqlite3.connect(self.path, timeout=30)
            try:
                rows = db.execute("PRAGMA quick_check").fetchall()
            finally:
                db.close()
        except sqlite3.DatabaseError as exc:
            if is_sqlite_damage(exc):
                return short_reason(exc)
            raise self.error(exc) from None
        if rows != [("ok",)]:
            # The first report, without SQLite's "*** in database main ***" banner.
            lines = [line for row in rows[:3] for line in str(row[0]).splitlines() if not line.startswith("***")]
            return f"integrity check: {short_reason(Exception('; '.join(lines) or 'failed'))}"
        if not self.sources_path.exists():
            self._mirror()  # a home from before the mirror: start it now, while the store reads
        return None

    def health(self) -> PartHealth:
        """The store's `PartHealth`; re-checked only when its files changed."""
        return self._checked.get(self._fingerprint, self._health)

    def _fingerprint(self) -> Fingerprint:
        return fingerprint([self.path, self.path.with_name(self.path.name + "-wal")])

    def _health(self) -> PartHealth:
        try:
            reason = self.check()
        except StoreUnavailable as exc:
            return PartHealth("documents", str(self.path), "unavailable", str(exc))
        if reason is not None:
            return PartHealth("documents", str(self.path), "damaged", self.damaged_message(reason))
        return PartHealth("documents", str(self.path), "ok")

    def close(self) -> None:
        """Close every thread's connection; the next use opens the file anew."""
        with self._connections_lock:
            for db in list(self._connections):
                try:
                    db.close()
                except sqlite3.Error:
                    pass
            self._connections.clear()
            self._generation += 1
        self._cache.clear()
        self._roots = None
        self._checked.forget()

    def move_aside(self) -> Path:
        """Rename the file to ``docs.sqlite.damaged-<UTC time>`` (its WAL with it, so the
        pair still opens for a salvage attempt) and start an empty store; returns the new name."""
        self.close()
        when = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        target = self.path.with_name(f"{self.path.name}.damaged-{when}")
        n = 1
        while target.exists():
            n += 1
            target = self.path.with_name(f"{self.path.name}.damaged-{when}-{n}")
        self.path.rename(target)
        wal = self.path.with_name(self.path.name + "-wal")
        if wal.exists():
            wal.rename(target.with_name(target.name + "-wal"))
        self.path.with_name(self.path.name + "-shm").unlink(missing_ok=True)
        return target

    def sources(self) -> Sources | None:
        """The sources mirror (readable when the store is not); None when there is none."""
        return read_sources(self.sources_path)

    def adopt(self, sources: Sources | None) -> None:
        """Take over the sources of the store this one replaces (``ingest --rebuild``): its
        withdrawals at once, and its roots kept in the mirror until `settle`, so a rebuild
        cut short still knows what to ingest when it is run again."""
        self._adopted = set(sources.roots) if sources is not None else set()
        for doc_id, (title, at) in (sources.withdrawn if sources is not None else {}).items():
            self.withdraw(doc_id, title, at)
        self._mirror()

    def settle(self) -> None:
        """The adopted roots that did not come back stop being listed (they were reported)."""
        self._adopted = set()
        self._mirror()

    def _mirror(self) -> None:
        """Rewrite the sources mirror from the store. A failure costs only the mirror: the
        store itself is written, so it is logged, not raised."""
        try:
            roots = sorted(set(self.roots()) | self._adopted)
            write_sources(self.sources_path, Sources(tuple(roots), self.withdrawn()))
        except (OSError, StoreUnavailable, sqlite3.DatabaseError) as exc:
            log.warning("could not write %s (%s); a damaged document store could not name its sources",
                        self.sources_path, exc)
            return
        self._roots = set(roots)

    def _known_roots(self) -> set[str]:
        if self._roots is None:
            mirrored = self.sources()
            self._roots = set(mirrored.roots) if mirrored is not None else set()
        return self._roots

    # ---- writing -------------------------------------------------------------------

    @_guarded
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
        if root not in self._known_roots():
            self._mirror()

    @_guarded
    def delete(self, doc_id: str) -> None:
        db = self._db()
        row = db.execute("SELECT root FROM documents WHERE doc_id=?", (doc_id,)).fetchone()
        with db:
            db.execute("DELETE FROM documents WHERE doc_id=?", (doc_id,))
        self._cache.pop(doc_id, None)
        if row and not db.execute("SELECT 1 FROM documents WHERE root=? LIMIT 1", row).fetchone():
            self._mirror()  # the root's last document: it is no longer a source

    @_guarded
    def withdraw(self, doc_id: str, title: str, at: str | None = None) -> None:
        """Remember that ``doc_id`` was deleted on purpose (see `withdrawn`); ``at`` keeps
        an earlier date (a rebuilt store takes over the withdrawals of the damaged one)."""
        db = self._db()
        with db:
            db.execute("INSERT OR REPLACE INTO withdrawn VALUES (?,?,?)",
                       (doc_id, title, at or datetime.now(UTC).isoformat(timespec="seconds")))
        self._mirror()

    @_guarded
    def restore(self, doc_id: str) -> bool:
        """Let ingest index ``doc_id`` again; False when it was not withdrawn."""
        db = self._db()
        with db:
            restored = db.execute("DELETE FROM withdrawn WHERE doc_id=?", (doc_id,)).rowcount == 1
        if restored:
            self._mirror()
        return restored

    @_guarded
    def withdrawn(self) -> dict[str, tuple[str, str]]:
        """doc_id → (title, when) of every withdrawn document."""
        rows = self._db().execute("SELECT doc_id, title, at FROM withdrawn ORDER BY at").fetchall()
        return {d: (t, at) for d, t, at in rows}

    @_guarded
    def set_info(self, key: str, value: str) -> None:
        db = self._db()
        with db:
            db.execute("INSERT OR REPLACE INTO info VALUES (?,?)", (key, value))

    # ---- reading -------------------------------------------------------------------

    @_guarded
    def info(self, key: str) -> str | None:
        row = self._db().execute("SELECT value FROM info WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    @_guarded
    def hashes(self, root: str | None = None) -> dict[str, str]:
        """doc_id → content hash, for one ingest root or all."""
        sql, args = "SELECT doc_id, content_hash FROM documents", ()
        if root is not None:
            sql, args = sql + " WHERE root=?", (root,)
        return dict(self._db().execute(sql, args).fetchall())

    @_guarded
    def roots(self) -> list[str]:
        """The ingest roots that hold documents."""
        return [r for (r,) in self._db().execute("SELECT DISTINCT root FROM documents ORDER BY root")]

    @_guarded
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

    @_guarded
    def documents(self) -> list[tuple[DocumentMeta, int]]:
        """Every document's metadata with its chunk count, in id order."""
        rows = self._db().execute(
            "SELECT d.meta, COUNT(c.chunk_id) FROM documents d LEFT JOIN chunks c USING (doc_id) "
            "GROUP BY d.doc_id ORDER BY d.doc_id"
        ).fetchall()
        return [(meta_from_json(m), n) for m, n in rows]

    @_guarded
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

    @_guarded
    def chunk_ids(self, doc_id: str) -> list[str]:
        return [r[0] for r in self._db().execute("SELECT chunk_id FROM chunks WHERE doc_id=?", (doc_id,))]

    @_guarded
    def chunk_spans(self, doc_id: str) -> list[tuple[str, int, int]]:
        """``(chunk_id, start, end)`` of a document's chunks in order."""
        return [tuple(r) for r in self._db().execute(  # type: ignore[misc]
            'SELECT chunk_id, start, "end" FROM chunks WHERE doc_id=? ORDER BY ordinal', (doc_id,))]

    @_guarded
    def count_chunks(self) -> int:
        return int(self._db().execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    @_guarded
    def revision(self) -> str:
        """Changes whenever the set of chunks changes (drives lexical index reloads).

        Asked before every search, so it must not cost a scan of the documents table
        (37 ms at 10,000 documents): the hash is recomputed only when this connection
        wrote (``total_changes``) or another one committed (``PRAGMA data_version``) since
        it was last computed — an ingest in another process included.
        """
        db = self._db()
        key = (int(db.execute("PRAGMA data_version").fetchone()[0]), db.total_changes)
        seen = getattr(self._local, "revision", None)
        if seen is not None and seen[0] == key and seen[1] is db:
            return str(seen[2])
        rows = db.execute("SELECT doc_id, content_hash FROM documents ORDER BY doc_id").fetchall()
        rev = hashlib.sha1(repr(rows).encode()).hexdigest()[:16]
        self._local.revision = (key, db, rev)
        return rev
