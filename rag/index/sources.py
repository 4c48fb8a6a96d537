"""What the document store was filled from, mirrored in a small file beside it.

``docs.sqlite`` is the one part of the index nothing else can rebuild. When it is
damaged, ``ingest --rebuild`` moves it aside and ingests its sources again: the
bundled corpus and the uploads folder are known without it, but the files and folders
a user ingested by path, and the documents an administrator withdrew, are known only
from this mirror (``docs.sources.json``), which the store rewrites whenever they change.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from rag.index.atomic import write_atomic

SOURCES_NAME = "docs.sources.json"


@dataclass(frozen=True)
class Sources:
    """The ingest roots that hold documents, and the withdrawn documents."""

    roots: tuple[str, ...] = ()
    # doc_id → (title, when withdrawn, ISO 8601): as `DocStore.withdrawn` returns them.
    withdrawn: dict[str, tuple[str, str]] = field(default_factory=dict)


def read_sources(path: Path) -> Sources | None:
    """The mirror at ``path``; None when there is none or it cannot be read."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return Sources(
            tuple(str(r) for r in data["roots"]),
            {str(d): (str(t), str(at)) for d, (t, at) in data["withdrawn"].items()},
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def write_sources(path: Path, sources: Sources) -> None:
    """Replace the mirror atomically (a crash leaves the previous one)."""
    data = {"roots": list(sources.roots), "withdrawn": {d: list(v) for d, v in sources.withdrawn.items()}}
    write_atomic(path, json.dumps(data, ensure_ascii=False, indent=1).encode())
