"""Run an evaluation: retrieval metrics for every item, answer metrics for gold items.

``policy-qa eval`` evaluates the gold test half of the bundled corpus by default;
``--squad FILE`` indexes every context of a SQuAD-format file into a temporary home and
asks every question (open retrieval). Every run prints JSON or a table and is written
to a results file with the settings fingerprint and the git commit.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from pathlib import Path
from collections.abc import Callable
from typing import Any

from eval.datasets import TRAPS, Item, load_dialogue_turns, load_gold, load_squad, to_traditional_set
from eval.metrics import KS, hit_at, mrr, ndcg_at, percentile, precision_recall
from rag.config import Settings, get_settings
from rag.errors import InputError
from rag.index.docstore import DocStore
from rag.condense import condense
from rag.pipeline import Pipeline, final_answer
from rag.privacy import redact_values
from rag.retrieve import Filters, fusion_weight
from rag.types import DocumentMeta, Passage

from eval.args import MODES, add_arguments  # noqa: F401  (re-exported for the CLI)


@dataclass
class Record:
    item: Item
    passages: list[Passage]
    ranks_rel: list[bool]
    ms: float
    answer: dict[str, Any] | None = None
    answer_ms: float = 0.0


def eval_settings(base: Settings, home: Path, args: argparse.Namespace) -> Settings:
    retrieve = base.retrieve
    weight = args.dense_weight if args.dense_weight is not None else MODES[args.mode]
    if weight is not None:
        retrieve = retrieve.model_copy(update={"dense_weight": weight})
    embedding = base.embedding.model_copy(update={"model": args.embedding}) if args.embedding else base.embedding
    # A fresh home but the shared embedding cache: nothing is embedded twice across runs.
    return base.model_copy(update={"home": home, "retrieve": retrieve, "embedding": embedding,
                                   "chroma": base.chroma.model_copy(update={"host": None})})


def relevance(item: Item, passages: list[Passage], docs: DocStore) -> list[bool]:
    """Which passages hold a gold anchor (by span overlap, so chunking changes don't matter).

    An anchor that quotes a heading lies outside every chunk's span (headings become the
    chunks' section path), so there a passage counts when its section path quotes it.
    """
    golds: list[tuple[str, int, int, str]] = []  # doc id, anchor span (-1: whole doc), anchor
    for g in item.gold:
        if not g.anchor:
            golds.append((g.doc_id, -1, -1, ""))
            continue
        doc = docs.document(g.doc_id)
        at = doc.text.find(g.anchor) if doc else -1
        if at >= 0:
            golds.append((g.doc_id, at, at + len(g.anchor), g.anchor))

    def holds(p: Passage, doc_id: str, s: int, e: int, anchor: str) -> bool:
        if p.doc_id != doc_id:
            return False
        return s < 0 or min(p.end, e) - max(p.start, s) >= (e - s) / 2 or anchor in p.section

    out = []
    found: set[int] = set()
    for p in passages:
        # A gold span counts once: later chunks of the same context are not new hits
        # (this keeps nDCG within [0, 1] when a context is split into several chunks).
        hit = next((i for i, g in enumerate(golds) if i not in found and holds(p, *g)), None)
        if hit is not None:
            found.add(hit)
        out.append(hit is not None)
    return out


def evaluate(pipe: Pipeline, items: list[Item], answers: bool, k: int = 10, progress: bool = False) -> list[Record]:
    records = []
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(items), desc="questions", unit="q", leave=False, file=sys.stderr)
    for item in items:
        q = condense(item.question, item.history)
        t0 = time.perf_counter()
        passages = pipe.retrieve(q, Filters(), k)
        ms = (time.perf_counter() - t0) * 1000
        rec = Record(item, passages, relevance(item, passages, pipe.index.docs), ms)
        if answers:
            t1 = time.perf_counter()
            rec.answer = final_answer(pipe.run(item.question, item.history)).public()
            rec.answer_ms = (time.perf_counter() - t1) * 1000
        records.append(rec)
        if bar:
            bar.update(1)
    if bar:
        bar.close()
    return records


def fold(text: str) -> str:
    """Compare in one script: a Traditional answer to a Traditional question still counts."""
    from rag.text.normalize import fold_for_search

    return fold_for_search(text)


def direct_correct(r: Record) -> bool:
    """A gold answer string inside the direct answer (the answer's first line).

    A question two documents answer (「上海和深圳……分别……」) is right only when both
    documents are cited and each contributes an answer: one document's answer is half of it.
    """
    if not r.answer or r.answer["refused"]:
        return False
    gold_docs = {g.doc_id for g in r.item.gold}
    if len(gold_docs) > 1:
        cited = {c["doc_id"] for c in r.answer["citations"]}
        text = fold(r.answer["answer"])
        found = sum(fold(a) in text for a in r.item.answers)
        return gold_docs <= cited and found >= min(len(gold_docs), len(r.item.answers))
    direct = fold(r.answer.get("direct") or r.answer["answer"].split("\n")[0])
    return any(fold(a) in direct for a in r.item.answers)


def _each(records: list[Record], docs: DocStore, key: Callable[[Record], str]) -> dict[str, dict[str, Any]]:
    """The flat metrics of each part of ``records`` by ``key``; empty when there is one part."""
    parts: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        parts[key(r)].append(r)
    if len(parts) < 2:
        return {}
    return {name: {k: v for k, v in summarize(rs, docs).items() if not isinstance(v, dict)}
            for name, rs in sorted(parts.items())}


def summarize(records: list[Record], docs: DocStore) -> dict[str, Any]:
    """Metrics over answerable items (retrieval) and all items (answers, refusal)."""
    answerable = [r for r in records if r.item.answerable]
    ranks = [next((i + 1 for i, ok in enumerate(r.ranks_rel) if ok), None) for r in answerable]
    out: dict[str, Any] = {"n": len(records), "n_answerable": len(answerable)}
    for k in KS:
        out[f"hit@{k}"] = round(hit_at(ranks, k), 4)
    out["mrr"] = round(mrr(ranks), 4)
    out["ndcg@10"] = round(ndcg_at([r.ranks_rel for r in answerable], [len(r.item.gold) for r in answerable]), 4)
    for k in (1, 5):
        out[f"answer_recall@{k}"] = round(
            sum(any(a in p.text for p in r.passages[:k] for a in r.item.answers) for r in answerable) / max(len(answerable), 1), 4
        )
    ms = [r.ms for r in records]
    out["p50_ms"] = round(percentile(ms, 50), 1)
    out["p95_ms"] = round(percentile(ms, 95), 1)

    with_answers = [r for r in records if r.answer is not None]
    if with_answers:
        ok = [r for r in with_answers if r.item.answerable and not r.answer["refused"]]
        acc = [direct_correct(r) for r in with_answers if r.item.answerable]
        out["answer_accuracy"] = round(sum(acc) / max(len(acc), 1), 4)
        out["answer_in_text"] = round(
            sum(any(fold(a) in fold(r.answer["answer"]) for a in r.item.answers) for r in with_answers if r.item.answerable)
            / max(len(acc), 1), 4)
        p, rcl = precision_recall([r.answer["refused"] for r in with_answers], [not r.item.answerable for r in with_answers])
        out["refusal_precision"], out["refusal_recall"] = round(p, 4), round(rcl, 4)
        out["refused_share"] = round(sum(r.answer["refused"] for r in with_answers) / len(with_answers), 4)
        # The cost of refusing: the share of answerable questions that got no answer.
        answerable_asked = [r for r in with_answers if r.item.answerable]
        if answerable_asked:
            out["wrongly_refused"] = round(sum(r.answer["refused"] for r in answerable_asked) / len(answerable_asked), 4)
        cites = [c for r in ok for c in r.answer["citations"]]
        exact = sum(1 for c in cites if (d := docs.document(c["doc_id"])) and d.text[c["start"]:c["end"]] == c["quote"])
        out["citation_exactness"] = round(exact / len(cites), 4) if cites else 1.0
        out["citations"] = len(cites)
        ams = [r.answer_ms for r in with_answers]
        out["answer_p50_ms"], out["answer_p95_ms"] = round(percentile(ams, 50), 1), round(percentile(ams, 95), 1)

    # Both halves in one run (--split all): each half's figures on their own, so a test
    # figure is never read off numbers that mix in the half the rules were written on.
    if by_split := _each(records, docs, lambda r: r.item.split):
        out["by_split"] = by_split
    # Each part of the corpus on its own (the paper's items and the official documents').
    if by_group := _each(records, docs, lambda r: r.item.group):
        out["by_group"] = by_group
    groups = {r.item.group for r in records}

    cats: dict[str, list[Record]] = defaultdict(list)
    for r in records:
        cats[f"{r.item.group}/{r.item.category}" if len(groups) > 1 else r.item.category].append(r)
    if len(cats) > 1:
        out["by_category"] = {}
        for cat, rs in sorted(cats.items()):
            row: dict[str, Any] = {"n": len(rs)}
            ans = [r for r in rs if r.item.answerable]
            if ans:
                rk = [next((i + 1 for i, ok in enumerate(r.ranks_rel) if ok), None) for r in ans]
                row.update({"hit@1": round(hit_at(rk, 1), 3), "hit@5": round(hit_at(rk, 5), 3), "mrr": round(mrr(rk), 3)})
            if any(r.answer for r in rs):
                if ans:
                    row["answer_accuracy"] = round(sum(direct_correct(r) for r in ans if r.answer) / len(ans), 3)
                row["refused"] = round(sum(bool(r.answer and r.answer["refused"]) for r in rs) / len(rs), 3)
                # Named for what they mean: refusal recall of a category of traps, the share
                # wrongly refused of a category of answerable questions.
                if not ans:
                    row["refusal_recall"] = row["refused"]
                elif len(ans) == len(rs):
                    row["wrongly_refused"] = row["refused"]
            out["by_category"][cat] = row
    return out


def git_commit() -> str:
    """The commit the code came from, marked ``-dirty`` when tracked files were changed:
    a figure from uncommitted code must not pass for the commit's own."""
    try:
        return subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=7"], capture_output=True,
                              text=True, cwd=Path(__file__).parent, timeout=5).stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def run(args: argparse.Namespace, base: Settings | None = None) -> dict[str, Any]:
    """Run the evaluation described by ``args``; returns the results dict (also written to a file)."""
    base = base or get_settings()
    if getattr(args, "open", False) and (getattr(args, "traps", False) or args.squad):
        raise InputError("--open is its own set; run it without --traps or --squad")
    if getattr(args, "traditional", None) and not args.squad:
        raise InputError("--traditional converts a --squad set; the gold set already has Traditional questions")
    if (getattr(args, "answers", False) or getattr(args, "against_bundled", False)) and not args.squad:
        raise InputError("--answers and --against-bundled apply to a --squad set; the gold set is answered by default")
    with tempfile.TemporaryDirectory(prefix="policy-qa-eval-") as tmp:
        settings = eval_settings(base, Path(tmp), args)
        pipe = Pipeline(settings)
        from rag.ingest.indexer import Indexer

        indexer = Indexer(pipe.index, progress=sys.stderr.isatty())
        t0 = time.perf_counter()
        if args.squad:
            data = load_squad(args.squad, args.limit)
            if args.traditional:
                data = to_traditional_set(data, contexts=args.traditional == "all")
            name = args.squad.stem + (f"-traditional-{args.traditional}" if args.traditional else "")
            if args.against_bundled:
                # Questions about other things asked of the bundled corpus: a refusal is right.
                indexer.ingest_bundled()
                items = [replace(i, gold=[], answers=[], answerable=False, category="out_of_domain") for i in data.items]
                name, answers = name + "-vs-bundled", True
            else:
                indexer.ingest_texts(
                    [(DocumentMeta(doc_id=cid, title="", kind="other"), text) for cid, text in data.contexts.items()],
                    root="squad",
                )
                items, answers = data.items, bool(args.answers)
        elif getattr(args, "open", False):
            from eval.open import evaluate_open, load_open
            from rag.answer.modes import mode_of

            indexer.ingest_bundled()
            open_items = load_open(None if args.split == "all" else args.split, args.dataset)[: args.limit or None]
            pipe.searcher.search("预热", 1)
            result = {"dataset": f"open-{args.split}", "mode": args.mode, **evaluate_open(pipe, open_items),
                      "answer_mode": mode_of(settings),
                      "git_commit": git_commit(), "time": datetime.now(timezone.utc).isoformat(timespec="seconds")}
            return _written(result, args, base)
        else:
            indexer.ingest_bundled()
            split = None if args.split == "all" else args.split
            dataset = args.dataset or (TRAPS if getattr(args, "traps", False) else None)
            items = load_gold(split, dataset)
            if args.dialogues:
                items += load_dialogue_turns(split)
            if args.limit:
                items = items[: args.limit]
            name = f"{'traps' if getattr(args, 'traps', False) else 'gold'}-{args.split}"
            answers = not args.no_answers
        index_s = time.perf_counter() - t0
        pipe.searcher.search("预热", 1)  # load models before timing questions
        records = evaluate(pipe, items, answers, progress=sys.stderr.isatty())
        result = summarize(records, pipe.index.docs)
        result = {
            "dataset": name,
            "mode": args.mode,
            **result,
            "index_seconds": round(index_s, 1),
            "chunks": pipe.index.docs.count_chunks(),
            "embedding": settings.embedding.model,
            "dense_weight": fusion_weight(settings),
            "settings_fingerprint": settings.fingerprint(),
            "git_commit": git_commit(),
            "time": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        result["misses"] = [
            {"id": r.item.id, "question": r.item.question, "category": r.item.category,
             "top": r.passages[0].text[:60] if r.passages else ""}
            for r in records if r.item.answerable and not any(r.ranks_rel[:5])
        ][:30]
        if answers:
            result["wrong_answers"] = [
                {"id": r.item.id, "question": r.item.question, "expected": r.item.answers if r.item.answerable else "refuse",
                 "got": (r.answer or {}).get("answer", "")[:100], "status": (r.answer or {}).get("status")}
                for r in records
                if r.answer and (r.answer["refused"] == r.item.answerable or (r.item.answerable and not direct_correct(r)))
            ][:200]
    return _written(result, args, base)


def _written(result: dict[str, Any], args: argparse.Namespace, base: Settings) -> dict[str, Any]:
    """The results, redacted, also written to ``--out`` (default: the home's eval folder).

    Every run's file passes here, so this is where its texts are redacted: a dataset's
    questions (often real users' questions turned test items), the answers and passages
    quoted in misses, wrong answers and open items may hold an ID or phone number, and
    result files are kept and shared. What is printed is the same redacted dict.
    """
    result = redact_values(result)
    out = args.out or base.home / "eval" / f"{datetime.now():%Y%m%d-%H%M%S}-{result['dataset']}-{args.mode}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    result["results_file"] = str(out)
    return result


def table(result: dict[str, Any]) -> str:
    keys = [k for k in ("n", "key_point_recall", "cited_point_share", "mean_length", "hit@1", "hit@3", "hit@5", "hit@10", "mrr", "ndcg@10", "answer_recall@5",
                        "answer_accuracy", "refused_share", "refusal_precision", "refusal_recall", "wrongly_refused",
                        "citation_exactness", "p50_ms", "p95_ms", "answer_p95_ms") if k in result]
    lines = [f"{result['dataset']} · {result['mode']} · {result.get('embedding', '')} · commit {result['git_commit']}"]
    lines += [f"  {k:<20} {result[k]}" for k in keys]
    for half, row in result.get("by_split", {}).items():
        lines.append(f"  {{{half}}} " + ", ".join(f"{k}={row[k]}" for k in keys if k in row))
    for group, row in result.get("by_group", {}).items():
        lines.append(f"  <{group}> " + ", ".join(f"{k}={row[k]}" for k in keys if k in row))
    for key in ("by_intent", "by_lang"):
        for name, row in result.get(key, {}).items():
            lines.append(f"  ({name}) " + ", ".join(f"{k}={v}" for k, v in row.items()))
    for cat, row in result.get("by_category", {}).items():
        lines.append(f"  [{cat}] " + ", ".join(f"{k}={v}" for k, v in row.items()))
    lines.append(f"  results file: {result.get('results_file')}")
    return "\n".join(lines)


def run_cli(args: argparse.Namespace) -> int:
    result = run(args)
    if args.json:
        sys.stdout.write(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    else:
        print(table(result))
    return 0
