"""The vector store: a Chroma collection, embedded by default or on a Chroma server.

The collection records which embedding model (and dimension) filled it; opening it with
another model is refused, because mixing vector spaces silently ruins retrieval.

The vectors are derived (from the document store, through the embedding cache), so an
embedded store that cannot be read is reported as damaged with the one repair —
``policy-qa ingest --rebuild``, which wipes it (`reset`) and fills it again.
"""

from __future__ import annotations

import logging
import re
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import IndexDamaged, ModelMismatch, PolicyQAError, StoreUnavailable
from rag.index.embeddings import CachedEmbeddings
from rag.index.health import (
    REBUILD,
    CachedCheck,
    PartHealth,
    files_under,
    fingerprint,
    short_reason,
)
from rag.ingest.tags import chunk_tags
from rag.types import Chunk, DocumentMeta

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1

# How SQLite and the OS word a refused write (Chroma passes their messages through).
_WRITE_REFUSED = re.compile(r"full|no space|read-?only|permission|denied", re.IGNORECASE)


def chunk_metadata(chunk: Chunk, meta: DocumentMeta) -> dict[str, Any]:
    """Scalar metadata Chroma can filter on (lists become one boolean flag per value)."""
    md: dict[str, Any] = {
        "doc_id": chunk.doc_id,
        "title": meta.title,
        "section": chunk.section,
        "start": chunk.start,
        "end": chunk.end,
        "ordinal": chunk.ordinal,
        "kind": meta.kind,
        "issuer": meta.issuer,
        "date": meta.date,
        "legal_level": meta.legal_level,
        "status": meta.status,
    }
    cities, domains = chunk_tags(chunk, meta)
    for city in cities:
        md[f"city:{city}"] = True
    for domain in domains:
        md[f"domain:{domain}"] = True
    return md


