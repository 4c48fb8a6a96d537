"""Optional second-stage rerankers, behind a name → factory registry.

``none`` (default) keeps the fused order. ``cross-encoder:<model name or local path>``
scores (question, passage) pairs with a sentence-transformers CrossEncoder (``st``
extra). ``bigram-overlap`` is a dependency-free reranker by shared character bigrams:
cheap, and the registry's test double for the reranking code path.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from rag.errors import InputError
from rag.text.normalize import fold_for_search
from rag.types import Passage


class Reranker(Protocol):
    name: str

    def scores(self, question: str, passages: list[Passage]) -> list[float]:
        """One relevance score per passage (higher is better)."""
        ...


class BigramOverlap:
    """Share of the question's character bigrams found in the passage."""

    name = "bigram-overlap"

    def scores(self, question: str, passages: list[Passage]) -> list[float]:
        q = fold_for_search(question)
        grams = {q[i : i + 2] for i in range(len(q) - 1)}
        if not grams:
            return [0.0] * len(passages)
        out = []
        for p in passages:
            text = fold_for_search(p.text)
            out.append(sum(g in text for g in grams) / len(grams))
        return out


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder, loaded on first use."""

    def __init__(self, model: str) -> None:
        self.name = f"cross-encoder:{model}"
        self._path = model
        self._model = None

    def load(self):  # type: ignore[no-untyped-def]
        if self._model is None:
            try:
                from sentence_transformers import CrossEncoder
            except ImportError as exc:
                raise InputError("the cross-encoder reranker needs: pip install 'policy-qa[st]'") from exc
            self._model = CrossEncoder(self._path, device="cpu", num_labels=1)
        return self._model

    def scores(self, question: str, passages: list[Passage]) -> list[float]:
        if not passages:
            return []
        out = self.load().predict([(question, p.text) for p in passages], convert_to_numpy=True)
        return [float(x) for x in out]


_REGISTRY: dict[str, Callable[[], Reranker]] = {"bigram-overlap": BigramOverlap}


def register(name: str, factory: Callable[[], Reranker]) -> None:
    _REGISTRY[name] = factory


def make_reranker(name: str) -> Reranker | None:
    """The reranker registered under ``name``; None for ``none``."""
    if not name or name == "none":
        return None
    if name.startswith("cross-encoder:"):
        return CrossEncoderReranker(name.split(":", 1)[1])
    try:
        return _REGISTRY[name]()
    except KeyError:
        raise InputError(
            f"unknown reranker {name!r}; use none, bigram-overlap or cross-encoder:<model name or path>"
        ) from None


def rerank(reranker: Reranker, question: str, passages: list[Passage]) -> list[Passage]:
    """Passages in the reranker's order; the reranker's score replaces the fused one."""
    scored = list(zip(reranker.scores(question, passages), range(len(passages)), passages))
    scored.sort(key=lambda t: (-t[0], t[1]))
    for s, _, p in scored:
        p.score = s
    return [p for _, _, p in scored]
