"""Questions officials ask about the official documents: by name, 文号 and article, across
documents, and about documents the corpus does not hold."""

from __future__ import annotations

import pytest

from rag.pipeline import Pipeline, final_answer
from rag.retrieve import Filters
from rag.types import Answer

PIPL = "geren-xinxi-baohu-fa-2021"


def ask(pipe: Pipeline, question: str) -> Answer:
    return final_answer(pipe.run(question))


def exact(pipe: Pipeline, answer: Answer) -> None:
    for c in answer.citations:
        doc = pipe.index.docs.document(c.doc_id)
        assert doc is not None and doc.text[c.start : c.end] == c.quote


def test_minors_need_their_guardians_consent_cited_to_article_31(bundled: Pipeline) -> None:
    a = ask(bundled, "处理不满十四周岁未成年人个人信息需要谁同意？")
    assert not a.refused and a.direct == "父母或者其他监护人"
    first = a.citations[0]
    assert first.doc_id == PIPL and first.locator.startswith("《中华人民共和国个人信息保护法》第三十一条")
    assert first.legal_level == "法律"
    exact(bundled, a)


def test_a_named_article_is_retrieved_first_and_answered_whole(bundled: Pipeline) -> None:
    passages = bundled.retrieve("数据安全法第二十一条", Filters())
    assert passages[0].locator == "《中华人民共和国数据安全法》第二十一条"
    a = ask(bundled, "数据安全法第二十一条")
    assert a.answer.startswith("《中华人民共和国数据安全法》第二十一条[1]：")
    assert "数据分类分级保护制度" in a.answer and all(c.doc_id == "shuju-anquan-fa-2021" for c in a.citations)
    exact(bundled, a)


def test_a_doc_number_scopes_the_search_to_its_document(bundled: Pipeline) -> None:
    (first, *_) = bundled.retrieve("国办发〔2020〕45号的工作目标", Filters())
    assert first.doc_id == "laonianren-zhineng-jishu-kunnan-2020" and first.section.endswith("（三）工作目标")
    assert first.locator == "国办发〔2020〕45号 一、（三）"


def test_a_document_the_corpus_lacks_is_refused_saying_what_it_holds(bundled: Pipeline) -> None:
    a = ask(bundled, "国发〔2022〕14号提出了哪些目标？")
    assert a.refused and not a.citations
    assert "资料库中没有国发〔2022〕14号" in a.answer
    assert "资料库目前收录：18份文件" in a.answer and "国务院文件2份" in a.answer
    b = ask(bundled, "《广州市数据条例》怎么规定公共数据开放？")
    assert b.refused and "《广州市数据条例》" in b.answer and "《上海市数据条例》" in b.answer


def test_an_article_beyond_the_last_one_is_refused(bundled: Pipeline) -> None:
    a = ask(bundled, "个人信息保护法第八十条规定了什么？")
    assert a.refused and "第八十条" in a.answer and "共七十四条" in a.answer


def test_a_question_two_documents_answer_cites_both(bundled: Pipeline) -> None:
    a = ask(bundled, "上海和深圳的数据条例分别怎么定义公共数据？")
    assert not a.refused
    assert {c.doc_id for c in a.citations} == {"shanghai-shuju-tiaoli-2021", "shenzhen-shuju-tiaoli-2021"}
    assert all("公共数据，是指" in c.quote and "第二条" in c.locator for c in a.citations)
    exact(bundled, a)
    # The top k is shared between the two documents, not taken by one.
    top = bundled.retrieve("上海和深圳的数据条例分别怎么定义公共数据？", Filters())
    assert {p.doc_id for p in top[:2]} == {"shanghai-shuju-tiaoli-2021", "shenzhen-shuju-tiaoli-2021"}


def test_which_document_is_answered_with_its_name_and_article(bundled: Pipeline) -> None:
    a = ask(bundled, "哪部法律规定提供智能化公共服务应当充分考虑老年人、残疾人的需求？")
    assert a.direct == "《中华人民共和国数据安全法》第十五条"


def test_a_doc_number_question_quotes_the_line_that_states_it(bundled: Pipeline) -> None:
    a = ask(bundled, "《关于切实解决老年人运用智能技术困难的实施方案》的文号是什么？")
    assert a.direct == "国办发〔2020〕45号" and a.citations[0].quote == "国办发〔2020〕45号"
    exact(bundled, a)


