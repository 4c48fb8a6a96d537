"""Hybrid retrieval on the bundled corpus: scripts, languages, filters, diversity."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from rag.config import Settings
from rag.errors import InputError
from rag.pipeline import Pipeline
from rag.retrieve import Filters, HybridRetriever, fusion_weight, tuned_weights


def test_traditional_question_ranks_the_passage_with_the_answer_first(bundled: Pipeline) -> None:
    passages = bundled.retrieve("楊浦區數字養老院的服務清單有多少項", Filters())
    assert "48项" in passages[0].text


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("杭州老年食堂怎么付款？", "长者码"),
        # A paraphrase (the text says 养老机器人、智能养老院). Asked without 「文章」 it is also
        # answered by 国办发〔2020〕45号's 适老化智能终端 items, which is right too.
        ("文章里有哪些帮老人的智能设备", "养老机器人"),
        ("How many offline smart elderly-care stations did Changde build?", "13家"),
        ("哪些城市建议开展数字公共服务试点？", "开展数字公共服务试点"),
        ("數字鴻溝造成的差別被稱為什麼？", "第四大差别"),
    ],
)
def test_questions_in_users_own_words_find_the_passage(bundled: Pipeline, question: str, expected: str) -> None:
    top = bundled.retrieve(question, Filters(), k=5)  # the bar the gold set sets for paraphrases: hit@5
    assert any(expected in p.text for p in top), [p.text[:40] for p in top]


def test_full_width_and_half_width_questions_retrieve_the_same(bundled: Pipeline) -> None:
    a = bundled.retrieve("2018年数字经济就业岗位", Filters())
    b = bundled.retrieve("２０１８年数字经济就业岗位", Filters())
    assert [p.chunk_id for p in a] == [p.chunk_id for p in b]


def test_city_and_domain_filters_select_passages(bundled: Pipeline) -> None:
    hz = bundled.retrieve("数字化服务", Filters(city="杭州"), k=5)
    assert hz and all("杭州" in p.text or "杭州" in p.section for p in hz)
    health = bundled.retrieve("数字化平台建设", Filters(domain="卫生"), k=5)
    assert health and all(any(w in p.text + p.section for w in ("卫生", "医疗", "健康", "诊所", "医师")) for p in health)
    assert bundled.retrieve("数字化服务", Filters(kind="report")) == []  # no bundled document is a report
    assert all(p.meta["kind"] == "policy" for p in bundled.retrieve("数字化服务", Filters(kind="policy")))


def test_unknown_filter_is_an_input_error() -> None:
    with pytest.raises(InputError, match="unknown filter"):
        Filters.parse({"colour": "red"})


def test_top_k_is_not_one_paragraph_repeated(bundled: Pipeline) -> None:
    passages = bundled.retrieve("直播带岗", Filters(), k=5)
    for i, a in enumerate(passages):
        for b in passages[i + 1 :]:
            overlap = min(a.end, b.end) - max(a.start, b.start)
            assert overlap < 0.75 * min(a.end - a.start, b.end - b.start)


def test_langchain_retriever_interface(bundled: Pipeline) -> None:
    retriever = HybridRetriever(searcher=bundled.searcher, k=2)
    docs = retriever.invoke("常德智能养老服务站点")
    assert len(docs) == 2
    assert "13家" in docs[0].page_content
    assert docs[0].metadata["doc_id"] == "digital-tech-urban-public-services"


def test_fusion_weight_is_tuned_per_model_unless_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    s = Settings()
    assert fusion_weight(s) == tuned_weights()["dense_weight"]["e5-small"]
    unknown = s.model_copy(update={"embedding": s.embedding.model_copy(update={"model": "sentence-transformers:x"})})
    assert fusion_weight(unknown) == tuned_weights()["default"]
    monkeypatch.setenv("POLICY_QA_RETRIEVE_DENSE_WEIGHT", "0.2")
    assert fusion_weight(Settings()) == 0.2


def test_bm25_only_weight_ranks_by_lexical_score(bundled: Pipeline, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bundled.settings.retrieve, "dense_weight", 0.0)
    passages = bundled.retrieve("长者码 老年食堂", Filters(), k=5)
    scores = [p.lexical_score for p in passages]
    assert scores == sorted(scores, reverse=True) and "长者码" in passages[0].text


def test_tuning_writes_the_chosen_weight_for_one_model_and_keeps_the_rest(tmp_path: Path) -> None:
    from eval.tune import FUSION_TOML, write_weight

    table = tmp_path / "fusion.toml"
    table.write_text(FUSION_TOML.read_text(encoding="utf-8"), encoding="utf-8")
    write_weight("use-m3", 0.3, table)
    data = tomllib.loads(table.read_text(encoding="utf-8"))
    assert data["dense_weight"]["use-m3"] == 0.3
    assert data["dense_weight"]["e5-small"] == tuned_weights()["dense_weight"]["e5-small"]
    assert data["default"] == tuned_weights()["default"]
    assert table.read_text(encoding="utf-8").startswith("# Weight of the dense side")
