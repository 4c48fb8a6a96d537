"""Incremental, idempotent ingest: files → cleaned documents → chunks → index.

Each document's content hash covers its bytes, its metadata, its reviewed fixes, the
cleaning version, the chunking settings and the embedding model, so re-running ingest
on unchanged input touches nothing; a changed file replaces its chunks; a file gone
from an ingest root takes its chunks with it.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from rag.errors import InputError, LoadError, PolicyQAError
from rag.index.index import Index
from rag.index.store import chunk_metadata
from rag.ingest.chunk import CHUNKER_VERSION, chunk_document, embedding_text
from rag.ingest.clean import CLEANING_VERSION, clean_text, find_garbled, load_fixes
from rag.ingest.loaders import SUPPORTED_SUFFIXES, load_file
from rag.ingest.manifest import MANIFEST_NAME, ManifestEntry, bundled_corpus_dir, entries_for, read_manifest
from rag.text.script import is_traditional
from rag.types import Chunk, Document, DocumentMeta

log = logging.getLogger(__name__)

BUNDLED_ROOT = "bundled"
# $POLICY_QA_HOME/uploads: the admin API's uploads and the manifest it keeps for them
# (ui/admin.py); a rebuilt document store takes them back from there.
UPLOADS_DIR = "uploads"

Progress = Callable[[str, int, int], None]  # (stage, done, total)
# (doc_id, state): "reading", then "unchanged" | "withdrawn" | "failed" | "embedding",
# and "indexed" once its passages are stored. The corpus page draws a bar per document.
DocumentProgress = Callable[[str, str], None]


@dataclass
class IngestReport:
    """What one ingest run did, per document id."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)  # skipped: deleted by an administrator
    errors: list[str] = field(default_factory=list)  # one line per file that failed
    warnings: list[str] = field(default_factory=list)
    chunks: int = 0  # chunks in the whole index afterwards

    def public(self) -> dict[str, object]:
        return self.__dict__.copy()

    def followed_by(self, later: IngestReport) -> IngestReport:
        """This run and a later one as one report (``ingest --rebuild``'s repair, then the
        ingest): a document the first added counts as added, not as unchanged."""
        first = set(self.added) | set(self.updated)
        return IngestReport(
            added=self.added + later.added,
            updated=self.updated + [d for d in later.updated if d not in first],
            removed=self.removed + later.removed,
            unchanged=[d for d in later.unchanged if d not in first],
            withdrawn=sorted(set(self.withdrawn) | set(later.withdrawn)),
            errors=self.errors + later.errors,
            warnings=self.warnings + [w for w in later.warnings if w not in self.warnings],
            chunks=later.chunks,
        )


