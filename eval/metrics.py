"""Retrieval and answer metrics. Pure functions over ranks and flags."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

KS = (1, 3, 5, 10)


def hit_at(ranks: Sequence[int | None], k: int) -> float:
    """Share of questions whose first relevant passage is within the top k (ranks are 1-based)."""
    return float(np.mean([r is not None and r <= k for r in ranks])) if ranks else 0.0


def mrr(ranks: Sequence[int | None]) -> float:
    return float(np.mean([1.0 / r if r else 0.0 for r in ranks])) if ranks else 0.0


def ndcg_at(relevance: Sequence[Sequence[bool]], n_relevant: Sequence[int], k: int = 10) -> float:
    """Binary-relevance nDCG@k averaged over questions."""
    scores = []
    for rel, n in zip(relevance, n_relevant):
        dcg = sum(1.0 / math.log2(i + 2) for i, r in enumerate(rel[:k]) if r)
        ideal = sum(1.0 / math.log2(i + 2) for i in range(min(max(n, 1), k)))
        scores.append(dcg / ideal if ideal else 0.0)
    return float(np.mean(scores)) if scores else 0.0


def percentile(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def precision_recall(predicted: Sequence[bool], actual: Sequence[bool]) -> tuple[float, float]:
    """Precision and recall of the positive class (here: "refused" vs "should refuse")."""
    tp = sum(p and a for p, a in zip(predicted, actual))
    fp = sum(p and not a for p, a in zip(predicted, actual))
    fn = sum(a and not p for p, a in zip(predicted, actual))
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    return precision, recall
