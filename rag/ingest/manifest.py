"""Corpus manifests: which files make up a corpus, and what each document is.

A manifest is a TOML file with one ``[[document]]`` table per file. Files given without
a manifest get metadata derived from the file itself (title from the file, id from the
path), so an official can point `policy-qa ingest` at any folder.
"""

from __future__ import annotations

import hashlib
import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from rag.errors import InputError
from rag.types import LEGAL_LEVELS, STATUSES, UNCHECKED, DocumentMeta

MANIFEST_NAME = "manifest.toml"
KINDS = ("paper", "policy", "law", "report", "web", "other")


@dataclass(frozen=True)
class ManifestEntry:
    """A file to ingest and what is known about it before reading it."""

    path: Path
    meta: DocumentMeta
    fixes: Path | None = None  # reviewed repairs of the received file, if any
    from_manifest: bool = True


def bundled_corpus_dir() -> Path:
    """The corpus shipped with the package (``corpus/`` in the repository)."""
    return Path(str(resources.files("corpus")))


def read_manifest(path: Path) -> list[ManifestEntry]:
    """Entries of a manifest file; paths are relative to the manifest's folder."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"{path}: not a readable TOML manifest ({exc})") from exc
    entries = []
    for i, d in enumerate(data.get("document", [])):
        try:
            doc_id, rel = d["id"], d["path"]
        except KeyError as exc:
            raise InputError(f"{path}: document #{i + 1} lacks the required field {exc}") from None
        meta = meta_from_fields(d, doc_id, Path(rel).stem, rel, where=f"{path}: document {doc_id!r}")
        fixes = path.parent / d["fixes"] if d.get("fixes") else None
        entries.append(ManifestEntry(path.parent / rel, meta, fixes))
    return entries


def meta_from_fields(d: dict, doc_id: str, default_title: str, path: str, where: str) -> DocumentMeta:  # type: ignore[type-arg]
    """A `DocumentMeta` from manifest (or upload form) fields, each checked; ``where``
    names the document in error messages."""
    kind = d.get("kind", "other")
    if kind not in KINDS:
        raise InputError(f"{where} has kind {kind!r}; use one of {', '.join(KINDS)}")
    level = d.get("legal_level", "") or ""
    if level and level not in LEGAL_LEVELS:
        raise InputError(f"{where} has legal_level {level!r}; use one of {', '.join(LEGAL_LEVELS)}")
    status = d.get("status", "") or UNCHECKED
    if status not in STATUSES:
        raise InputError(f"{where} has status {status!r}; use one of {', '.join(STATUSES)}")
    if status == "现行有效" and not d.get("status_note"):
        # The one claim an official would repeat without checking: it needs its source.
        raise InputError(f"{where} says status = 现行有效 without a status_note naming the source that says so")
    return DocumentMeta(
        doc_id=doc_id,
        title=d.get("title") or default_title,
        kind=kind,
        issuer=d.get("issuer", ""),
        date=str(d.get("date", "")),
        doc_number=d.get("doc_number", ""),
        source_url=d.get("source_url", ""),
        cities=tuple(d.get("cities", ())),
        domains=tuple(d.get("domains", ())),
        language=d.get("language", "zh-Hans"),
        path=path,
        subtitle=d.get("subtitle", ""),
        legal_level=level,
        date_published=str(d.get("date_published", "")),
        date_effective=str(d.get("date_effective", "")),
        status=status,
        status_note=d.get("status_note", ""),
        complete=bool(d.get("complete", True)),
        notice=d.get("notice", ""),
        aliases=tuple(d.get("aliases", ())),
        where_found=d.get("where_found", ""),
    )


def derived_doc_id(path: Path) -> str:
    """Stable id for a file without a manifest: readable stem + hash of its absolute path."""
    stem = re.sub(r"[^0-9A-Za-z\u4e00-\u9fff]+", "-", path.stem).strip("-")[:40] or "doc"
    return f"{stem}-{hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:8]}"


def entries_for(paths: list[Path], suffixes: frozenset[str]) -> list[ManifestEntry]:
    """Entries for the given files and folders. A folder with a manifest uses it;
    otherwise every supported file below it is taken with derived metadata."""
    out: list[ManifestEntry] = []
    for p in paths:
        if not p.exists():
            raise InputError(f"{p}: no such file or folder")
        if p.is_dir():
            manifest = p / MANIFEST_NAME
            if manifest.exists():
                out.extend(read_manifest(manifest))
                continue
            files = sorted(f for f in p.rglob("*") if f.is_file() and f.suffix.lower() in suffixes)
            out.extend(_derived(f) for f in files)
        elif p.name == MANIFEST_NAME:
            out.extend(read_manifest(p))
        else:
            out.append(_derived(p))
    return out


def _derived(f: Path) -> ManifestEntry:
    meta = DocumentMeta(doc_id=derived_doc_id(f), title=f.stem, kind="other", path=str(f.resolve()))
    return ManifestEntry(f, meta, None, from_manifest=False)