class VectorStore:
    """Chroma behind a small interface: upsert, delete, query, vectors by id, ping."""

    def __init__(self, settings: Settings, embeddings: CachedEmbeddings) -> None:
        self.settings = settings
        self.embeddings = embeddings
        self._client = None
        self._collection = None
        self._lock = threading.Lock()
        self._checked = CachedCheck()
        self._note = ""  # what `reset` repaired, for health()

    # ---- connection ----------------------------------------------------------------

    @property
    def folder(self) -> Path:
        """Where the embedded store keeps its files (unused with a Chroma server)."""
        return self.settings.index_dir / "chroma"

    @property
    def where(self) -> str:
        c = self.settings.chroma
        return f"Chroma server {c.host}:{c.port}" if c.host else f"embedded Chroma at {self.folder}"

    def _unavailable(self, exc: BaseException, writing: bool = False) -> StoreUnavailable:
        c = self.settings.chroma
        if c.host:
            return StoreUnavailable(
                f"cannot reach the Chroma server at {c.host}:{c.port} ({type(exc).__name__}); "
                "start it (chroma run --host 127.0.0.1 --port PORT --path DIR) or unset POLICY_QA_CHROMA_HOST"
            )
        if isinstance(exc, OSError) or (writing and _WRITE_REFUSED.search(str(exc))):
            # A full disk or a read-only home is no damage: wiping would not help.
            return StoreUnavailable(f"cannot write the embedded Chroma store at {self.folder}: {short_reason(exc)}")
        # Embedded, nothing between us and the files: a read that fails is a damaged store.
        self._checked.forget()
        return IndexDamaged(
            f"the vector store under {self.folder} is damaged ({short_reason(exc)}); run `{REBUILD}` "
            "to rebuild it from the embedding cache"
        )

    def client(self):  # type: ignore[no-untyped-def]
        if self._client is None:
            with self._lock:
                if self._client is None:
                    import chromadb
                    from chromadb.config import Settings as ChromaConfig

                    cfg = ChromaConfig(anonymized_telemetry=False, allow_reset=True)
                    c = self.settings.chroma
                    try:
                        if c.host:
                            self.ping(raise_error=True)
                            self._client = chromadb.HttpClient(host=c.host, port=c.port, ssl=c.ssl, settings=cfg)
                        else:
                            self.folder.mkdir(parents=True, exist_ok=True)
                            self._client = chromadb.PersistentClient(path=str(self.folder), settings=cfg)
                    except StoreUnavailable:
                        raise
                    except Exception as exc:  # chromadb raises many types for "not there"
                        if not c.host:
                            _forget_embedded_system(self.folder)  # or the next try reuses the broken one
                        raise self._unavailable(exc) from exc
        return self._client

    def ping(self, raise_error: bool = False) -> bool:
        """Whether the store answers; for a server, a heartbeat with the configured timeout."""
        c = self.settings.chroma
        if not c.host:
            return True
        import httpx

        scheme = "https" if c.ssl else "http"
        try:
            r = httpx.get(f"{scheme}://{c.host}:{c.port}/api/v2/heartbeat", timeout=c.timeout_s)
            r.raise_for_status()
            return True
        except Exception as exc:
            if raise_error:
                raise self._unavailable(exc) from exc
            return False

    def collection(self):  # type: ignore[no-untyped-def]
        """The collection, created on first use and checked against the configured model."""
        if self._collection is not None:
            return self._collection
        client = self.client()
        name = self.settings.chroma.collection
        model = self.embeddings.name
        try:
            col = client.get_or_create_collection(
                name,
                metadata={"embedding_model": model, "schema": SCHEMA_VERSION},
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as exc:
            raise self._unavailable(exc) from exc
        built_with = (col.metadata or {}).get("embedding_model")
        if built_with and built_with != model:
            raise ModelMismatch(
                f"the index in {self.where} (collection {name!r}) was built with embedding model "
                f"{built_with!r}, but {model!r} is configured; set POLICY_QA_EMBEDDING_MODEL={built_with} "
                "or rebuild with: policy-qa ingest --rebuild"
            )
        self._collection = col
        return col

    # ---- health --------------------------------------------------------------------

    def probe(self) -> None:
        """Read one stored vector and search with it: opening the collection reads its
        SQLite file, the search its HNSW segment — where damage shows (a count does not)."""
        col = self.collection()
        try:
            got = col.get(limit=1, include=["embeddings"])
            if got["ids"]:
                col.query(query_embeddings=[got["embeddings"][0]], n_results=1, include=["distances"])
        except Exception as exc:
            raise self._unavailable(exc) from exc

    def health(self) -> PartHealth:
        """Whether the collection answers; the embedded store is probed again only when
        its files changed, a server on every call (a heartbeat and one small query)."""
        if self.settings.chroma.host:
            return self._health()
        return self._checked.get(lambda: fingerprint(files_under(self.folder)), self._health)

    def _health(self) -> PartHealth:
        try:
            self.probe()
        except IndexDamaged as exc:
            return PartHealth("vectors", self.where, "damaged", str(exc))
        except PolicyQAError as exc:  # unreachable, or built with another model
            return PartHealth("vectors", self.where, "unavailable", str(exc))
        return PartHealth("vectors", self.where, "ok", self._note)

    def langchain(self):  # type: ignore[no-untyped-def]
        """The same collection as a LangChain vector store (for LangChain users)."""
        from langchain_chroma import Chroma

        return Chroma(
            client=self.client(),
            collection_name=self.settings.chroma.collection,
            embedding_function=self.embeddings,
        )

    # ---- writing -------------------------------------------------------------------

    def upsert(self, chunks: list[Chunk], metas: list[dict[str, Any]], vectors: list[list[float]]) -> None:
        col = self.collection()
        try:
            for i in range(0, len(chunks), 256):
                part = slice(i, i + 256)
                col.upsert(
                    ids=[c.chunk_id for c in chunks[part]],
                    documents=[c.text for c in chunks[part]],
                    metadatas=metas[part],
                    embeddings=vectors[part],
                )
        except Exception as exc:
            raise self._unavailable(exc, writing=True) from exc

    def delete(self, ids: list[str]) -> None:
        if not ids:
            return
        col = self.collection()
        try:
            for i in range(0, len(ids), 500):
                col.delete(ids=ids[i : i + 500])
        except Exception as exc:
            raise self._unavailable(exc, writing=True) from exc

    def reset(self) -> str:
        """Drop the collection (for --rebuild or a model change). An embedded store that
        cannot be read is wiped instead: returns what was repaired then, else ""."""
        from chromadb.errors import NotFoundError

        if not self.settings.chroma.host:
            try:
                self.probe()
            except IndexDamaged as exc:
                return self._wipe(exc)
            except ModelMismatch:
                pass  # the usual reason to rebuild: dropped below
        try:
            self.client().delete_collection(self.settings.chroma.collection)
        except (NotFoundError, ValueError):
            pass  # not there: nothing to drop (older Chroma says so with a ValueError)
        except Exception as exc:
            if self.settings.chroma.host:
                raise self._unavailable(exc) from exc
            return self._wipe(exc)
        self._collection = None
        self._checked.forget()
        return ""

    def _wipe(self, exc: BaseException) -> str:
        """Delete the embedded store's folder and every handle on it; ingest fills it again."""
        reason = short_reason(exc.__cause__ or exc) if isinstance(exc, IndexDamaged) else short_reason(exc)
        with self._lock:
            if self._client is not None:
                try:
                    self._client.close()
                except Exception as exc_close:  # noqa: BLE001 - a damaged store may not even close
                    log.debug("closing the damaged Chroma client failed: %s", exc_close)
            self._client = self._collection = None
            _forget_embedded_system(self.folder)
            # Renamed first, so a crash mid-delete leaves no half store where Chroma looks.
            if self.folder.exists():
                gone = self.folder.with_name(f"{self.folder.name}.damaged-{uuid.uuid4().hex[:8]}")
                self.folder.rename(gone)
                shutil.rmtree(gone, ignore_errors=True)
        self._checked.forget()
        # Said once, by the caller (`ingest --rebuild` prints it), not logged as well.
        self._note = f"the vector store under {self.folder} was damaged ({reason}); rebuilt it from the embedding cache"
        return self._note

    # ---- reading -------------------------------------------------------------------

    def count(self) -> int:
        try:
            return int(self.collection().count())
        except (ModelMismatch, StoreUnavailable):
            raise
        except Exception as exc:
            raise self._unavailable(exc) from exc

    def ids(self) -> set[str]:
        col = self.collection()
        out: set[str] = set()
        offset = 0
        while True:
            try:
                got = col.get(include=[], limit=5000, offset=offset)
            except Exception as exc:
                raise self._unavailable(exc) from exc
            out.update(got["ids"])
            if len(got["ids"]) < 5000:
                return out
            offset += 5000

    def query(self, vector: list[float], k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """``(chunk_id, cosine similarity)`` of the ``k`` nearest chunks."""
        col = self.collection()
        try:
            res = col.query(query_embeddings=[vector], n_results=k, where=where or None, include=["distances"])
        except Exception as exc:
            raise self._unavailable(exc) from exc
        return [(cid, 1.0 - float(d)) for cid, d in zip(res["ids"][0], res["distances"][0])]

    def vectors(self, ids: list[str]) -> dict[str, np.ndarray]:
        """Stored vectors by id (to score BM25-only candidates on the dense side too)."""
        if not ids:
            return {}
        try:
            got = self.collection().get(ids=ids, include=["embeddings"])
        except Exception as exc:
            raise self._unavailable(exc) from exc
        return {cid: np.asarray(v, dtype=np.float32) for cid, v in zip(got["ids"], got["embeddings"])}


def _forget_embedded_system(folder: Path) -> None:
    """Drop chromadb's cached in-process system for ``folder``. chromadb keeps one per
    path and hands it to every later client, even when starting it failed (a damaged
    SQLite file): without this, the store could not be reopened after a repair."""
    try:
        from chromadb.api.shared_system_client import SharedSystemClient

        system = SharedSystemClient._identifier_to_system.pop(str(folder), None)
        SharedSystemClient._identifier_to_refcount.pop(str(folder), None)
        if system is not None:
            system.stop()
    except Exception as exc:  # noqa: BLE001 - a private API of chromadb 1.x: best effort
        log.debug("could not drop chromadb's cached system for %s: %s", folder, exc)
