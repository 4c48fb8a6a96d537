"""Damaged index files: answers go on when the part is derived, a one-line error with the
fix when it is not, and ``policy-qa ingest --rebuild`` repairs either.

Real homes built from the bundled corpus, real SQLite and Chroma files damaged the way
disks and interrupted copies damage them (truncated, first bytes overwritten).
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Callable
from pathlib import Path
from subprocess import CompletedProcess

import pytest

from rag.index.index import Index
from rag.ingest.manifest import MANIFEST_NAME, bundled_corpus_dir, read_manifest
from rag.pipeline import Pipeline, final_answer
from tests.conftest import make_settings, run_cli

QUESTION = "常德建了多少家线下智能养老服务站点？"
FACT = "13家线下智能养老服务站点"
REBUILD = "policy-qa ingest --rebuild"

Cli = Callable[..., CompletedProcess[str]]


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Path:
    """A home indexed from the bundled corpus by the CLI, once; tests damage copies of it."""
    home = tmp_path_factory.mktemp("built") / "home"
    done = run_cli(["ingest"], home, cache_dir)
    assert done.returncode == 0, done.stderr
    return home


@pytest.fixture
def indexed(built: Path, home: Path) -> Path:
    """This test's own copy of the built home (the one the `cli` fixture runs in)."""
    shutil.copytree(built, home)
    return home


def files_under(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*") if p.is_file())


def overwrite_start(path: Path) -> None:
    """What a bad copy or a stray write does: the first bytes are no longer the file's."""
    with open(path, "r+b") as handle:
        handle.write(b"\x00garbage, not what was written here\x00")


def truncate_half(path: Path) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(path.stat().st_size // 2)


def assert_one_line_error(done: CompletedProcess[str], *names: str) -> None:
    assert done.returncode != 0, done.stdout
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for name in names:
        assert name in lines[0], lines[0]


def assert_answers(done: CompletedProcess[str]) -> None:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert done.stdout.startswith("13家") and FACT in done.stdout, done.stdout


# ---- the keyword index: derived, so repaired on the way ---------------------------------


def test_every_truncated_keyword_index_file_is_rebuilt_and_the_answer_stays_right(
    indexed: Path, cache_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    folder = indexed / "index" / "bm25"
    names = [str(p.relative_to(folder)) for p in files_under(folder)]
    assert "stamp.json" in names and len(names) >= 4, names
    for name in names:
        truncate_half(folder / name)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="rag.index.lexical"):
            pipe = Pipeline(make_settings(indexed, cache_dir))
            answer = final_answer(pipe.run(QUESTION))
        assert answer.answer.startswith("13家") and not answer.refused, (name, answer.answer)
        assert any(FACT in c.quote for c in answer.citations), name
        warned = [r.getMessage() for r in caplog.records if r.name == "rag.index.lexical"]
        assert len(warned) == 1 and "damaged" in warned[0], (name, warned)

        health = {h.part: h for h in pipe.index.health()}
        assert all(h.ok for h in health.values()), [h.public() for h in health.values()]
        keywords = health["keywords"]
        assert "was damaged" in keywords.message and "rebuilt" in keywords.message, keywords.message
        assert name in keywords.message or "unreadable" in keywords.message, keywords.message

    # The rebuilt index was saved whole: the next start loads it without a word.
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="rag.index.lexical"):
        pipe = Pipeline(make_settings(indexed, cache_dir))
        final_answer(pipe.run(QUESTION))
    assert not [r for r in caplog.records if r.name == "rag.index.lexical"]
    assert {h.part: h.message for h in pipe.index.health()}["keywords"] == ""


def test_ingest_rebuild_repairs_a_damaged_keyword_index(indexed: Path, cli: Cli) -> None:
    overwrite_start(indexed / "index" / "bm25" / "bm25" / "params.index.json")
    truncate_half(indexed / "index" / "bm25" / "stamp.json")
    done = cli("ingest", "--rebuild")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "chunks indexed" in done.stdout, done.stdout
    asked = cli("ask", QUESTION)
    assert_answers(asked)
    assert "keyword index" not in asked.stderr, asked.stderr  # rebuilt by the rebuild, not by the question


# ---- the document store: the source of truth, so reported and repaired by --rebuild ------


def test_a_damaged_document_store_is_a_one_line_error_naming_the_file_and_the_fix(indexed: Path, cli: Cli) -> None:
    overwrite_start(indexed / "index" / "docs.sqlite")
    for command in (["ask", QUESTION], ["retrieve", QUESTION], ["docs"], ["ingest"]):
        assert_one_line_error(cli(*command), "docs.sqlite", REBUILD)


def test_ingest_rebuild_sets_a_damaged_document_store_aside_and_takes_its_sources_back(
    indexed: Path, cli: Cli, tmp_path: Path
) -> None:
    from ui.admin import write_uploads_manifest

    # An upload as the admin API keeps it, and a folder of the user's own, both ingested.
    uploads = indexed / "uploads"
    uploads.mkdir()
    (uploads / "county-brief.txt").write_text("县域数字服务简报\n\n某县建成数字服务驿站27个，覆盖全部乡镇。\n", encoding="utf-8")
    write_uploads_manifest(uploads, [{"id": "county-brief", "path": "county-brief.txt", "title": "县域数字服务简报",
                                      "kind": "report"}])
    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "notes.md").write_text("# 社区数字课堂\n\n社区数字课堂每周开课两次，面向老年人。\n", encoding="utf-8")
    assert cli("ingest", str(uploads), str(mine)).returncode == 0
    # A bundled document withdrawn by an administrator must stay withdrawn.
    assert cli("remove", "wangluo-anquan-fa-2016").returncode == 0
    bundled = {e.meta.doc_id for e in read_manifest(bundled_corpus_dir() / MANIFEST_NAME)}
    expected = (bundled - {"wangluo-anquan-fa-2016"}) | {"county-brief"}

    overwrite_start(indexed / "index" / "docs.sqlite")
    done = cli("ingest", "--rebuild")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    repaired = [line for line in done.stderr.splitlines() if "document store" in line]
    assert len(repaired) == 1, done.stderr
    assert "moved it to docs.sqlite.damaged-" in repaired[0] and "uploads" in repaired[0], repaired[0]
    assert "could not" not in repaired[0], repaired[0]
    assert [p.name for p in (indexed / "index").glob("docs.sqlite.damaged-*")], "the damaged file is kept"

    assert_answers(cli("ask", QUESTION))
    after = json.loads(cli("docs", "--json").stdout)
    ids = {d["doc_id"] for d in after["documents"]}
    assert expected < ids and len(ids) == len(expected) + 1, ids - expected  # + the notes of `mine`
    assert any(d["path"].endswith("notes.md") for d in after["documents"]), after["documents"]
    assert [w["doc_id"] for w in after["withdrawn"]] == ["wangluo-anquan-fa-2016"]


