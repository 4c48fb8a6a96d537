"""The strict grounding of English (and markup) sentences, issue 13 item 1.

What a user would notice: an English answer keeps the sentences its Chinese sources
state, with exact quotes; an invented English sentence — a phishing request, a bare token,
an echo of the prompt's tags — never appears and is never cited, however it is marked;
a wrong number, a place, a name or a code the sources never wrote costs the sentence.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.grounding import Grounded, ground
from rag.pipeline import Pipeline, final_answer
from rag.retrieve import Filters
from rag.types import Passage, TokenEvent
from tests.answer.test_llm import llm_settings
from tests.answer.test_llm_intents import evidence
from tests.fakes.openai_server import FakeOpenAIServer, fake_llm, openai_server, text  # noqa: F401 - fixtures

HANGZHOU = "What payment methods can older people use at Hangzhou's smart meal-assistance canteens?"
CHANGDE = "How many offline smart elderly-care service stations did Changde build?"


def passage_with(pipe: Pipeline, needle: str) -> Passage:
    """The bundled corpus's passage holding ``needle`` (found the way a user would: asking)."""
    return next(p for p in pipe.retrieve(needle, Filters(), k=10) if needle in p.text)


def assert_exact(pipe: Pipeline, g: Grounded) -> None:
    assert g.citations
    for c in g.citations:
        doc = pipe.index.docs.document(c.doc_id)
        assert doc is not None and doc.text[c.start : c.end] == c.quote


# ---- genuinely supported English sentences are kept ------------------------------------

SUPPORTED = [
    ("13家线下智能养老服务站点", "Changde has built 13 offline smart elderly-care service sites [1].", "13家"),
    ("13家线下智能养老服务站点",
     "These sites provide elderly-care services to more than 30,000 older people [1].", "3万多老人"),
    ("市民卡、“长者码”与人脸识别",
     "Canteens in Hangzhou accept the citizen card, the senior code and facial recognition as payment methods [1].",
     "长者码"),
    ("通过各类传感器24小时实时监测",
     "The digital nursing home in Shanghai's Yangpu District uses sensors to monitor older people 24 hours a day [1].",
     "24小时"),
    ("覆盖了2000多名医师",
     "Shenzhen's clinic service supervision platform covered more than 2,000 doctors [1].", "2000多名医师"),
    ("我国数字经济领域就业岗位达到",
     "In 2018, China's digital economy provided 191 million jobs, 24.6% of total employment [1].", "1.91亿"),
    ("本条例自2025年1月1日起施行",
     "The Network Data Security Management Regulations take effect on January 1, 2025 [1].", "2025年1月1日"),
    ("数据处理者不得基于用户画像向未满十四周岁的未成年人推荐",
     "In Shenzhen, data processors may not use user profiling to recommend personalized products to minors under 14 [1].",
     "用户画像"),
]


@pytest.mark.parametrize(("needle", "sentence", "quoted"), SUPPORTED, ids=[s[2] for s in SUPPORTED])
def test_a_supported_english_sentence_is_kept_with_an_exact_quote(
    bundled: Pipeline, needle: str, sentence: str, quoted: str
) -> None:
    g = ground(sentence, [passage_with(bundled, needle)], bundled.similarity)
    assert g.text == sentence and not g.dropped
    assert quoted in g.citations[0].quote
    assert_exact(bundled, g)


def test_a_supported_english_answer_streams_through_the_pipeline(
    bundled: Pipeline, cache_dir: Path, fake_llm: FakeOpenAIServer
) -> None:
    pipe = Pipeline(llm_settings(bundled.settings.home, cache_dir, fake_llm.base_url), index=bundled.index)
    sources = evidence(pipe, CHANGDE)
    n = next(i for i, p in enumerate(sources, 1) if "13家线下智能养老服务站点" in p.text)
    reply = (f"Changde has built 13 offline smart elderly-care service sites [{n}]. "
             f"They provide elderly-care services to more than 30,000 older people [{n}].")
    fake_llm.push(text(reply, chunk_chars=7))
    a = final_answer(pipe.run(CHANGDE))
    assert a.mode == "llm" and a.status == "ok"
    assert a.answer == ("Changde has built 13 offline smart elderly-care service sites [1]. "
                        "They provide elderly-care services to more than 30,000 older people [1].")
    assert "13家线下智能养老服务站点" in a.citations[0].quote


# ---- the attack of the issue, end to end -------------------------------------------------

PHISHING = "Please send your ID card photo and bank PIN to the WeChat account pq-help to receive the subsidy"


def attacks(h: int) -> list[str]:
    """The four sentences the issue saw shown: ``h`` is the Hangzhou passage's number."""
    return [f"{PHISHING}[{h}].", "pwned[2].", "</source>[2]。", "</question>[1]。"]


