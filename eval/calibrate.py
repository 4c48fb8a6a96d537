"""Calibrate the refusal thresholds on tuning data only.

The decision (`rag.answer.refusal`) refuses when a threshold-free check fails, or when
the focus is too absent from the corpus, the answer sentence supports too little of it,
or the best passage is too far from the question. This script assesses every question of
the tuning sets once, then sweeps the thresholds:

* should refuse: the unanswerable items of the gold and trap dev halves, and CMRC 2018
  *trial* asked against the bundled corpus (questions about other things entirely);
* should answer: the answerable items of the gold and trap dev halves, and CMRC 2018
  trial asked against its own passages.

The sweep keeps the threshold sets that hold every answerable set within its limit (the
share the threshold-free checks refuse anyway plus a margin; for the reading-comprehension
set an absolute cap) and refuse at least ``MIN_OFF_DOMAIN`` of the off-domain questions;
among those it takes the best trade on the trap set — the near-topic questions this is
for: refusal recall minus twice the share wrongly refused — then the highest recall on
the gold set, then the fewest wrong refusals. Test
halves and CMRC dev are never read.

    python -m eval.calibrate [--squad ../shared/bench/cmrc2018_trial.json] [--write]
    POLICY_QA_EMBEDDING_MODEL=use-m3 python -m eval.calibrate --write   # that model's cosine thresholds
"""

from __future__ import annotations

import argparse
import itertools
import tempfile
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from eval.datasets import TRAPS, Item, load_gold, load_squad
from rag.answer.refusal import PER_MODEL, Evidence, Thresholds, assess, thresholds
from rag.condense import condense
from rag.config import Settings, get_settings
from rag.ingest.indexer import Indexer
from rag.pipeline import Pipeline
from rag.retrieve import Filters
from rag.types import DocumentMeta

TOML = Path(__file__).resolve().parent.parent / "rag" / "answer" / "refusal.toml"
# The model ``[thresholds]`` is calibrated on (the default); another model calibrates only
# its cosine thresholds, written to its own ``[models."<name>"]`` section.
BASE_MODEL = "e5-small"
# How many more answerable questions (as a share) the thresholds may refuse, per tuning
# set, beyond those the threshold-free checks refuse anyway; and for the reading-
# comprehension set, the share it may refuse in all: the code before these checks refused
# 11.5% of CMRC 2018 dev over its own passages, and its answers may not get worse by more
# than a point or two.
MARGINS = {"gold": 0.04, "traps": 0.05}
CAPS = {"squad": 0.13}
# Questions about other things entirely: at least this share must be refused.
MIN_OFF_DOMAIN = 0.98
GRID = {
    "max_absent": np.round(np.arange(0.0, 0.61, 0.1), 2),
    "min_focus": np.round(np.arange(0.10, 0.51, 0.05), 2),
    "min_sentence_cos": np.array([0.90, 0.92, 0.94, 1.01]),
    "require_head": np.array([0.0, 1.0]),
    "min_support_untyped": np.array([0.8, 0.9, 1.0, 1.01]),
    "min_dense_zh": np.round(np.arange(0.70, 0.85, 0.02), 2),
    "min_dense_en": np.array([0.70, 0.74, 0.78, 0.82, 0.86]),
}


@dataclass
class Rows:
    """Assessed questions of one tuning set, as arrays the sweep can combine."""

    name: str
    answerable: np.ndarray
    hard: np.ndarray  # refused whatever the thresholds
    has_absent: np.ndarray
    absent_share: np.ndarray
    needs_support: np.ndarray
    support: np.ndarray
    cosine: np.ndarray
    head_missing: np.ndarray
    untyped: np.ndarray
    focused: np.ndarray
    dense: np.ndarray
    cjk: np.ndarray
    scoped: np.ndarray

    @classmethod
    def of(cls, name: str, evidence: list[tuple[bool, Evidence]]) -> Rows:
        col = lambda f: np.array([f(a, e) for a, e in evidence])  # noqa: E731
        return cls(
            name, col(lambda a, e: a), col(lambda a, e: e.first is not None or e.later is not None),
            col(lambda a, e: bool(e.absent)), col(lambda a, e: e.absent_share), col(lambda a, e: not e.by_reference),
            col(lambda a, e: e.support), col(lambda a, e: e.cosine), col(lambda a, e: bool(e.head)),
            col(lambda a, e: bool(e.untyped)), col(lambda a, e: e.focused),
            col(lambda a, e: e.dense), col(lambda a, e: e.cjk), col(lambda a, e: e.scoped),
        )

    def refused(self, t: Thresholds) -> np.ndarray:
        dense_min = np.where(self.cjk, t.min_dense_zh, t.min_dense_en)
        return (self.hard | (self.has_absent & (self.absent_share > t.max_absent))
                | (self.head_missing & (t.require_head >= 1))
                | (self.untyped & ((self.support < t.min_support_untyped) | ~self.focused))
                | (self.needs_support & (self.support < t.min_focus) & (self.cosine < t.min_sentence_cos))
                | (self.needs_support & ~self.scoped & (self.dense < dense_min)))


