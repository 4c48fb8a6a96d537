"""The bundled corpus: the official texts as received, and what an official needs to judge them."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from rag.ingest.manifest import MANIFEST_NAME, bundled_corpus_dir, read_manifest
from rag.types import LEGAL_LEVELS, STATUSES
from tests.conftest import SHARED

SOURCE = SHARED / "policy-corpus"


@pytest.fixture(scope="module")
def manifest() -> list[dict]:
    return tomllib.loads((bundled_corpus_dir() / MANIFEST_NAME).read_text(encoding="utf-8"))["document"]


def test_eighteen_documents_each_with_level_status_and_dates(manifest: list[dict]) -> None:
    assert len(manifest) == 18 and len({d["id"] for d in manifest}) == 18
    for d in manifest:
        assert d["legal_level"] in LEGAL_LEVELS, d["id"]
        assert d["status"] in STATUSES, d["id"]
        # Never claimed in force without saying who says so.
        assert d["status"] != "现行有效" or d.get("status_note"), d["id"]
        assert (bundled_corpus_dir() / d["path"]).is_file()
    entries = {e.meta.doc_id: e.meta for e in read_manifest(bundled_corpus_dir() / MANIFEST_NAME)}
    assert entries["shuju-anquan-fa-2021"].date_effective == "2021-09-01"
    assert entries["laonianren-zhineng-jishu-kunnan-2020"].doc_number == "国办发〔2020〕45号"


def test_known_gaps_and_amendments_are_said(manifest: list[dict]) -> None:
    by_id = {d["id"]: d for d in manifest}
    hangzhou = by_id["hangzhou-chengshi-danao-tiaoli-2020"]
    assert hangzhou["complete"] is False and "第十八条" in hangzhou["notice"]
    cyber = by_id["wangluo-anquan-fa-2016"]
    assert cyber["status"] == "已修订" and "2025年10月28日" in cyber["status_note"] and "原文" in cyber["notice"]


@pytest.mark.skipif(not SOURCE.is_dir(), reason="../shared/policy-corpus is not beside the checkout")
def test_official_texts_are_byte_identical_to_the_verified_sources(manifest: list[dict]) -> None:
    source = tomllib.loads((SOURCE / "manifest.toml").read_text(encoding="utf-8"))["document"]
    assert {d["id"] for d in source} <= {d["id"] for d in manifest}
    by_id = {d["id"]: d for d in manifest}
    for d in source:
        ours = bundled_corpus_dir() / by_id[d["id"]]["path"]
        assert ours.read_bytes() == (SOURCE / d["file"]).read_bytes(), d["id"]
        # Every field of the verified manifest is carried over unchanged.
        for key, value in d.items():
            if key != "file" and value not in ("", []):
                assert by_id[d["id"]].get(key) == value, (d["id"], key)


def test_the_manifest_refuses_an_unsourced_in_force_claim(tmp_path: Path) -> None:
    from rag.errors import InputError

    (tmp_path / "a.txt").write_text("第一条 测试。\n", encoding="utf-8")
    (tmp_path / MANIFEST_NAME).write_text(
        '[[document]]\nid = "a"\npath = "a.txt"\ntitle = "测试条例"\nkind = "law"\nstatus = "现行有效"\n', encoding="utf-8")
    with pytest.raises(InputError, match="status_note"):
        read_manifest(tmp_path / MANIFEST_NAME)
