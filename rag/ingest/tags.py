"""Passage-level city and service-domain tags, so filters select passages, not whole papers.

A paper about four cities should not answer a 杭州 filter with its 上海 paragraph: in a
document that names several places, a passage carries a city when the city is named in
its text or section path. A document about one place (a city's own regulation, whose
articles say 本市) carries that place on every passage. A passage carries a domain its
document lists when the domain's words (``rag/text/domains.toml``) occur there, and
otherwise inherits the document's domain if the document has just one.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from rag.types import Chunk, DocumentMeta


@lru_cache(maxsize=1)
def domain_words() -> dict[str, tuple[str, ...]]:
    """Domain → the words that mark a passage as belonging to it."""
    data = tomllib.loads(resources.files("rag.text").joinpath("domains.toml").read_text(encoding="utf-8"))
    return {d: tuple(ws) for d, ws in data["words"].items()}


def chunk_tags(chunk: Chunk, meta: DocumentMeta) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """``(cities, domains)`` of one chunk, drawn from its document's lists."""
    where = chunk.section + "\n" + chunk.text
    if len(meta.cities) == 1:
        cities = tuple(meta.cities)
    else:
        cities = tuple(c for c in meta.cities if c.removesuffix("市") in where)
    words = domain_words()
    domains = tuple(d for d in meta.domains if any(w in where for w in words.get(d, (d,))))
    # A general passage of a single-domain document belongs to that domain; in a document
    # spanning several, a passage naming none belongs to none of them in particular.
    return cities, domains or (meta.domains if len(meta.domains) == 1 else ())
