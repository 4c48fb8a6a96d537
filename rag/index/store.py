"""The vector store: a Chroma collection, embedded by default or on a Chroma server.

The collection records which embedding model (and dimension) filled it; opening it with
another model is refused, because mixing vector spaces silently ruins retrieval.
"""

from __future__ import annotations

import threading
from typing import Any

import numpy as np

from rag.config import Settings
from rag.errors import ModelMismatch, StoreUnavailable
from rag.index.embeddings import CachedEmbeddings
from rag.ingest.tags import chunk_tags
from rag.types import Chunk, DocumentMeta

SCHEMA_VERSION = 1


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

    # ---- connection ----------------------------------------------------------------

    @property
    def where(self) -> str:
        c = self.settings.chroma
        return f"Chroma server {c.host}:{c.port}" if c.host else f"embedded Chroma at {self.settings.index_dir / 'chroma'}"

    def _unavailable(self, exc: BaseException) -> StoreUnavailable:
        c = self.settings.chroma
        if c.host:
            return StoreUnavailable(
                f"cannot reach the Chroma server at {c.host}:{c.port} ({type(exc).__name__}); "
                "start it (chroma run --host 127.0.0.1 --port PORT --path DIR) or unset POLICY_QA_CHROMA_HOST"
            )
        return StoreUnavailable(f"cannot open the embedded Chroma store at {self.settings.index_dir / 'chroma'}: {exc}")

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
                            path = self.settings.index_dir / "chroma"
                            path.mkdir(parents=True, exist_ok=True)
                            self._client = chromadb.PersistentClient(path=str(path), settings=cfg)
                    except StoreUnavailable:
                        raise
                    except Exception as exc:  # chromadb raises many types for "not there"
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
            raise self._unavailable(exc) from exc

    def delete(self, ids: list[str]) -> None:
        if not ids:
            return
        col = self.collection()
        try:
            for i in range(0, len(ids), 500):
                col.delete(ids=ids[i : i + 500])
        except Exception as exc:
            raise self._unavailable(exc) from exc

    def reset(self) -> None:
        """Drop the collection (for --rebuild or a model change)."""
        client = self.client()
        try:
            client.delete_collection(self.settings.chroma.collection)
        except Exception:
            pass  # not there: nothing to drop
        self._collection = None

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
            got = col.get(include=[], limit=5000, offset=offset)
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