class Indexer:
    """Writes documents into an `Index`."""

    def __init__(
        self, index: Index, progress: bool = False, on_progress: Progress | None = None,
        on_document: DocumentProgress | None = None,
    ) -> None:
        """``progress`` draws a terminal bar; ``on_progress(stage, done, total)`` and
        ``on_document(doc_id, state)`` report to a caller such as the admin API's re-index job."""
        self.index = index
        self.progress = progress
        self.on_progress = on_progress
        self.on_document = on_document

    def _said(self, doc_id: str, state: str) -> None:
        if self.on_document is not None:
            self.on_document(doc_id, state)

    # ---- entry points --------------------------------------------------------------

    def ingest_bundled(self, corpus_dir: Path | None = None) -> IngestReport:
        """Index the bundled corpus (or a configured corpus folder with a manifest)."""
        folder = corpus_dir or self.index.settings.corpus_dir or bundled_corpus_dir()
        return self.ingest_entries(read_manifest(folder / MANIFEST_NAME), root=BUNDLED_ROOT)

    def ingest_paths(self, paths: list[Path]) -> IngestReport:
        """Index files/folders; each argument is its own root for deletions."""
        report = IngestReport()
        for p in paths:
            entries = entries_for([p], SUPPORTED_SUFFIXES)
            if p.is_file() and not entries:
                raise InputError(f"{p}: unsupported file type")
            part = self.ingest_entries(entries, root=str(p.resolve()))
            for name in ("added", "updated", "removed", "unchanged", "withdrawn", "errors", "warnings"):
                getattr(report, name).extend(getattr(part, name))
            report.chunks = part.chunks
        return report

    def ingest_texts(self, docs: list[tuple[DocumentMeta, str]], root: str) -> IngestReport:
        """Index texts that are not files (evaluation sets, API payloads); same rules as files."""
        report = IngestReport()
        known = self.index.docs.hashes(root)
        todo: list[tuple[Document, list[Chunk], bool]] = []
        s = self.index.settings.chunk
        for meta, raw in docs:
            digest = self._content_hash(raw.encode(), b"", meta)
            if known.get(meta.doc_id) == digest:
                report.unchanged.append(meta.doc_id)
                continue
            text = clean_text(raw)
            chunks = chunk_document(meta.doc_id, text, s.max_tokens, s.overlap_sentences)
            todo.append((Document(meta, text, digest), chunks, meta.doc_id in known))
        self._write(todo, root)
        for doc, _, existed in todo:
            (report.updated if existed else report.added).append(doc.meta.doc_id)
            self._said(doc.meta.doc_id, "indexed")
        self._sync_vectors()
        self.index.refresh_lexical()
        report.chunks = self.index.docs.count_chunks()
        return report

    def rebuild(self) -> IngestReport:
        """``ingest --rebuild``: rebuild what is derived, repair what is not.

        The vectors and the BM25 index are dropped (a damaged embedded Chroma folder is
        wiped) and come back at the end of the next ingest: the vectors from the
        embedding cache, BM25 from the document store. The document store is the source
        of truth and is kept — documents from every source stay indexed — unless it is
        damaged: then it is moved aside and filled again from its sources. Returns what
        the repair ingested, with one warning line per repair.
        """
        report = IngestReport()
        docs = self.index.docs
        damage = docs.check()
        note = self.index.vectors.reset()
        if note:
            report.warnings.append(note)
        self.index.lexical.drop()
        mirrored = docs.sources()
        if damage is not None:
            moved = docs.move_aside()
            docs.adopt(mirrored)
            roots = list(mirrored.roots) if mirrored is not None else [BUNDLED_ROOT]
            uploads = self.index.settings.home / UPLOADS_DIR
            if (uploads / MANIFEST_NAME).exists():
                roots.append(str(uploads.resolve()))
            done = self._ingest_roots(roots, report)
            line = f"the document store {docs.path} was damaged ({damage}): moved it to {moved.name} and rebuilt it {done}"
            if mirrored is None:
                line += "; files and folders once ingested by path are not known without it: ingest them again"
            report.warnings.append(line)
        elif mirrored is not None and (missing := sorted(set(mirrored.roots) - set(docs.roots()))):
            # Listed but not in the store: a rebuild of a damaged store was cut short. Finish it.
            done = self._ingest_roots(missing, report)
            report.warnings.append(f"an earlier rebuild of the document store {docs.path} was cut short: finished it {done}")
        return report

    def _ingest_roots(self, roots: list[str], report: IngestReport) -> str:
        """Ingest each root again into ``report``; says in words what came back ("from …")
        and what could not. Only the bundled corpus and absolute paths can be read again: texts
        ingested without a file (evaluation sets, API payloads) have a bare name for a root."""
        uploads = str((self.index.settings.home / UPLOADS_DIR).resolve())
        rebuilt: list[str] = []
        lost: list[str] = []
        before = len(report.added)
        for root in dict.fromkeys(roots):
            name = {BUNDLED_ROOT: "the bundled corpus", uploads: "the uploads folder"}.get(root, root)
            path = Path(root)
            if root != BUNDLED_ROOT and not (path.is_absolute() and path.exists()):
                lost.append(f"{root} (no longer there)" if path.is_absolute() else f"{root!r} (texts, not files)")
                continue
            try:
                part = self.ingest_bundled() if root == BUNDLED_ROOT else self.ingest_paths([path])
            except PolicyQAError as exc:
                lost.append(f"{name} ({exc})")
                continue
            report.added.extend(part.added + part.updated)
            report.withdrawn.extend(part.withdrawn)
            report.errors.extend(part.errors)
            report.chunks = part.chunks
            rebuilt.append(name)
        self.index.docs.settle()
        said = f"from {', '.join(rebuilt) or 'nothing'} ({len(report.added) - before} documents)"
        if lost:
            said += f"; could not rebuild what came from {', '.join(lost)}: ingest those again"
        return said

    def remove(self, doc_id: str, withdraw: bool = False) -> bool:
        """Delete one document and its chunks; False when it was not indexed.

        ``withdraw``: the document still exists where it came from (the bundled corpus,
        a folder), so record the deletion and keep later ingests from bringing it back.
        """
        doc = self.index.docs.document(doc_id)
        if doc is None:
            return False
        if withdraw:
            self.index.docs.withdraw(doc_id, doc.meta.title)
        self.index.vectors.delete(self.index.docs.chunk_ids(doc_id))
        self.index.docs.delete(doc_id)
        self.index.refresh_lexical()
        return True

    # ---- the work ------------------------------------------------------------------

    def ingest_entries(self, entries: list[ManifestEntry], root: str) -> IngestReport:
        report = IngestReport()
        self.index.vectors.collection()  # fail fast: store down or built with another model
        docs = self.index.docs
        known = docs.hashes(root)
        withdrawn = docs.withdrawn()
        seen: set[str] = set()
        todo: list[tuple[Document, list[Chunk], bool]] = []
        for entry in entries:
            self._said(entry.meta.doc_id, "reading")
        for entry in entries:
            doc_id = entry.meta.doc_id
            seen.add(doc_id)
            if doc_id in withdrawn:
                self._said(doc_id, "withdrawn")
                report.withdrawn.append(doc_id)
                again = f"policy-qa ingest --restore {doc_id}" + ("" if root == BUNDLED_ROOT else f" {root}")
                report.warnings.append(
                    f"{doc_id}: withdrawn by an administrator on {withdrawn[doc_id][1]}, not indexed ({again} brings it back)"
                )
                continue
            try:
                data = entry.path.read_bytes()
                fixes = entry.fixes.read_bytes() if entry.fixes else b""
            except OSError as exc:
                report.errors.append(f"{entry.path}: cannot read the file ({exc.strerror or exc})")
                self._said(doc_id, "failed")
                continue
            digest = self._content_hash(data, fixes, entry.meta)
            if known.get(doc_id) == digest:
                report.unchanged.append(doc_id)
                self._said(doc_id, "unchanged")
                continue
            try:
                doc, chunks = self._prepare(entry, data, digest)
            except LoadError as exc:
                report.errors.append(str(exc))
                self._said(doc_id, "failed")
                continue
            except ValueError as exc:  # a reviewed fix no longer matches its source
                report.errors.append(f"{entry.path}: {exc}")
                self._said(doc_id, "failed")
                continue
            self._said(doc_id, "embedding")
            for off, excerpt in find_garbled(doc.text)[:3]:
                report.warnings.append(f"{doc_id}: text looks garbled near offset {off}: {excerpt!r}")
            todo.append((doc, chunks, doc_id in known))

        self._write(todo, root)
        for doc, _, existed in todo:
            (report.updated if existed else report.added).append(doc.meta.doc_id)
            self._said(doc.meta.doc_id, "indexed")

        for doc_id in sorted(set(known) - seen):
            self.index.vectors.delete(docs.chunk_ids(doc_id))
            docs.delete(doc_id)
            report.removed.append(doc_id)

        self._sync_vectors()
        self.index.refresh_lexical()
        report.chunks = docs.count_chunks()
        return report

    def _content_hash(self, data: bytes, fixes: bytes, meta: DocumentMeta) -> str:
        s = self.index.settings
        h = hashlib.sha256()
        for part in (
            data,
            fixes,
            json.dumps(meta.to_dict(), sort_keys=True, ensure_ascii=False).encode(),
            f"clean={CLEANING_VERSION};chunker={CHUNKER_VERSION};chunk={s.chunk.max_tokens},{s.chunk.overlap_sentences};"
            f"model={s.embedding.model}".encode(),
        ):
            h.update(hashlib.sha256(part).digest())
        return h.hexdigest()

    def _prepare(self, entry: ManifestEntry, data: bytes, digest: str) -> tuple[Document, list[Chunk]]:
        loaded = load_file(entry.path)
        fixes = load_fixes(entry.fixes) if entry.fixes else None
        text = clean_text(loaded.text, fixes)
        if not text.strip():
            raise LoadError(entry.path, "no text left after cleaning")
        meta = entry.meta
        if not entry.from_manifest:
            # Files without a manifest: the file's own title and script are the best we know.
            meta = DocumentMeta(
                **{
                    **meta.__dict__,
                    "title": (loaded.title or meta.title).strip()[:200],
                    "kind": "web" if loaded.source_format == "html" else meta.kind,
                    "language": "zh-Hant" if is_traditional(loaded.text[:4000]) else "zh-Hans",
                }
            )
        s = self.index.settings.chunk
        chunks = chunk_document(meta.doc_id, text, s.max_tokens, s.overlap_sentences)
        return Document(meta, text, digest), chunks

    def _write(self, todo: list[tuple[Document, list[Chunk], bool]], root: str) -> None:
        """Embed (cached) and store; the document store is written last, so a failure
        half-way leaves the old version listed and the next run retries."""
        if not todo:
            return
        all_chunks = [(doc, c) for doc, chunks, _ in todo for c in chunks]
        texts = [embedding_text(doc.meta.title, c.section, c.text) for doc, c in all_chunks]
        vectors = self._embed(texts)
        # New vectors go in before old ones go out, and the document store switches in one
        # transaction per document: a question asked meanwhile sees the old version or the
        # new one, never a document with no passages.
        self.index.vectors.upsert(
            [c for _, c in all_chunks], [chunk_metadata(c, doc.meta) for doc, c in all_chunks], vectors
        )
        for doc, chunks, existed in todo:
            stale = set(self.index.docs.chunk_ids(doc.meta.doc_id)) - {c.chunk_id for c in chunks} if existed else set()
            self.index.docs.put(doc, root, chunks)
            self.index.vectors.delete(sorted(stale))

    def _embed(self, texts: list[str]) -> list[list[float]]:
        bar = None
        if self.progress and texts:
            from tqdm import tqdm

            bar = tqdm(total=len(texts), desc="embedding", unit="chunk", leave=False)
        done = 0

        def step(n: int) -> None:
            nonlocal done
            done += n
            if bar:
                bar.update(n)
            if self.on_progress:
                self.on_progress("embedding", done, len(texts))

        try:
            return self.index.embeddings.embed_documents(texts, progress=step)
        finally:
            if bar:
                bar.close()

    def _sync_vectors(self) -> None:
        """Re-upsert chunks the vector store lacks (e.g. a new, empty Chroma server)."""
        docs, vectors = self.index.docs, self.index.vectors
        if vectors.count() == docs.count_chunks():
            return
        have = vectors.ids()
        chunks = docs.chunks()
        missing = [c for c in chunks if c.chunk_id not in have]
        stale = list(have - {c.chunk_id for c in chunks})
        vectors.delete(stale)
        if missing:
            metas = {}
            for c in missing:
                if c.doc_id not in metas:
                    d = docs.document(c.doc_id)
                    assert d is not None
                    metas[c.doc_id] = d.meta
            texts = [embedding_text(metas[c.doc_id].title, c.section, c.text) for c in missing]
            vectors.upsert(missing, [chunk_metadata(c, metas[c.doc_id]) for c in missing], self._embed(texts))
