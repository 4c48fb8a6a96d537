"""Open questions scored against key-point rubrics (``eval/data/open.jsonl``).

An open question — the recommendations of a paper, a city's practice, how two laws
differ — has no one right string. Each item lists the points a good answer must make,
each with alternative wordings copied from the corpus. Per answer:

- key-point recall: the share of the points the answer states (a point marked ``first``,
  「资料中没有……」, counts only in the answer's first line: it must be said before anything else);
- cited-point share: of the stated points, the share whose line carries an [n] whose
  citation quotes that wording — a point is supported, not only asserted;
- length: characters of the answer.

Reported per intent, per half, per language; the rubrics' wordings are compared in one
script, so a Traditional answer states a Simplified point.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from statistics import mean
from typing import Any

from rag.pipeline import Pipeline, final_answer
from rag.text.normalize import fold_for_search

OPEN: Path = Path(__file__).with_name("data") / "open.jsonl"
_MARK = re.compile(r"\[(\d+)\]")


@dataclass(frozen=True)
class Point:
    point: str
    any: tuple[str, ...]
    first: bool = False


@dataclass(frozen=True)
class OpenItem:
    id: str
    split: str
    intent: str
    lang: str
    question: str
    points: tuple[Point, ...]


def load_open(split: str | None = None, path: Path | None = None) -> list[OpenItem]:
    items = []
    for line in (path or OPEN).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        if split and d["split"] != split:
            continue
        points = tuple(Point(p["point"], tuple(p["any"]), bool(p.get("first"))) for p in d["points"])
        items.append(OpenItem(d["id"], d["split"], d["intent"], d["lang"], d["question"], points))
    return items


def score(item: OpenItem, answer: dict[str, Any]) -> dict[str, Any]:
    """Which points the answer states, and which of those a citation supports."""
    text = answer["answer"]
    lines = [ln for ln in text.splitlines() if ln.strip()]
    first = fold_for_search(lines[0]) if lines else ""
    quotes = {c["n"]: fold_for_search(c["quote"]) for c in answer["citations"]}
    folded_lines = [(fold_for_search(ln), [int(n) for n in _MARK.findall(ln)]) for ln in lines]
    stated, cited = [], []
    for p in item.points:
        alts = [fold_for_search(a) for a in p.any]
        if p.first:
            stated.append(any(a in first for a in alts))
            continue
        hit = [(a, marks) for a in alts for ln, marks in folded_lines if a in ln]
        stated.append(bool(hit))
        if hit:
            cited.append(any(a in quotes.get(n, "") for a, marks in hit for n in marks))
    return {
        "recall": sum(stated) / len(stated) if stated else 0.0,
        "cited": sum(cited) / len(cited) if cited else None,
        "length": len(text),
        "refused": bool(answer["refused"]),
        "missed": [p.point for p, ok in zip(item.points, stated) if not ok],
    }


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    cited = [r["cited"] for r in rows if r["cited"] is not None]
    return {
        "n": len(rows),
        "key_point_recall": round(mean(r["recall"] for r in rows), 3) if rows else 0.0,
        "cited_point_share": round(mean(cited), 3) if cited else 0.0,
        "mean_length": round(mean(r["length"] for r in rows)) if rows else 0,
        "refused_share": round(sum(r["refused"] for r in rows) / len(rows), 3) if rows else 0.0,
    }


def evaluate_open(pipe: Pipeline, items: list[OpenItem]) -> dict[str, Any]:
    rows = []
    for item in items:
        answer = final_answer(pipe.run(item.question)).public()
        rows.append({"id": item.id, "split": item.split, "intent": item.intent, "lang": item.lang,
                     "question": item.question, "mode": answer["mode"], **score(item, answer),
                     "answer": answer["answer"][:300]})

    def by(key: str) -> dict[str, dict[str, Any]]:
        groups: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            groups.setdefault(r[key], []).append(r)
        return {k: summarize(v) for k, v in sorted(groups.items())}

    return {**summarize(rows), "by_split": by("split"), "by_intent": by("intent"), "by_lang": by("lang"),
            "items": rows}