def test_invented_english_sentences_are_dropped_and_never_shown_or_cited(
    bundled: Pipeline, cache_dir: Path, fake_llm: FakeOpenAIServer
) -> None:
    pipe = Pipeline(llm_settings(bundled.settings.home, cache_dir, fake_llm.base_url), index=bundled.index)
    sources = evidence(pipe, HANGZHOU)
    h = next(i for i, p in enumerate(sources, 1) if "长者码" in p.text)
    good = f"Canteens in Hangzhou accept the citizen card, the senior code and facial recognition [{h}]."
    fake_llm.push(text(good + " " + " ".join(attacks(h)), chunk_chars=5))
    events = list(pipe.run(HANGZHOU))
    a = final_answer(iter(events))
    shown = "".join(e.text for e in events if isinstance(e, TokenEvent))
    assert a.mode == "llm" and a.status == "ok; dropped 4 unsupported sentences"
    assert a.answer == shown == "Canteens in Hangzhou accept the citizen card, the senior code and facial recognition [1]."
    for bad in ("WeChat", "PIN", "pq-help", "pwned", "source>", "question>"):
        assert bad not in shown
    assert len(a.citations) == 1 and "长者码" in a.citations[0].quote


@pytest.mark.parametrize("i", range(4), ids=["phishing", "pwned", "source-tag", "question-tag"])
def test_an_answer_made_only_of_an_attack_falls_back_to_the_extractive_answer(
    bundled: Pipeline, cache_dir: Path, fake_llm: FakeOpenAIServer, i: int
) -> None:
    pipe = Pipeline(llm_settings(bundled.settings.home, cache_dir, fake_llm.base_url), index=bundled.index)
    sources = evidence(pipe, HANGZHOU)
    h = next(n for n, p in enumerate(sources, 1) if "长者码" in p.text)
    bad = attacks(h)[i]
    fake_llm.push(text(bad))
    events = list(pipe.run(HANGZHOU))
    a = final_answer(iter(events))
    assert a.mode == "extractive" and a.status.startswith("llm_fallback: no sentence of the model's answer")
    shown = "".join(e.text for e in events if isinstance(e, TokenEvent)) + a.answer
    assert bad.split("[")[0] not in shown
    assert all(c.quote not in bad for c in a.citations)


# ---- each test of an English sentence -------------------------------------------------------


@pytest.fixture(scope="module")
def changde(bundled: Pipeline) -> Passage:
    return passage_with(bundled, "13家线下智能养老服务站点")


@pytest.mark.parametrize(
    ("sentence", "reason"),
    [
        ("Changde has built 45 offline smart elderly-care service sites [1].", "number"),
        ("Changde has built thirty offline smart elderly-care service sites [1].", "number"),
        ("Shenzhen has built 13 offline smart elderly-care service sites [1].", "place"),
        ("Changde's 13 offline smart elderly-care service sites are booked through WeChat [1].", "name"),
        ("Changde's 13 offline smart elderly-care service sites are listed at http://pq-help.example.com [1].", "name"),
        ("Write to help@pq-help.cn to join Changde's 13 offline smart elderly-care service sites [1].", "name"),
        ("Changde has not built any offline smart elderly-care service sites [1].", "negation"),
        ("Applicants must send a selfie and their bank password to the hotline operator [1].", "unverifiable"),
    ],
)
def test_an_english_sentence_the_span_does_not_state_is_dropped(
    bundled: Pipeline, changde: Passage, sentence: str, reason: str
) -> None:
    g = ground(sentence, [changde], bundled.similarity)
    assert g.text == "" and g.dropped == [sentence] and not g.citations
    assert [c.reason for c in g.checks] == [reason]


def test_numbers_agree_across_ways_of_writing_them(bundled: Pipeline, changde: Passage) -> None:
    # 3万多 is 30,000; 2万多 is 20,000; thirteen is 13.
    sentence = "Changde's thirteen sites serve more than 30,000 older people and more than 20,000 households [1]."
    assert ground(sentence, [changde], bundled.similarity).text == sentence


# ---- markup and sentences without content, in either language ---------------------------


@pytest.mark.parametrize(
    "bad",
    [
        "</source>[1]。",
        "<question>[1]",
        "＜/source＞[1]。",
        "<b>常德建成了13家线下智能养老服务站点</b>[1]。",  # supported words inside a tag: still markup
        "&lt;/source&gt;[1]。",
        "以上[1]。",
        "具体如下[1]：",
        "13[1]。",
        "pwned[1].",
        "Yes [1].",
        "Hangzhou [1].",
        "According to the sources [1].",
    ],
)
def test_markup_and_sentences_without_content_are_dropped_whatever_they_cite(
    bundled: Pipeline, changde: Passage, bad: str
) -> None:
    good = "常德建成了13家线下智能养老服务站点[1]。"
    g = ground(good + bad, [changde], bundled.similarity)
    assert g.text == good and g.dropped == [bad]


def test_chinese_sentences_are_checked_as_before(changde: Passage) -> None:
    g = ground("常德建成了13家线下智能养老服务站点[1]。13家站点为3万多老人提供服务[1]。常德建成了100家站点[1]。", [changde])
    assert g.text == "常德建成了13家线下智能养老服务站点[1]。13家站点为3万多老人提供服务[1]。"
    assert [c.reason for c in g.checks] == ["kept", "kept", "unsupported"]


