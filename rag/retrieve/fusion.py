"""Score fusion: each side z-normalised over the candidates, summed with a weight tuned
per embedding model (``rag/fusion.toml``, written by ``python -m eval.tune --write``).

Plain reciprocal-rank fusion throws away how *sure* each side is and loses to BM25
alone on CMRC 2018 (DESIGN.md); normalised scores keep it.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources
from typing import Any

import numpy as np

from rag.config import Settings


@cache
def tuned_weights() -> dict[str, Any]:
    """``rag/fusion.toml``: ``default`` and a ``dense_weight`` table per embedding model."""
    return tomllib.loads(resources.files("rag").joinpath("fusion.toml").read_text(encoding="utf-8"))


def fusion_weight(settings: Settings) -> float:
    """The dense side's weight: the configured one, else the one tuned for this model.

    Models differ in how far their cosines separate relevant passages (use-m3 far less
    than e5-small on Chinese), so one weight for all would under- or over-trust some.
    """
    if settings.retrieve.dense_weight is not None:
        return settings.retrieve.dense_weight
    data = tuned_weights()
    return float(data.get("dense_weight", {}).get(settings.embedding.model, data["default"]))


def zscore(x: np.ndarray) -> np.ndarray:
    """z-score; a side with no spread (e.g. BM25 on an English question) contributes 0."""
    sd = float(x.std())
    return (x - float(x.mean())) / sd if sd > 1e-9 else np.zeros_like(x)


def fuse(dense: np.ndarray, lexical: np.ndarray, weight: float) -> np.ndarray:
    """``weight · z(dense) + (1 − weight) · z(lexical)`` over one candidate set."""
    return weight * zscore(dense) + (1 - weight) * zscore(lexical)