def test_citation_cards_carry_the_documents_caveats(bundled: Pipeline) -> None:
    a = ask(bundled, "杭州城市大脑条例第三条怎么定义城市大脑？")
    assert not a.refused and "第十八条" in a.citations[0].notice
    b = ask(bundled, "网络安全法第二十一条要求网络日志留存多久？")
    assert not b.refused and b.citations[0].status == "已修订" and "2025年10月28日" in b.citations[0].notice


def test_part_covered_questions_say_which_part_is_missing(bundled: Pipeline) -> None:
    a = ask(bundled, "民法典和个人信息保护法分别怎么定义个人信息？")
    assert not a.refused and a.answer.startswith("资料库中没有《民法典》")
    assert any(c.doc_id == PIPL for c in a.citations)


@pytest.mark.parametrize(
    ("filters", "check"),
    [
        ({"legal_level": "地方性法规"}, lambda p: p.meta["legal_level"] == "地方性法规"),
        ({"status": "已修订"}, lambda p: p.doc_id == "wangluo-anquan-fa-2016"),
        ({"kind": "law", "date_from": "2021"}, lambda p: p.meta["kind"] == "law" and p.meta["date"] >= "2021"),
        # Every article of a city's own regulation is about that city, though it says 本市.
        ({"city": "上海"}, lambda p: p.doc_id.startswith("shanghai-") or "上海" in p.section + p.text),
    ],
)
def test_filters_on_the_larger_corpus(bundled: Pipeline, filters: dict, check) -> None:  # type: ignore[no-untyped-def]
    passages = bundled.retrieve("数据处理者应当履行哪些安全保护义务", Filters.parse(filters))
    assert passages and all(check(p) for p in passages)


def test_shanghai_filter_reaches_articles_that_say_only_ben_shi(bundled: Pipeline) -> None:
    passages = bundled.retrieve("公共数据共享", Filters.parse({"city": "上海", "kind": "law"}))
    assert passages and any("上海" not in p.text for p in passages)


@pytest.mark.parametrize(
    ("question", "direct"),
    [
        # A fine is a range: its lower bound alone would understate it tenfold.
        ("公安机关依法调取数据，企业拒不配合的，按数据安全法罚多少？", "五万元以上五十万元以下"),
        ("违反个人信息保护法情节严重的，最多能罚多少？", "五千万元以下或者上一年度营业额百分之五以下"),
        # 「哪个部门」 asks for the body that acts, not the ones it works with.
        ("北京的应用场景开放清单是哪个部门定期发布？", "市科技部门"),
        ("浙江全省的数字经济发展工作由哪个部门负责推进？", "省经济和信息化主管部门"),
        ("军事数据的安全保护办法由谁来定？", "中央军事委员会"),
    ],
)
def test_the_direct_answer_is_the_whole_amount_or_body(bundled: Pipeline, question: str, direct: str) -> None:
    a = ask(bundled, question)
    assert not a.refused and a.direct == direct, (a.direct, a.status)


@pytest.mark.parametrize(
    ("question", "direct", "quoted"),
    [
        # When a named document took effect: its closing article, whatever verb is used.
        ("上海市数据条例什么时候开始实施？", "2022年1月1日", "本条例自2022年1月1日起施行"),
        ("网络安全法（2016年版）是从哪天起施行的？", "2017年6月1日", "本法自2017年6月1日起施行"),
        # When it was adopted or issued: its head line, or the sign-off under the issuer.
        ("杭州城市大脑赋能城市治理促进条例是哪天通过的？", "2020年10月27日", "会议通过"),
        ("45号文是哪一天发的？", "2020年11月15日", "国务院办公厅"),
        # Named by its number and described by its title's words as well.
        ("國辦發〔2020〕45號那個老年人智能技術方案是哪天印發的？", "2020年11月15日", "国务院办公厅"),
    ],
)
def test_a_named_documents_dates_come_from_its_own_text(bundled: Pipeline, question: str, direct: str,
                                                        quoted: str) -> None:
    a = ask(bundled, question)
    assert not a.refused and a.direct == direct, (a.direct, a.status)
    assert quoted in a.citations[0].quote
    exact(bundled, a)


def test_a_document_asked_for_by_its_number_is_named_from_its_own_first_line(bundled: Pipeline) -> None:
    a = ask(bundled, "国发〔2021〕29号是个什么文件？")
    assert a.direct == "《国务院关于印发“十四五”数字经济发展规划的通知》"
    assert a.citations[0].quote == "国务院关于印发“十四五”数字经济发展规划的通知"
    exact(bundled, a)