# ---- the vector store: derived, reported, rebuilt from the embedding cache ----------------


def test_a_damaged_vector_store_is_reported_and_rebuilt_from_the_embedding_cache(
    indexed: Path, cli: Cli, cache_dir: Path
) -> None:
    chroma = indexed / "index" / "chroma"
    overwrite_start(chroma / "chroma.sqlite3")
    assert_one_line_error(cli("ask", QUESTION), str(chroma), REBUILD)
    vectors = Index(make_settings(indexed, cache_dir)).health()[2]
    assert vectors.part == "vectors" and vectors.state == "damaged", vectors
    assert str(chroma) in vectors.message and REBUILD in vectors.message, vectors.message

    done = cli("ingest", "--rebuild")
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert "vector store" in done.stderr and "embedding cache" in done.stderr, done.stderr
    assert_answers(cli("ask", QUESTION))
    assert [h.state for h in Index(make_settings(indexed, cache_dir)).health()] == ["ok", "ok", "ok"]


def test_health_sees_damage_done_after_it_last_looked(indexed: Path, cache_dir: Path) -> None:
    # /readyz asks again and again; a file damaged under a running server must show.
    index = Index(make_settings(indexed, cache_dir))
    assert [h.state for h in index.health()] == ["ok", "ok", "ok"]
    assert index.docs.count_chunks() > 0  # the store's own connection is open and has read
    overwrite_start(indexed / "index" / "docs.sqlite")
    health = {h.part: h for h in index.health()}
    assert health["documents"].state == "damaged", health["documents"].public()
    assert "docs.sqlite" in health["documents"].message and REBUILD in health["documents"].message
    assert "\n" not in health["documents"].message
    assert health["keywords"].ok and health["vectors"].ok
