"""Query expansion with the reviewed domain synonyms and English glossary in ``synonyms.toml``."""

from __future__ import annotations

import re
import tomllib
from functools import lru_cache
from importlib import resources

from rag.text.normalize import fold_for_search
from rag.text.normalize import has_cjk
from rag.text.places import PLACES, places_in
from rag.text.tokenize import tokenize


@lru_cache(maxsize=1)
def _data() -> dict:  # type: ignore[type-arg]
    return tomllib.loads(resources.files("rag.text").joinpath("synonyms.toml").read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def _groups() -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(fold_for_search(t) for t in g) for g in _data()["groups"])


@lru_cache(maxsize=1)
def _english() -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    return tuple(
        (re.compile(rf"\b{re.escape(en)}\b"), tuple(zh)) for en, zh in sorted(_data().get("english", {}).items(), key=lambda kv: -len(kv[0]))
    )


@lru_cache(maxsize=4096)
def synonyms_of(term: str) -> tuple[str, ...]:
    """The other terms of every reviewed group that holds ``term`` (folded)."""
    t = fold_for_search(term)
    return tuple(dict.fromkeys(x for g in _groups() if t in g for x in g if x != t))


def phrases_in(text: str) -> list[str]:
    """The reviewed terms of several words that ``text`` (folded) writes (大数据杀熟):
    one concept, which a word-by-word reading would split into words none of the
    corpus's sentences say."""
    return [t for g in _groups() for t in g if len(t) >= 3 and t in text and len(tokenize(t)) > 1]


def english_terms(text: str) -> list[tuple[str, ...]]:
    """For each glossary phrase in an English text, its Chinese terms, whole (「app」 →
    应用程序, 移动互联网应用): the alternatives one concept can be said with."""
    return _english_matches(fold_for_search(text))


def _english_matches(folded: str) -> list[tuple[str, ...]]:
    """The glossary's Chinese terms for an English text, longest phrase first; a phrase
    matched is used up, so 「in charge」 (负责) is not read again as 「charge」 (收费)."""
    out = []
    for pattern, terms in _english():
        if pattern.search(folded):
            out.append(terms)
            folded = pattern.sub(" ", folded)
    return out


@lru_cache(maxsize=1)
def _to_english() -> tuple[tuple[str, str], ...]:
    """Chinese term → an English word for it, longest term first: the glossary read
    backwards (its first English phrase for each term) and the place names."""
    found: dict[str, str] = {}
    for en, terms in _data().get("english", {}).items():
        for zh in terms:
            found.setdefault(zh, en)
    for zh, spellings in PLACES.items():
        found[zh] = spellings[0].title()
    return tuple(sorted(found.items(), key=lambda kv: -len(kv[0])))


def english_of(text: str) -> str:
    """Chinese terms said in English where the glossary knows them (「上海房价」 → "Shanghai
    house prices"); what it does not know stays as written. For English refusals, which
    name the asked topic in the user's language."""
    if not has_cjk(text):
        return text
    out = text
    for zh, en in _to_english():
        if zh in out:
            out = out.replace(zh, f" {en} ")
    return " ".join(out.split())


def expand(query: str) -> list[str]:
    """Extra lexical tokens: synonyms of the question's terms, and the Chinese terms for
    English words and place names (so English questions can match Chinese text)."""
    folded = fold_for_search(query)
    extra: list[str] = []
    for group in _groups():
        if any(term in folded for term in group):
            for term in group:
                if term not in folded:
                    extra.extend(tokenize(term))
    for terms in _english_matches(folded):
        for term in terms:
            extra.extend(tokenize(term))
    extra.extend(p for p in places_in(folded) if p not in folded)
    return list(dict.fromkeys(extra))
