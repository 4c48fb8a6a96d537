"""Command-line arguments of the evaluation runner (kept import-light for the CLI)."""

from __future__ import annotations

import argparse
from pathlib import Path

MODES = {"hybrid": None, "bm25": 0.0, "dense": 1.0}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--dataset", type=Path, help="gold-format JSONL (default: the bundled gold set); with --open, "
                                               "an open-question file in the format of eval/data/open.jsonl")
    p.add_argument("--traps", action="store_true",
                   help="the near-topic refusal set (eval/data/traps.jsonl) instead of the gold set")
    p.add_argument("--open", action="store_true",
                   help="the open-question set (eval/data/open.jsonl): key-point recall, cited-point share and "
                        "length per intent, instead of the gold set")
    p.add_argument("--squad", type=Path, help="SQuAD-format JSON: open retrieval over all its contexts")
    p.add_argument("--traditional", choices=("questions", "all"),
                   help="convert a --squad set to Traditional script first: its questions, or questions and "
                        "passages (tests script folding on a Simplified set)")
    p.add_argument("--split", choices=("dev", "test", "all"), default="test", help="gold split (default test)")
    p.add_argument("--limit", type=int, help="evaluate only the first N questions")
    p.add_argument("--mode", choices=tuple(MODES), default="hybrid", help="retrieval: hybrid, bm25 only, dense only")
    p.add_argument("--embedding", help="embedding model (default: POLICY_QA_EMBEDDING_MODEL or e5-small)")
    p.add_argument("--dense-weight", type=float, help="override the fusion weight of the dense side")
    p.add_argument("--no-answers", action="store_true", help="retrieval metrics only (skip answering)")
    p.add_argument("--answers", action="store_true",
                   help="with --squad: also answer every question over its own passages (answer accuracy, "
                        "share refused)")
    p.add_argument("--against-bundled", action="store_true",
                   help="with --squad: ask its questions against the bundled corpus instead, where every one "
                        "should be refused (share refused)")
    p.add_argument("--dialogues", action="store_true", help="also evaluate the follow-up turns of the gold dialogues")
    p.add_argument("--out", type=Path, help="results file (default: $POLICY_QA_HOME/eval/<time>-<set>.json)")
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
