"""BM25 over the words and character bigrams of the search-folded chunk text (bm25s).

The index is derived from the document store and persisted next to the Chroma data,
stamped with the store's revision and the term scheme: a stale index is rebuilt, a
fresh one just loaded.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
from pathlib import Path

import numpy as np

from rag.text.tokenize import index_terms
from rag.types import Chunk

# Bump when the terms change (`index_terms`, or the jieba vocabulary in
# rag/text/domain_words.txt): an index built with other terms would be scored against
# questions tokenised the new way, silently and badly.
TERMS_VERSION = "5"


class LexicalIndex:
    """BM25 scores for every chunk; `scores` returns a dense vector aligned with `ids`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._bm25 = None
        self._revision: str | None = None
        self._lock = threading.Lock()

    @property
    def revision(self) -> str | None:
        return self._revision

    def ensure(self, chunks_fn, revision: str) -> None:  # type: ignore[no-untyped-def]
        """Make the index match ``revision``: load it from disk or rebuild from ``chunks_fn()``."""
        if self._revision == revision:
            return
        with self._lock:
            if self._revision == revision:
                return
            if not self._load(revision):
                self._build(chunks_fn(), revision)

    def _load(self, revision: str) -> bool:
        stamp = self.folder / "stamp.json"
        if not stamp.exists():
            return False
        meta = json.loads(stamp.read_text(encoding="utf-8"))
        if meta.get("revision") != revision or meta.get("terms") != TERMS_VERSION:
            return False
        import bm25s

        self._bm25 = bm25s.BM25.load(str(self.folder / "bm25"), show_progress=False) if meta["ids"] else None
        self._set_ids(meta["ids"])
        self._revision = revision
        return True

    def _build(self, chunks: list[Chunk], revision: str) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import

        tokens = [index_terms(c.section.split(" > ")[-1] + "\n" + c.text) for c in chunks]
        bm25 = None
        if chunks:
            bm25 = bm25s.BM25()
            # An empty token list would break bm25s; a placeholder keeps positions aligned.
            bm25.index([t or ["\u2400"] for t in tokens], show_progress=False)
        tmp = self.folder.with_name(self.folder.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        if bm25 is not None:
            bm25.save(str(tmp / "bm25"), show_progress=False)
        ids = [c.chunk_id for c in chunks]
        (tmp / "stamp.json").write_text(json.dumps({"revision": revision, "terms": TERMS_VERSION, "ids": ids}), encoding="utf-8")
        shutil.rmtree(self.folder, ignore_errors=True)
        tmp.rename(self.folder)
        self._bm25 = bm25
        self._set_ids(ids)
        self._revision = revision

    def _set_ids(self, ids: list[str]) -> None:
        self.ids = ids
        self._pos = {cid: i for i, cid in enumerate(ids)}

    def scores(self, query_tokens: list[str]) -> np.ndarray:
        """BM25 score of every chunk (aligned with `ids`) for the query tokens."""
        if self._bm25 is None or not query_tokens:
            return np.zeros(len(self.ids), dtype=np.float32)
        return np.asarray(self._bm25.get_scores(query_tokens), dtype=np.float32)

    def position(self, chunk_id: str) -> int | None:
        return self._pos.get(chunk_id)