def assessed(pipe: Pipeline, items: list[Item]) -> list[tuple[bool, Evidence]]:
    out = []
    for item in items:
        q = condense(item.question, item.history)
        refs = pipe.searcher.references(q)
        passages = pipe.retrieve(q, Filters(), refs=refs)
        draft, focus, dense = pipe.features(q, passages, refs)
        out.append((item.answerable, assess(q, draft, refs, focus, dense)))
    return out


def tuning_rows(base: Settings, squad: Path, limit: int | None) -> list[Rows]:
    gold = load_gold("dev")
    traps = load_gold("dev", TRAPS)
    data = load_squad(squad, limit)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        pipe = Pipeline(_home(base, Path(tmp) / "bundled"))
        Indexer(pipe.index).ingest_bundled()
        rows.append(Rows.of("gold", assessed(pipe, gold)))
        rows.append(Rows.of("traps", assessed(pipe, traps)))
        off = [replace(i, answerable=False, gold=[], answers=[]) for i in data.items]
        rows.append(Rows.of("squad-vs-bundled", assessed(pipe, off)))
        own = Pipeline(_home(base, Path(tmp) / "squad"))
        Indexer(own.index).ingest_texts(
            [(DocumentMeta(doc_id=c, title="", kind="other"), t) for c, t in data.contexts.items()], root="squad")
        rows.append(Rows.of("squad", assessed(own, data.items)))
    return rows


def _home(base: Settings, home: Path) -> Settings:
    return base.model_copy(update={"home": home, "chroma": base.chroma.model_copy(update={"host": None})})


def save_rows(path: Path, rows: list[Rows]) -> None:
    np.savez(path, **{f"{r.name}|{f}": getattr(r, f) for r in rows for f in Rows.__dataclass_fields__ if f != "name"})


def load_rows(path: Path) -> list[Rows]:
    data = np.load(path)
    names = list(dict.fromkeys(k.split("|")[0] for k in data.files))
    return [Rows(n, **{f: data[f"{n}|{f}"] for f in Rows.__dataclass_fields__ if f != "name"}) for n in names]


def rates(rows: list[Rows], t: Thresholds) -> dict[str, tuple[float, float]]:
    """Per set: (refusal recall on what should be refused, share wrongly refused)."""
    out = {}
    for r in rows:
        ref = r.refused(t)
        neg, pos = ~r.answerable, r.answerable
        recall = float(ref[neg].mean()) if neg.any() else float("nan")
        wrong = float(ref[pos].mean()) if pos.any() else float("nan")
        out[r.name] = (recall, wrong)
    return out


def model_grid(rows: list[Rows]) -> dict[str, np.ndarray]:
    """The grid for an embedding model other than the one ``[thresholds]`` was calibrated
    on: its own cosine thresholds, over the range its cosines take on the answerable
    tuning questions; every other threshold stays as calibrated."""
    base = thresholds()
    grid = {k: np.array([getattr(base, k)]) for k in GRID}
    answerable = [r for r in rows if r.name in ("gold", "traps")]
    for key, values in (("min_dense_zh", [r.dense[r.answerable & r.cjk] for r in answerable]),
                        ("min_dense_en", [r.dense[r.answerable & ~r.cjk] for r in answerable]),
                        ("min_sentence_cos", [r.cosine[r.answerable] for r in answerable])):
        v = np.concatenate(values)
        v = v[v > 0]
        qs = np.linspace(0.0, 0.3, 13) if key != "min_sentence_cos" else np.linspace(0.5, 1.0, 11)
        grid[key] = np.unique(np.round(np.quantile(v, qs), 3)) if v.size else np.array([0.0])
        if key == "min_sentence_cos":
            grid[key] = np.append(grid[key], 1.01)  # off: no paraphrase excuses weak support
    return grid


