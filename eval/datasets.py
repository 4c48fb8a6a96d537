"""Evaluation data: the gold set (JSONL) and SQuAD-format reading-comprehension files."""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

from rag.errors import InputError


@dataclass(frozen=True)
class Gold:
    """Where the answer is: a document and a quoted substring inside the gold passage."""

    doc_id: str
    anchor: str = ""  # empty: any passage of the document counts (SQuAD contexts)


@dataclass
class Item:
    """One question with what a good system returns for it."""

    id: str
    question: str
    gold: list[Gold]
    answers: list[str]
    answerable: bool = True
    category: str = "squad"
    split: str = "test"
    history: list[dict[str, str]] = field(default_factory=list)
    group: str = ""  # which part of the bundled corpus a gold item is about: "paper" or "official"


def _data(name: str) -> Path:
    return Path(str(resources.files("eval").joinpath("data", name)))


def _traps() -> Path:
    return _data("traps.jsonl")


# The near-topic refusal set: questions naming the corpus's places and topics that it does
# not answer, and answerable counterparts in the same style.
TRAPS: Path = _traps()


def load_gold(split: str | None = None, path: Path | None = None) -> list[Item]:
    """Single-turn gold items (``split``: "dev", "test" or None for both)."""
    items = []
    for line in (path or _data("gold.jsonl")).read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        if split and d["split"] != split:
            continue
        items.append(
            Item(d["id"], d["question"], [Gold(g["doc_id"], g["anchor"]) for g in d["gold"]], d["answers"],
                 d["answerable"], d["category"], d["split"], group=d.get("group", "paper"))
        )
    return items


def load_dialogue_turns(split: str | None = None) -> list[Item]:
    """Follow-up turns of the gold dialogues, each with the history that precedes it."""
    out = []
    for line in _data("dialogues.jsonl").read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        if split and d["split"] != split:
            continue
        history: list[dict[str, str]] = []
        for i, turn in enumerate(d["turns"]):
            if i > 0:
                out.append(
                    Item(f"{d['id']}.{i}", turn["question"], [Gold(g["doc_id"], g["anchor"]) for g in turn["gold"]],
                         turn["answers"], True, "followup", d["split"], list(history), group=d.get("group", "paper"))
                )
            history += [{"role": "user", "content": turn["question"]}, {"role": "assistant", "content": ""}]
    return out


@dataclass
class SquadSet:
    contexts: dict[str, str]  # context id → text
    items: list[Item]


def to_traditional_set(data: SquadSet, contexts: bool) -> SquadSet:
    """The same set with Traditional-script questions (and passages when ``contexts``)."""
    from rag.text.script import to_traditional

    return SquadSet(
        {cid: to_traditional(t) for cid, t in data.contexts.items()} if contexts else dict(data.contexts),
        [replace(i, question=to_traditional(i.question), answers=[to_traditional(a) for a in i.answers] if contexts else i.answers)
         for i in data.items],
    )


def load_squad(path: Path, limit: int | None = None) -> SquadSet:
    """Every context and every question of a SQuAD-format file (CMRC 2018, DRCD …)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, ValueError) as exc:
        raise InputError(f"{path}: not a readable SQuAD-format JSON file ({exc})") from exc
    if not isinstance(data, dict) or "data" not in data:
        raise InputError(f"{path}: no top-level 'data' list; is this a SQuAD-format file?")
    contexts: dict[str, str] = {}
    items: list[Item] = []
    for a, article in enumerate(data["data"]):
        for p, para in enumerate(article.get("paragraphs", [])):
            cid = f"ctx-{a:04d}-{p:03d}"
            contexts[cid] = para["context"]
            for qa in para.get("qas", []):
                answers = [x["text"] for x in qa.get("answers", []) if x.get("text")]
                items.append(Item(str(qa.get("id", f"{cid}-{len(items)}")), qa["question"], [Gold(cid)], answers))
    if limit:
        items = items[:limit]
    return SquadSet(contexts, items)
