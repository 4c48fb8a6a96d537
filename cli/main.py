"""``policy-qa``: a thin command line over the library (contracts in DESIGN.md).

Usage and input errors print one line on stderr and exit with 2; nothing indexed is lost.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path
from typing import Any

from rag.errors import InputError, PolicyQAError
from rag.privacy import install_log_redaction, redact


def _filters(pairs: list[str] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip() or not value.strip():
            raise InputError(f"--filter takes key=value (e.g. --filter city=杭州), got {pair!r}")
        out[key.strip()] = value.strip()
    return out


def _print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, indent=2) + "\n")


def cmd_ingest(args: argparse.Namespace) -> int:
    from rag.config import get_settings
    from rag.index.index import Index
    from rag.index.lock import exclusive_home
    from rag.ingest.indexer import Indexer

    settings = get_settings()
    with exclusive_home(settings, "policy-qa ingest"):
        index = Index(settings)
        indexer = Indexer(index, progress=sys.stderr.isatty() or args.progress)
        # The repair comes first: --restore and the ingest need a document store that reads.
        repair = indexer.rebuild() if args.rebuild else None
        for doc_id in args.restore or []:
            if not index.docs.restore(doc_id):
                withdrawn = ", ".join(index.docs.withdrawn()) or "none"
                raise InputError(f"--restore {doc_id}: not a withdrawn document (withdrawn: {withdrawn})")
        report = indexer.ingest_paths([Path(p) for p in args.paths]) if args.paths else indexer.ingest_bundled()
        if repair is not None:
            report = repair.followed_by(report)
    if args.json:
        _print_json(report.public())
    else:
        print(
            f"added {len(report.added)}, updated {len(report.updated)}, removed {len(report.removed)}, "
            f"unchanged {len(report.unchanged)}, failed {len(report.errors)}; {report.chunks} chunks indexed"
        )
    for line in report.warnings:
        print(f"warning: {line}", file=sys.stderr)
    for line in report.errors:
        print(f"error: {line}", file=sys.stderr)
    return 1 if report.errors and not (report.added or report.updated or report.unchanged) else 0


def cmd_remove(args: argparse.Namespace) -> int:
    from rag.config import get_settings
    from rag.index.index import Index
    from rag.index.lock import exclusive_home
    from rag.ingest.indexer import Indexer

    settings = get_settings()
    with exclusive_home(settings, "policy-qa remove"):
        # Withdrawn, not just deleted: its file is still in the corpus it came from, and
        # the next ingest must not bring it back.
        if not Indexer(Index(settings)).remove(args.doc_id, withdraw=True):
            raise InputError(f"{args.doc_id}: no such document (policy-qa docs lists them)")
    if args.json:
        _print_json({"withdrawn": args.doc_id})
    else:
        print(f"withdrew {args.doc_id}; policy-qa ingest --restore {args.doc_id} brings it back")
    return 0


def cmd_retrieve(args: argparse.Namespace) -> int:
    from rag.pipeline import default_pipeline
    from rag.retrieve import Filters

    pipe = default_pipeline()
    query = pipe.validate(args.question)
    pipe.ensure_index()
    passages = pipe.retrieve(query, Filters.parse(_filters(args.filter)), args.k)
    if args.json:
        _print_json({"query": query, "passages": [p.public() for p in passages]})
    else:
        for i, p in enumerate(passages, 1):
            print(f"[{i}] {p.score:+.3f}  {p.locator or p.title} · {p.section or '—'}\n    {p.text[:160]}")
    return 0


def cmd_ask(args: argparse.Namespace) -> int:
    from rag.pipeline import default_pipeline
    from rag.answer.messages import status_line
    from rag.text.normalize import has_cjk
    from rag.types import AnswerEvent, StatusEvent, TokenEvent

    history: list[dict[str, str]] = []
    if args.history:
        try:
            history = json.loads(Path(args.history).read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise InputError(f"--history {args.history}: not a readable JSON list of turns ({exc})") from exc
    final = None
    printed = False
    for ev in default_pipeline().run(args.question, history, _filters(args.filter)):
        if isinstance(ev, AnswerEvent):
            final = ev.answer
        elif args.json:
            continue
        elif isinstance(ev, StatusEvent) and ev.step == "fallback":
            # The LLM failed mid-answer: say so before the extractive answer follows.
            line = status_line(ev.step, ev.data, not has_cjk(args.question))
            print(("\n" if printed else "") + f"（{line}）", flush=True)
        elif isinstance(ev, StatusEvent) and args.verbose:
            print(f"· {status_line(ev.step, ev.data, not has_cjk(args.question))}", file=sys.stderr)
        elif isinstance(ev, TokenEvent):
            sys.stdout.write(ev.text)
            sys.stdout.flush()
            printed = True
    assert final is not None
    if args.json:
        _print_json(final.public())
    else:
        if not final.answer.endswith("\n"):
            print()
        for c in final.citations:
            where = " · ".join(x for x in (c.locator or c.title, c.issuer, c.date, c.legal_level,
                                           "" if c.status in ("", "未核实") else c.status) if x)
            print(f"[{c.n}] {where}\n    「{c.quote}」")
            if c.notice:
                print(f"    注意：{c.notice}")
    return 0


def cmd_clean(args: argparse.Namespace) -> int:
    from rag.ingest.clean import clean_text, find_garbled, load_fixes
    from rag.ingest.loaders import load_file

    text = clean_text(load_file(Path(args.source)).text, load_fixes(Path(args.fixes)) if args.fixes else None)
    if args.output:
        Path(args.output).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    for off, excerpt in find_garbled(text):
        print(f"warning: text looks garbled near offset {off}: {excerpt!r}", file=sys.stderr)
    return 0


def cmd_eval(args: argparse.Namespace) -> int:
    from eval.runner import run_cli

    return run_cli(args)


def cmd_serve(args: argparse.Namespace) -> int:
    from ui.server import serve

    serve(host=args.host, port=args.port)
    return 0


def cmd_docs(args: argparse.Namespace) -> int:
    from rag.pipeline import default_pipeline

    pipe = default_pipeline()
    pipe.ensure_index()
    rows = [{**m.to_dict(), "chunks": n} for m, n in pipe.index.docs.documents()]
    withdrawn = [{"doc_id": d, "title": t, "at": at} for d, (t, at) in pipe.index.docs.withdrawn().items()]
    if args.json:
        _print_json({"documents": rows, "withdrawn": withdrawn})
    else:
        for r in rows:
            print(f"{r['doc_id']}\t{r['legal_level'] or r['kind']}\t{r['status']}\t{r['chunks']} chunks\t{r['title']}")
        for w in withdrawn:
            print(f"{w['doc_id']}\twithdrawn {w['at']}\t{w['title']}  (policy-qa ingest --restore {w['doc_id']})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="policy-qa", description="Answers about digital public-service policy, with sources.")
    p.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    s = sub.add_parser("ingest", help="index the bundled corpus, or the given files/folders (incremental)")
    s.add_argument("paths", nargs="*", help="files or folders (.txt .md .html .pdf .docx; a folder may hold manifest.toml)")
    s.add_argument("--rebuild", action="store_true",
                   help="rebuild the vectors and the keyword index; a damaged document store is set aside and "
                        "its documents ingested again")
    s.add_argument("--restore", action="append", metavar="DOC_ID", help="index a withdrawn document again (repeatable)")
    s.add_argument("--json", action="store_true", help="print the report as JSON")
    s.add_argument("--progress", action="store_true", help="show a progress bar even when not on a terminal")
    s.set_defaults(func=cmd_ingest)

    s = sub.add_parser("remove", help="withdraw a document from the index (ingest --restore undoes it)")
    s.add_argument("doc_id", help="the document id (policy-qa docs lists them)")
    s.add_argument("--json", action="store_true", help="print the result as JSON")
    s.set_defaults(func=cmd_remove)

    s = sub.add_parser("retrieve", help="show the passages retrieved for a question")
    s.add_argument("question")
    s.add_argument("-k", type=int, default=5, help="number of passages (default 5)")
    s.add_argument("--filter", action="append", metavar="KEY=VALUE",
                   help="kind, issuer, city, domain, doc_id, legal_level, status, date_from, date_to")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_retrieve)

    s = sub.add_parser("ask", help="answer a question with numbered citations")
    s.add_argument("question")
    s.add_argument("--filter", action="append", metavar="KEY=VALUE")
    s.add_argument("--history", metavar="FILE", help='JSON list of earlier turns: [{"role": "user", "content": "…"}, …]')
    s.add_argument("--json", action="store_true")
    s.add_argument("-v", "--verbose", action="store_true", help="print pipeline steps on stderr")
    s.set_defaults(func=cmd_ask)

    s = sub.add_parser("eval", help="evaluate retrieval and answers (gold set or a SQuAD-format file)")
    from eval.args import add_arguments

    add_arguments(s)
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser("serve", help="start the chat UI and the HTTP API")
    s.add_argument("--host", default=None, help="bind address (default 127.0.0.1, or POLICY_QA_SERVER_HOST)")
    s.add_argument("--port", type=int, default=None, help="port (default 7860, or POLICY_QA_SERVER_PORT)")
    s.set_defaults(func=cmd_serve)

    s = sub.add_parser("docs", help="list the indexed documents")
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_docs)

    s = sub.add_parser("clean", help="clean a received file (script, pinyin, widths, reviewed repairs)")
    s.add_argument("source")
    s.add_argument("--fixes", help="repairs TOML for this file")
    s.add_argument("-o", "--output", help="write here instead of stdout")
    s.set_defaults(func=cmd_clean)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # argparse exits 2 with a usage line on bad usage
    logging.basicConfig(level=logging.DEBUG if args.debug else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # Before anything logs: with --debug every library logs, and a question (or an error
    # quoting it) must reach stderr redacted whichever logger prints it.
    install_log_redaction()
    try:
        return int(args.func(args) or 0)
    except PolicyQAError as exc:
        if args.debug:
            raise
        print(f"policy-qa: error: {redact(str(exc))}", file=sys.stderr)  # errors may quote the input
        return exc.exit_code
    except KeyboardInterrupt:
        return 130

