"""Query expansion with the reviewed domain synonyms in ``synonyms.toml``."""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources

from rag.text.normalize import fold_for_search
from rag.text.tokenize import tokenize


@lru_cache(maxsize=1)
def _groups() -> tuple[tuple[str, ...], ...]:
    data = tomllib.loads(resources.files("rag.text").joinpath("synonyms.toml").read_text(encoding="utf-8"))
    return tuple(tuple(fold_for_search(t) for t in g) for g in data["groups"])


def expand(query: str) -> list[str]:
    """Extra lexical tokens for the synonyms of terms found in the (folded) question."""
    folded = fold_for_search(query)
    extra: list[str] = []
    for group in _groups():
        if any(term in folded for term in group):
            for term in group:
                if term not in folded:
                    extra.extend(tokenize(term))
    return extra
