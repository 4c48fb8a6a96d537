"""Incremental, idempotent ingest into a real embedded Chroma and a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.errors import ModelMismatch
from rag.index.index import Index
from rag.ingest.indexer import Indexer
from rag.pipeline import Pipeline
from tests.conftest import make_settings

DOC_A = "一、总则\n常德市建立了13家线下智能养老服务站点。服务对象涵盖2万多个家庭。\n二、保障\n各区县应保障经费投入。\n"
DOC_B = "杭州老年食堂提供市民卡、长者码与人脸识别等支付方式。\n"


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    f = tmp_path / "docs"
    f.mkdir()
    (f / "a.txt").write_text(DOC_A, encoding="utf-8")
    (f / "b.md").write_text(DOC_B, encoding="gb18030")
    return f


def chroma_ids(index: Index) -> set[str]:
    return index.vectors.ids()


def test_ingest_twice_changes_nothing(folder: Path, home: Path, cache_dir: Path) -> None:
    index = Index(make_settings(home, cache_dir))
    first = Indexer(index).ingest_paths([folder])
    assert len(first.added) == 2 and not first.errors
    ids = chroma_ids(index)
    assert len(ids) == first.chunks == index.docs.count_chunks() > 0
    second = Indexer(index).ingest_paths([folder])
    assert second.added == second.updated == second.removed == []
    assert len(second.unchanged) == 2
    assert second.chunks == first.chunks and chroma_ids(index) == ids


def test_changed_file_replaces_its_chunks_and_removed_file_disappears(folder: Path, home: Path, cache_dir: Path) -> None:
    index = Index(make_settings(home, cache_dir))
    Indexer(index).ingest_paths([folder])
    before = chroma_ids(index)
    (folder / "a.txt").write_text(DOC_A.replace("13家", "15家"), encoding="utf-8")
    report = Indexer(index).ingest_paths([folder])
    assert len(report.updated) == 1 and len(report.unchanged) == 1
    texts = [c.text for c in index.docs.chunks()]
    assert any("15家" in t for t in texts) and not any("13家" in t for t in texts)
    after = chroma_ids(index)
    assert after != before and len(after) == index.docs.count_chunks()

    (folder / "b.md").unlink()
    report = Indexer(index).ingest_paths([folder])
    assert len(report.removed) == 1
    assert not any("长者码" in c.text for c in index.docs.chunks())
    assert len(chroma_ids(index)) == index.docs.count_chunks()


def test_a_broken_file_is_reported_and_the_batch_goes_on(folder: Path, home: Path, cache_dir: Path) -> None:
    (folder / "broken.pdf").write_bytes(b"%PDF-1.4\n1 0 obj <<>> garbage")
    (folder / "scan.docx").write_bytes(b"not a zip at all")
    index = Index(make_settings(home, cache_dir))
    report = Indexer(index).ingest_paths([folder])
    assert len(report.added) == 2
    assert len(report.errors) == 2
    assert any("broken.pdf" in e and "damaged" in e for e in report.errors)
    assert any("scan.docx" in e for e in report.errors)


def test_ingest_after_failure_keeps_what_was_indexed(folder: Path, home: Path, cache_dir: Path) -> None:
    index = Index(make_settings(home, cache_dir))
    Indexer(index).ingest_paths([folder])
    n = index.docs.count_chunks()
    (folder / "a.txt").write_bytes(b"\x00\x01\x02binary junk\x00\x00")
    report = Indexer(index).ingest_paths([folder])
    assert report.errors and "a.txt" in report.errors[0]
    # The failed file keeps its last good version rather than vanishing.
    assert index.docs.count_chunks() == n


def test_opening_an_index_with_another_model_is_refused(folder: Path, home: Path, cache_dir: Path) -> None:
    Indexer(Index(make_settings(home, cache_dir))).ingest_paths([folder])
    other = Index(make_settings(home, cache_dir, embedding={"model": "use-m3"}))
    with pytest.raises(ModelMismatch, match="e5-small"):
        Indexer(other).ingest_paths([folder])


def test_first_question_on_an_empty_home_builds_the_bundled_index(home: Path, cache_dir: Path) -> None:
    pipe = Pipeline(make_settings(home, cache_dir))
    assert pipe.index.is_empty()
    events = list(pipe.run("常德建了多少家线下智能养老服务站点？"))
    assert events[0].type == "status" and events[0].step == "index"
    assert not pipe.index.is_empty()
    assert "13家" in events[-1].answer.answer
