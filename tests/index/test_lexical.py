"""The BM25 side: words plus character bigrams, and an index that follows its term scheme."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rag.index.lexical import TERMS_VERSION, LexicalIndex
from rag.pipeline import Pipeline
from rag.retrieve import Filters
from rag.text.tokenize import query_terms
from rag.types import Chunk


def _chunk(i: int, text: str) -> Chunk:
    return Chunk(f"c{i}", "d", 0, len(text), text, "", i)


def test_question_words_go_but_the_words_around_them_stay_whole() -> None:
    terms = query_terms("能否介绍一下智能养老院有哪些服务？")
    assert "智能" in terms and "养老院" in terms and "服务" in terms
    assert "能否" not in terms and "哪些" not in terms
    # No bigram straddles a dropped question word ("院有" is kept: 有 is not one; "有哪" is).
    assert "有哪" not in terms and "些服" not in terms


def test_bm25_alone_matches_a_phrase_that_jieba_cuts_into_common_words(
    bundled: Pipeline, monkeypatch: pytest.MonkeyPatch
) -> None:
    # 「打造一批…城市」: every word of it is common in the paper; only the phrase is not.
    monkeypatch.setattr(bundled.settings.retrieve, "dense_weight", 0.0)
    top = bundled.retrieve("政策建議提出要打造一批什麼樣的城市？", Filters(), k=3)
    assert any("标杆城市" in p.text for p in top), [p.text[:30] for p in top]


def test_an_index_built_with_older_terms_is_rebuilt_not_reused(tmp_path: Path) -> None:
    chunks = [_chunk(0, "杭州老年食堂用长者码付款"), _chunk(1, "常德建成线下智能养老服务站点13家")]
    LexicalIndex(tmp_path / "bm25").ensure(lambda: chunks, "rev-1")
    stamp = tmp_path / "bm25" / "stamp.json"
    meta = json.loads(stamp.read_text(encoding="utf-8"))
    assert meta["terms"] == TERMS_VERSION
    meta["terms"] = "an older scheme"
    stamp.write_text(json.dumps(meta), encoding="utf-8")

    rebuilt: list[int] = []
    fresh = LexicalIndex(tmp_path / "bm25")
    fresh.ensure(lambda: rebuilt.append(1) or chunks, "rev-1")
    assert rebuilt == [1]
    assert json.loads(stamp.read_text(encoding="utf-8"))["terms"] == TERMS_VERSION
    scores = fresh.scores(query_terms("老年食堂怎么付款"))
    assert scores[0] > 0 and scores[1] == 0
