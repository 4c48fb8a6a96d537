"""Calibrate the refusal thresholds on the gold set's dev half.

Prints each dev item's evidence (coverage of the best sentence, dense cosine of the best
passage) and the threshold pair that best separates answerable from unanswerable
questions: maximise refusal F1, then keep as many answerable questions as possible.
``--write`` stores the result in ``rag/answer/refusal.toml``.

    python -m eval.calibrate [--write]
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
from pathlib import Path

import numpy as np

from eval.datasets import load_gold
from eval.metrics import precision_recall
from rag.answer.refusal import Thresholds, supported
from rag.config import get_settings
from rag.condense import condense
from rag.ingest.indexer import Indexer
from rag.pipeline import Pipeline
from rag.retrieve import Filters
from rag.text.normalize import has_cjk

TOML = Path(__file__).resolve().parent.parent / "rag" / "answer" / "refusal.toml"


def features(pipe: Pipeline, split: str) -> list[tuple[str, bool, bool, float, float]]:
    rows = []
    for item in load_gold(split):
        q = condense(item.question, item.history)
        refs = pipe.searcher.references(q)
        passages = pipe.retrieve(q, Filters(), refs=refs)
        draft, problems, dense = pipe.evidence(q, passages, refs)
        # Questions the hard checks already refuse do not inform the thresholds.
        blocked = draft is None or bool(problems) or bool(refs.missing_articles or (refs.missing and not refs.docs))
        rows.append((item.question, item.answerable, has_cjk(q), -1.0 if blocked else draft.coverage, dense))
    return rows


def best_thresholds(rows: list[tuple[str, bool, bool, float, float]]) -> tuple[Thresholds, float, float]:
    best: tuple[float, float, Thresholds] | None = None
    grid_cov = np.round(np.arange(0.10, 0.90, 0.02), 2)
    grid_dense = np.round(np.arange(0.70, 0.95, 0.01), 2)
    for cov, dz, den in itertools.product(grid_cov, grid_dense, grid_dense):
        t = Thresholds(float(cov), float(dz), float(den))
        # Rows the hard checks block (coverage -1) are refused whatever the thresholds.
        refused = [c < 0 or not supported(c, d, cjk, t) for _, _, cjk, c, d in rows]
        p, r = precision_recall(refused, [not a for _, a, *_ in rows])
        f1 = 2 * p * r / (p + r) if p + r else 0.0
        kept = sum(a and not ref for (_, a, *_), ref in zip(rows, refused)) / max(sum(a for _, a, *_ in rows), 1)
        key = (round(f1, 4), round(kept, 4))
        if best is None or key > (best[0], best[1]):
            best = (key[0], key[1], t)
    assert best is not None
    return best[2], best[0], best[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--write", action="store_true", help="write the thresholds to rag/answer/refusal.toml")
    args = ap.parse_args()
    base = get_settings()
    with tempfile.TemporaryDirectory() as tmp:
        pipe = Pipeline(base.model_copy(update={"home": Path(tmp), "chroma": base.chroma.model_copy(update={"host": None})}))
        Indexer(pipe.index).ingest_bundled()
        rows = features(pipe, "dev")
    for q, ans, cjk, cov, dense in sorted(rows, key=lambda r: (r[1], r[3])):
        print(f"{'ANS ' if ans else 'REF '} cov={cov:.2f} dense={dense:.3f} {'zh' if cjk else 'en'}  {q}")
    t, f1, kept = best_thresholds(rows)
    print(f"\nbest on dev: {t}  refusal F1={f1:.3f}  answerable kept={kept:.3f}")
    if args.write:
        TOML.write_text(
            TOML.read_text(encoding="utf-8").split("[thresholds]")[0]
            + f"[thresholds]\nmin_coverage = {t.min_coverage}\nmin_dense_zh = {t.min_dense_zh}\nmin_dense_en = {t.min_dense_en}\n",
            encoding="utf-8",
        )
        print(f"written to {TOML}")


if __name__ == "__main__":
    main()