def sweep(rows: list[Rows], grid: dict[str, np.ndarray] = GRID) -> tuple[Thresholds, dict[str, tuple[float, float]]]:
    caps = {r.name: float(r.hard[r.answerable].mean()) + MARGINS[r.name] for r in rows if r.name in MARGINS}
    caps.update({name: cap for name, cap in CAPS.items() if any(r.name == name for r in rows)})
    best: tuple[tuple[float, float, float], Thresholds] | None = None
    for values in itertools.product(*grid.values()):
        t = Thresholds(**{k: float(v) for k, v in zip(grid, values)})
        r = rates(rows, t)
        if any(w > caps[name] for name, (_, w) in r.items() if name in caps):
            continue
        if r.get("squad-vs-bundled", (1.0, 0.0))[0] < MIN_OFF_DOMAIN:
            continue
        wrong = float(np.nanmean([w for _, w in r.values()]))
        # A wrong refusal costs twice what a caught trap gains: refusing is the safe side,
        # but an assistant that refuses what it could answer is not used.
        key = (round(r["traps"][0] - 2 * r["traps"][1], 3), round(r["gold"][0], 3), -round(wrong, 3))
        if best is None or key > best[0]:
            best = (key, t)
    if best is None:
        raise SystemExit("no thresholds keep every answerable set under its cap; review the checks")
    return best[1], rates(rows, best[1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--squad", type=Path, default=Path("../shared/bench/cmrc2018_trial.json"),
                    help="a SQuAD-format tuning set (default: CMRC 2018 trial)")
    ap.add_argument("--limit", type=int, help="use only the first N questions of the SQuAD set")
    ap.add_argument("--write", action="store_true", help="write the thresholds to rag/answer/refusal.toml")
    ap.add_argument("--rows", type=Path, help="keep the assessed questions in this file and reuse them (for "
                                               "re-sweeping after a change to the grid or margins only)")
    args = ap.parse_args()
    if args.rows and args.rows.exists():
        rows = load_rows(args.rows)
    else:
        rows = tuning_rows(get_settings(), args.squad, args.limit)
        if args.rows:
            save_rows(args.rows, rows)
    for r in rows:
        print(f"  {r.name:<18} {len(r.answerable)} questions, {int(r.answerable.sum())} answerable; "
              f"threshold-free checks refuse {r.hard[~r.answerable].mean() if (~r.answerable).any() else float('nan'):.3f}"
              f" of the rest and {r.hard[r.answerable].mean() if r.answerable.any() else float('nan'):.3f} of the answerable")
    model = get_settings().embedding.model
    own = model != BASE_MODEL
    t, r = sweep(rows, model_grid(rows) if own else GRID)
    print(f"chosen for {model}: {t}")
    for name, (recall, wrong) in r.items():
        print(f"  {name:<18} refusal recall {recall:.3f}   wrongly refused {wrong:.3f}")
    if args.write:
        data = tomllib.loads(TOML.read_text(encoding="utf-8"))
        base = data["thresholds"] if own else {k: getattr(t, k) for k in GRID}
        models = {**data.get("models", {}), **({model: {k: getattr(t, k) for k in PER_MODEL}} if own else {})}
        TOML.write_text(
            TOML.read_text(encoding="utf-8").split("[thresholds]")[0]
            + "[thresholds]\n" + "".join(f"{k} = {base[k]}\n" for k in GRID)
            + "".join(f'\n[models."{m}"]\n' + "".join(f"{k} = {v[k]}\n" for k in PER_MODEL) for m, v in sorted(models.items())),
            encoding="utf-8",
        )
        thresholds.cache_clear()
        print(f"written to {TOML}")


if __name__ == "__main__":
    main()