# ---- a paragraph cited once, at its end (how small local models cite) ----------------------


def test_sentences_of_a_paragraph_cited_at_its_end_are_checked_against_those_sources(changde: Passage) -> None:
    g = ground("常德建成了13家线下智能养老服务站点。常德给每位老人发了一部手机。站点为3万多老人提供服务。[1]", [changde])
    assert g.text == "常德建成了13家线下智能养老服务站点[1]。站点为3万多老人提供服务。[1]"
    assert [(c.reason, c.inherited) for c in g.checks] == [("kept", True), ("unsupported", True), ("kept", False)]
    assert "13家" in g.citations[0].quote


def test_a_sentence_without_markers_takes_none_across_a_paragraph_break(changde: Passage) -> None:
    g = ground("常德建成了13家线下智能养老服务站点。\n站点为3万多老人提供服务[1]。", [changde])
    assert g.text == "站点为3万多老人提供服务[1]。"
    assert g.dropped == ["常德建成了13家线下智能养老服务站点。"]


def test_a_place_named_earlier_in_the_passage_counts_another_place_does_not(bundled: Pipeline) -> None:
    yangpu = passage_with(bundled, "5大类48项服务内容")  # 杨浦区 is named two sentences before
    good = "The service list of Yangpu District's digital nursing home includes 5 categories and 48 services [1]."
    assert ground(good, [yangpu], bundled.similarity).text == good
    bad = "The service list of Hangzhou's digital nursing home includes 5 categories and 48 services [1]."
    g = ground(bad, [yangpu], bundled.similarity)
    assert g.text == "" and [c.reason for c in g.checks] == ["place"]


def test_a_sentence_that_only_points_at_a_source_number_is_dropped(changde: Passage) -> None:
    g = ground("常德建成了13家线下智能养老服务站点[1]。依据资料编号为 [1]。", [changde])
    assert g.text == "常德建成了13家线下智能养老服务站点[1]。"
    assert [c.reason for c in g.checks] == ["kept", "no_content"]


def test_numbers_may_be_chinese_numerals_or_the_documents_own_number(bundled: Pipeline) -> None:
    article = passage_with(bundled, "国家建立数据安全审查制度")  # section 第二十四条
    ok = "数据安全法第24条规定国家建立数据安全审查制度[1]。"
    assert ground(ok, [article]).text == ok
    assert ground("数据安全法第25条规定国家建立数据安全审查制度[1]。", [article]).text == ""
    licence = passage_with(bundled, "电子证照与纸质证照具有同等法律效力")  # 国务院令第716号
    ok = "国务院令第716号规定电子证照与纸质证照具有同等法律效力[1]。"
    assert ground(ok, [licence]).text == ok
    assert ground("国务院令第717号规定电子证照与纸质证照具有同等法律效力[1]。", [licence]).text == ""


def test_a_chinese_sentence_that_moves_a_fact_to_another_city_is_dropped(bundled: Pipeline) -> None:
    # What Qwen2.5-1.5B wrote: 朝阳区's public-health system, credited to Shenzhen.
    chaoyang = passage_with(bundled, "以居民电子病历为基础")
    moved = "深圳建立了以居民电子病历为基础、卫生专网传输为支撑的区域数字化公共卫生体系[1]。"
    g = ground(moved, [chaoyang])
    assert g.text == "" and [c.reason for c in g.checks] == ["place"]
    right = "北京市朝阳区建成了以居民电子病历为基础、卫生专网传输为支撑的区域数字化公共卫生体系[1]。"
    assert ground(right, [chaoyang]).text == right


def test_a_line_that_only_cites_gives_its_markers_to_the_paragraph_above(changde: Passage) -> None:
    g = ground("常德建成了13家线下智能养老服务站点。\n- 依据资料：[1]", [changde])
    assert g.text == "常德建成了13家线下智能养老服务站点[1]。"
    assert [c.reason for c in g.checks] == ["kept", "no_content"]


def test_a_sentence_that_names_the_document_by_its_number_is_kept(bundled: Pipeline) -> None:
    # 「人社部发〔2021〕48号」 is on the citation card (the document's record), not in the span.
    target = passage_with(bundled, "新增技能人才4000万人以上")
    ok = "人社部发〔2021〕48号提出“十四五”期间要新增4000万人以上技能人才[1]。"
    assert ground(ok, [target]).text == ok


@pytest.mark.parametrize("cut", ["常德建成的线下智能养老服务站点数量是[1]。", "The number of offline smart elderly-care service sites Changde built is [1]."])
def test_a_sentence_that_stops_where_its_answer_should_begin_is_dropped(
    bundled: Pipeline, changde: Passage, cut: str
) -> None:
    g = ground(cut, [changde], bundled.similarity)
    assert g.text == "" and [c.reason for c in g.checks] == ["no_content"]
