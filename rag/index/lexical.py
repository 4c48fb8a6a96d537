"""BM25 over the words and character bigrams of the search-folded chunk text (bm25s).

The index is derived from the document store and persisted next to the Chroma data,
stamped with the store's revision, the term scheme and the size and SHA-256 of every
file: a stale index is rebuilt, a fresh one just loaded, and a damaged one (truncated,
overwritten, half copied) rebuilt from the document store with one warning — being
derived, it can always be made again, so no reader ever sees its load fail.

Saving writes a new folder beside the old one, fsyncs it and swaps the names: a crash
leaves the old index, the new one or none (built at the next load), never half of one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import shutil
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from rag.index.atomic import fsync_dir, fsync_tree
from rag.index.health import (
    REBUILD,
    CachedCheck,
    PartHealth,
    files_under,
    fingerprint,
    short_reason,
)
from rag.text.tokenize import index_terms
from rag.types import Chunk

log = logging.getLogger(__name__)

# Bump when the terms change (`index_terms`, or the jieba vocabulary in
# rag/text/domain_words.txt): an index built with other terms would be scored against
# questions tokenised the new way, silently and badly.
TERMS_VERSION = "5"

STAMP = "stamp.json"
DATA = "bm25"  # the folder bm25s.save writes, inside ours
# A temporary folder older than this is a crashed save, not another process saving now.
LEFTOVER_S = 3600


class Damaged(Exception):
    """A saved index that cannot be used as it is; ``str`` says which file and how."""


class LexicalIndex:
    """BM25 scores for every chunk; `scores` returns a dense vector aligned with `ids`."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ids: list[str] = []
        self._pos: dict[str, int] = {}
        self._bm25: Any = None
        self._revision: str | None = None
        self._lock = threading.Lock()
        # What the last load repaired, or why the index lives in memory only: for health().
        self._notes: list[str] = []
        self._disk = CachedCheck()

    @property
    def revision(self) -> str | None:
        return self._revision

    def ensure(self, chunks_fn: Callable[[], list[Chunk]], revision: str) -> None:
        """Make the index match ``revision``: load it from disk or rebuild from ``chunks_fn()``."""
        if self._revision == revision:
            return
        with self._lock:
            if self._revision == revision:
                return
            self._notes = []
            if not self._load(revision):
                self._build(chunks_fn(), revision)

    def drop(self) -> None:
        """Forget the index in memory and on disk (``ingest --rebuild``); `ensure` builds it again."""
        with self._lock:
            self._bm25, self._revision, self._notes = None, None, []
            self._set_ids([])
            self._disk.forget()
            # Renamed before it is removed, so no reader finds a half-deleted index.
            gone = self.folder.with_name(f"{self.folder.name}.old-{uuid.uuid4().hex[:8]}")
            try:
                self.folder.rename(gone)
            except OSError:
                return  # not there
            shutil.rmtree(gone, ignore_errors=True)

    # ---- loading -------------------------------------------------------------------

    def _load(self, revision: str) -> bool:
        stamp = self.folder / STAMP
        if not stamp.exists():
            return False  # never saved (or dropped): built without a word
        try:
            meta = json.loads(stamp.read_text(encoding="utf-8"))
            if meta.get("revision") != revision or meta.get("terms") != TERMS_VERSION or "files" not in meta:
                return False  # stale, not damaged: built for other chunks, terms or stamp format
            self._verify(meta["files"], checksums=True)
            ids = [str(i) for i in meta["ids"]]
            bm25 = self._read(len(ids))
        except Exception as exc:  # noqa: BLE001 - whatever broke (EOFError, pickle, numpy), it is rebuilt
            reason = str(exc) if isinstance(exc, Damaged) else f"unreadable: {type(exc).__name__}: {short_reason(exc)}"
            log.warning("the keyword index under %s is damaged (%s); rebuilding it from the document store",
                        self.folder, reason)
            self._notes.append(f"the keyword index under {self.folder} was damaged ({reason}); "
                               "rebuilt it from the document store")
            return False
        self._bm25 = bm25
        self._set_ids(ids)
        self._revision = revision
        return True

    def _verify(self, files: dict[str, list[Any]], checksums: bool) -> None:
        """Raise `Damaged` unless every file the stamp lists has its size (and checksum)."""
        for name, (size, digest) in files.items():
            path = self.folder / name
            try:
                actual = path.stat().st_size
            except FileNotFoundError:
                raise Damaged(f"missing file {name}") from None
            if actual != size:
                raise Damaged(f"{'truncated' if actual < size else 'overwritten'} file {name}: "
                              f"{actual} bytes, {size} written")
            if checksums and _sha256(path) != digest:
                raise Damaged(f"overwritten file {name}: its checksum does not match")

    def _read(self, n_ids: int) -> Any:
        if n_ids == 0:
            return None
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import
        bm25 = bm25s.BM25.load(str(self.folder / DATA), show_progress=False)
        n_docs = int(bm25.scores["num_docs"])
        if n_docs != n_ids:
            raise Damaged(f"it scores {n_docs} chunks, its stamp lists {n_ids}")
        return bm25

    # ---- building and saving ---------------------------------------------------------

    def _build(self, chunks: list[Chunk], revision: str) -> None:
        import bm25s

        logging.getLogger("bm25s").setLevel(logging.WARNING)  # it sets itself to DEBUG on import

        tokens = [index_terms(c.section.split(" > ")[-1] + "\n" + c.text) for c in chunks]
        bm25 = None
        if chunks:
            bm25 = bm25s.BM25()
            # An empty token list would break bm25s; a placeholder keeps positions aligned.
            bm25.index([t or ["\u2400"] for t in tokens], show_progress=False)
        ids = [c.chunk_id for c in chunks]
        self._save(bm25, ids, revision)
        self._bm25 = bm25
        self._set_ids(ids)
        self._revision = revision

    def _save(self, bm25: Any, ids: list[str], revision: str) -> None:
        """Write the index atomically (see the module docstring). It is only a cache of
        the document store: when the disk refuses, the index serves from memory."""
        parent = self.folder.parent
        try:
            parent.mkdir(parents=True, exist_ok=True)
            self._sweep()
            tmp = Path(tempfile.mkdtemp(prefix=f"{self.folder.name}.tmp-", dir=parent))
        except OSError as exc:
            self._unsaved(exc)
            return
        try:
            if bm25 is not None:
                bm25.save(str(tmp / DATA), show_progress=False)
            files = {str(p.relative_to(tmp)): [p.stat().st_size, _sha256(p)] for p in files_under(tmp)}
            # The stamp last: a folder without one is never loaded.
            stamp = {"revision": revision, "terms": TERMS_VERSION, "files": files, "ids": ids}
            (tmp / STAMP).write_text(json.dumps(stamp), encoding="utf-8")
            fsync_tree(tmp)
            self._swap(tmp)
        except OSError as exc:
            self._unsaved(exc)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)  # after a swap it is already gone
        self._disk.forget()

    def _swap(self, tmp: Path) -> None:
        """Put ``tmp`` where the index lives. Two renames, because POSIX cannot replace a
        folder that has files in one; between them there is no index, which loads as
        "build it", never as half of one."""
        old: Path | None = self.folder.with_name(f"{self.folder.name}.old-{uuid.uuid4().hex[:8]}")
        try:
            self.folder.rename(old)  # type: ignore[arg-type]
        except FileNotFoundError:
            old = None
        try:
            tmp.rename(self.folder)
        except OSError:
            # Another process (a CLI question next to the server) saved its own first;
            # its stamp says which revision it holds, so keep it.
            log.debug("the keyword index under %s was saved by another process", self.folder)
        fsync_dir(self.folder.parent)
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)

    def _sweep(self) -> None:
        """Remove what crashed saves left beside the index (``bm25.tmp-*``, ``bm25.old-*``)."""
        now = time.time()
        for p in self.folder.parent.glob(f"{self.folder.name}.*"):
            try:
                if p.is_dir() and now - p.stat().st_mtime > LEFTOVER_S:
                    shutil.rmtree(p, ignore_errors=True)
            except OSError:
                continue

    def _unsaved(self, exc: OSError) -> None:
        reason = exc.strerror or short_reason(exc)
        log.warning("could not save the keyword index under %s (%s); using it from memory", self.folder, reason)
        self._notes.append(f"the keyword index could not be saved under {self.folder} ({reason}); "
                           "it serves from memory and is built again at the next start")

    # ---- health --------------------------------------------------------------------

    def health(self) -> PartHealth:
        """Always ok — a damaged index is rebuilt on its next load — with a note when it
        was repaired, is damaged on disk, or lives in memory only."""
        if self._revision is not None:
            return PartHealth("keywords", str(self.folder), "ok", "; ".join(self._notes))
        return self._disk.get(lambda: fingerprint(files_under(self.folder)), self._disk_health)

    def _disk_health(self) -> PartHealth:
        """The saved index by sizes only (no checksums): cheap enough for every probe."""
        stamp = self.folder / STAMP
        if not stamp.exists():
            return PartHealth("keywords", str(self.folder), "ok")  # built on first use
        try:
            self._verify(json.loads(stamp.read_text(encoding="utf-8"))["files"], checksums=False)
        except Exception as exc:  # noqa: BLE001 - any unreadable stamp is damage
            reason = str(exc) if isinstance(exc, Damaged) else f"unreadable stamp: {short_reason(exc)}"
            return PartHealth("keywords", str(self.folder), "ok",
                              f"the keyword index under {self.folder} is damaged ({reason}); it is rebuilt "
                              f"from the document store on first use, or now by `{REBUILD}`")
        return PartHealth("keywords", str(self.folder), "ok")

    # ---- reading -------------------------------------------------------------------

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


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as handle:
        while block := handle.read(1 << 20):
            h.update(block)
    return h.hexdigest()
