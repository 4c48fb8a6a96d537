"""Choose the fusion weight on tuning data: CMRC 2018 trial and the gold dev half.

Indexes each tuning set once, then sweeps the dense weight of the score fusion and
prints hit@1 / hit@5 / MRR per weight. The sets reported in the README (CMRC 2018 dev,
gold test half) are never used here.

    python -m eval.tune --squad ../shared/bench/cmrc2018_trial.json [--embedding NAME] [--write]

``--write`` stores the chosen weight for the model in ``rag/fusion.toml``, where
retrieval looks it up when POLICY_QA_RETRIEVE_DENSE_WEIGHT is not set.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import tomllib
from pathlib import Path

from eval.datasets import Item, load_gold, load_squad
from eval.metrics import hit_at, mrr
from eval.runner import relevance
from rag.config import get_settings
from rag.ingest.indexer import Indexer
from rag.pipeline import Pipeline
from rag.retrieve import Filters, tuned_weights
from rag.types import DocumentMeta

FUSION_TOML = Path(__file__).resolve().parent.parent / "rag" / "fusion.toml"


def sweep(pipe: Pipeline, items: list[Item], weights: list[float]) -> dict[str, dict[str, float]]:
    out = {}
    for w in weights:
        pipe.settings.retrieve.dense_weight = w
        ranks = []
        for item in items:
            passages = pipe.retrieve(item.question, Filters(), 10)
            rel = relevance(item, passages, pipe.index.docs)
            ranks.append(next((i + 1 for i, ok in enumerate(rel) if ok), None))
        out[f"{w:.2f}"] = {"n": len(items), "hit@1": round(hit_at(ranks, 1), 4), "hit@5": round(hit_at(ranks, 5), 4), "mrr": round(mrr(ranks), 4)}
        print(f"  w={w:.2f} {out[f'{w:.2f}']}", file=sys.stderr)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--squad", type=Path, help="SQuAD-format tuning file (e.g. cmrc2018_trial.json)")
    ap.add_argument("--weights", default="0,0.4,0.5,0.55,0.6,0.65,0.7,0.75,0.8,0.9,1")
    ap.add_argument("--embedding", help="embedding model to tune for")
    ap.add_argument("--write", action="store_true", help="store the chosen weight for the model in rag/fusion.toml")
    args = ap.parse_args()
    weights = [float(w) for w in args.weights.split(",")]
    base = get_settings()
    if args.embedding:
        base = base.model_copy(update={"embedding": base.embedding.model_copy(update={"model": args.embedding})})
    results: dict[str, object] = {"embedding": base.embedding.model}
    with tempfile.TemporaryDirectory() as tmp:
        pipe = Pipeline(base.model_copy(update={"home": Path(tmp), "chroma": base.chroma.model_copy(update={"host": None})}))
        if args.squad:
            data = load_squad(args.squad)
            Indexer(pipe.index).ingest_texts([(DocumentMeta(doc_id=c, title=""), t) for c, t in data.contexts.items()], "squad")
            print(f"{args.squad.name}: {len(data.items)} questions", file=sys.stderr)
            results[args.squad.stem] = sweep(pipe, [i for i in data.items if i.question.strip()], weights)
    with tempfile.TemporaryDirectory() as tmp:
        pipe = Pipeline(base.model_copy(update={"home": Path(tmp), "chroma": base.chroma.model_copy(update={"host": None})}))
        Indexer(pipe.index).ingest_bundled()
        dev = [i for i in load_gold("dev") if i.answerable]
        print(f"gold dev: {len(dev)} answerable questions", file=sys.stderr)
        results["gold-dev"] = sweep(pipe, dev, weights)
    results["chosen"] = choose(results)
    print(json.dumps(results, ensure_ascii=False, indent=2))
    if args.write:
        write_weight(base.embedding.model, float(results["chosen"]))  # type: ignore[arg-type]
        print(f"written to {FUSION_TOML}", file=sys.stderr)


def write_weight(model: str, weight: float, path: Path = FUSION_TOML) -> None:
    """Set ``model``'s weight in the fusion table, keeping its comments and other models."""
    text = path.read_text(encoding="utf-8")
    data = tomllib.loads(text)
    weights = {**data.get("dense_weight", {}), model: weight}
    rows = "".join(f"{json.dumps(name)} = {w:g}\n" for name, w in sorted(weights.items()))
    header = text.split("default =")[0]
    path.write_text(f"{header}default = {data['default']:g}\n\n[dense_weight]\n{rows}", encoding="utf-8")
    tuned_weights.cache_clear()


def choose(results: dict[str, object]) -> float:
    """The middle of the plateau: weights within one question (or 0.5 point) of the best
    hit@1 on every tuning set, then the median of those. Small tuning sets cannot tell
    neighbouring weights apart; the middle of the plateau is the choice least likely to
    be an accident of them."""
    sets = [v for k, v in results.items() if isinstance(v, dict)]
    weights = sorted(sets[0], key=float)
    ok = []
    for w in weights:
        good = True
        for table in sets:
            best = max(row["hit@1"] for row in table.values())
            slack = max(0.005, 1.0 / max(1, table[w].get("n", 54)))
            good &= table[w]["hit@1"] >= best - slack - 1e-4  # hit@1 is rounded to 4 places
        if good:
            ok.append(float(w))
    return ok[len(ok) // 2] if ok else float(weights[len(weights) // 2])


if __name__ == "__main__":
    main()
