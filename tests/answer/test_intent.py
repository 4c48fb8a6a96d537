"""Open questions by intent, and the list answer composed from a document's outline."""

from __future__ import annotations

import re

import pytest

from rag.answer.intent import Intent, intent_of
from rag.pipeline import Pipeline, final_answer


@pytest.mark.parametrize(
    ("question", "intent"),
    [
        ("文章提出了哪些对策建议？", Intent.MEASURES),
        ("What does the paper recommend about data privacy?", Intent.MEASURES),
        ("数字鸿沟有哪些表现？", Intent.PROBLEMS),
        ("上海在养老服务数字化方面有哪些做法？", Intent.PRACTICE),
        ("上海和深圳的数据条例分别怎么定义公共数据？", Intent.DEFINITION),
        ("为什么要推进一网通办？", Intent.EXPLANATION),
        ("商店能不能拒收现金？", Intent.YESNO),
        # A number asked is a factoid, whatever the question mentions.
        ("技能中国行动要遴选建设多少所优质技工院校？", Intent.FACTOID),
    ],
)
def test_the_intent_is_read_from_the_words_in_the_data_file(question: str, intent: Intent) -> None:
    assert intent_of(question) is intent


@pytest.mark.parametrize(
    "question",
    ["文章提出了哪些对策建议？", "文章提出了哪些對策建議？", "What recommendations does the paper make?"],
)
def test_the_recommendations_are_listed_from_the_outline_each_cited(bundled: Pipeline, question: str) -> None:
    a = final_answer(bundled.run(question))
    assert not a.refused
    # The six items under 三、政策建议, each heading cited to its own section, not the
    # abstract's 「……提出对策建议」.
    headed = [c for c in a.citations if c.quote.startswith("（")]
    assert [c.quote[:3] for c in headed] == ["（一）", "（二）", "（三）", "（四）", "（五）", "（六）"]
    assert all(c.section.startswith("三、") for c in a.citations), [c.section for c in a.citations]
    assert "提出对策建议" not in a.answer
    # Each item comes with the sentence that carries it, quoted exactly.
    doc = bundled.index.docs.document(a.citations[0].doc_id)
    assert doc is not None and len(a.citations) == 12
    assert all(doc.text[c.start:c.end] == c.quote for c in a.citations)


def test_a_list_is_given_only_when_the_question_asks_for_nothing_else(bundled: Pipeline) -> None:
    listed = final_answer(bundled.run("文章认为主要存在哪些问题？"))
    assert listed.answer.startswith("二、数字技术赋能城市公共服务的主要问题共6项")
    # A question about one point of that section gets that point, not the whole list.
    point = final_answer(bundled.run("数字技术缓解了我国基础教育的哪些问题？"))
    assert not point.refused and "基础教育资源不均衡" in point.answer and "共6项" not in point.answer


def test_a_places_practice_gathers_what_the_corpus_says_about_that_place(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("上海在养老服务数字化方面有哪些做法？"))
    assert not a.refused and a.answer.startswith("资料中上海在养老方面的做法")
    for point in ("拍家园", "杨浦区", "48项服务"):
        assert point in a.answer, point
    doc = bundled.index.docs.document(a.citations[0].doc_id)
    assert doc is not None and all(doc.text[c.start:c.end] == c.quote for c in a.citations)


def test_a_place_the_corpus_has_nothing_on_is_said_first(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("北京在教育公共服务方面做了什么？"))
    assert a.refused and a.reason is not None and a.reason["check"] == "practice"
    assert a.answer.split("\n")[0] == "资料中没有北京在教育方面的具体做法。"
    # What follows is about education elsewhere, offered as such, not as Beijing's: a
    # lead line, then cited sentences on education.
    lines = a.answer.split("\n")
    assert lines[1] == "关于教育，资料提到："
    said = [ln for ln in lines[2:] if not ln.startswith("资料库目前收录")]
    assert said and all("[" in ln for ln in said) and any("教育" in ln for ln in said)
    assert len(a.citations) == len(said)


# ---- compositions per intent -------------------------------------------------------------


def lines_of(answer: str) -> list[str]:
    return [ln for ln in answer.split("\n") if ln.strip()]


def test_a_definition_is_the_defining_clause_of_the_asked_term_not_its_neighbours(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("网络数据安全管理条例所称的“重要数据”是指哪些数据？"))
    first, clause = lines_of(a.answer)[:2]
    assert first.startswith("《网络数据安全管理条例》第六十二条")
    assert clause.startswith("（四）重要数据，是指特定领域、特定群体、特定区域")
    # The article defines eight terms; the others are not the answer.
    assert "网络数据，是指通过网络处理和产生的各种电子数据" not in a.answer


def test_a_yes_no_question_gets_the_deciding_clause_first_then_its_exception(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("用户不同意App处理个人信息，App能不能因此直接拒绝提供服务？"))
    head, deciding, exception = lines_of(a.answer)[:3]
    assert "第十六条" in head
    assert "不得以个人不同意处理其个人信息或者撤回同意为由，拒绝提供产品或者服务" in deciding
    assert "除外" in exception


def test_why_a_regulation_was_issued_is_answered_by_its_purpose_article(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("国务院出台《关于在线政务服务的若干规定》是为了什么？"))
    assert lines_of(a.answer)[1].startswith("第一条 为了全面提升政务服务规范化、便利化水平")


def test_a_comparison_of_two_places_gives_each_its_own_points(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("深圳和杭州在数字公共卫生方面的做法有什么不同？"))
    head, *rest = lines_of(a.answer)
    assert head.startswith("资料中深圳和杭州在")
    shenzhen = next(ln for ln in rest if ln.startswith("深圳："))
    hangzhou = next(ln for ln in rest if ln.startswith("杭州："))
    assert "诊所服务监管一体化平台" in shenzhen and "杭州" not in shenzhen
    assert "互联网+医疗健康" in hangzhou


def test_a_law_article_that_lists_duties_is_given_whole(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("無障礙環境建設法要求無障礙設施的所有權人或者管理人承擔哪些維護和管理責任？"))
    for item in ("（一）對損壞的無障礙設施和標識進行維修或者替換", "（二）對需改造的無障礙設施進行改造",
                 "（三）糾正佔用無障礙設施的行", "（四）進行其他必要的維護和保養"):
        assert item in a.answer, item


def test_the_rule_decides_before_its_exception(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("申请政府信息公开要交钱吗？"))
    assert not a.refused
    deciding, exception = lines_of(a.answer)[1:3]
    assert deciding.startswith("第四十二条 行政机关依申请提供政府信息，不收取费用")
    assert exception.startswith("但是，申请人申请公开政府信息的数量、频次明显超过合理范围的")


def test_two_questions_in_one_get_the_procedure_in_the_texts_order(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("向政府申请信息公开，具体怎么提交？多长时间能答复？"))
    assert lines_of(a.answer)[0].startswith("按《中华人民共和国政府信息公开条例》")
    assert "20个工作日内予以答复" in a.answer


def test_what_a_place_did_is_grouped_by_service_domain(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("深圳做了什么？"))
    head, *rest = lines_of(a.answer)
    assert head == "资料中深圳的做法，按服务领域："
    domains = [ln.split("：", 1)[0] for ln in rest]
    assert {"就业", "卫生"} <= set(domains) and "其他" not in domains
    assert "全城通办" in a.answer or "公共就业服务平台" in a.answer


def test_two_laws_compared_with_nothing_narrower_are_set_side_by_side_by_purpose(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("数据安全法和个人信息保护法有什么区别？"))
    head, dsl, pipl = lines_of(a.answer)[:3]
    assert head == "资料中这两份文件各自的立法目的："
    assert dsl.startswith("《中华人民共和国数据安全法》第一条：为了规范数据处理活动")
    assert pipl.startswith("《中华人民共和国个人信息保护法》第一条：为了保护个人信息权益")


def test_a_lead_in_that_lists_the_asked_problems_is_the_answer(bundled: Pipeline) -> None:
    # The plan states its problems in one sentence (「……面临一些问题和挑战：A；B；C；D。」),
    # under a heading that says 发展现状, not 问题.
    a = final_answer(bundled.run("十四五数字经济规划说我国数字经济发展还面临哪些问题和挑战？"))
    assert not a.refused
    body = lines_of(a.answer)[1:]
    assert body[0].startswith("与此同时，我国数字经济发展也面临一些问题和挑战")
    for item in ("关键领域创新能力不足", "数字鸿沟未有效弥合", "价值潜力还没有充分释放", "数字经济治理体系需进一步完善"):
        assert any(item in ln and "[" in ln for ln in body), item


def test_a_chapter_of_articles_is_listed_one_cited_sentence_each(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("上海市数据条例对浦东新区的数据改革做了哪些安排？"))
    head, *items = lines_of(a.answer)
    assert head == "第六章 浦东新区数据改革共7条："
    assert [ln.split("：", 1)[0] for ln in items] == [f"第{n}条" for n in ("六十五", "六十六", "六十七", "六十八", "六十九", "七十", "七十一")]
    assert "在浦东新区设立数据交易所并运营" in a.answer
    assert len(a.citations) == len(items)


def test_two_documents_are_compared_on_the_points_that_answer_each_other(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("上海和深圳的数据条例把开放的公共数据分成哪几类，有什么不一样？"))
    sh, sz = lines_of(a.answer)[:2]
    assert sh.startswith("《上海市数据条例》第四十一条") and "无条件开放、有条件开放和非开放三类" in sh
    assert sz.startswith("《深圳经济特区数据条例》第四十八条") and "无条件开放、有条件开放和不予开放三类" in sz


def test_a_yes_no_on_a_fee_is_decided_by_the_rule_that_names_the_fee(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("浙江的公共设施管理者可以向通信企业收取进场费吗？"))
    assert not a.refused
    assert lines_of(a.answer)[1].startswith("禁止收取进场费")


def test_a_place_without_practice_on_the_topic_is_told_with_other_places_practice(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("深圳在智慧养老方面有哪些做法值得借鉴？"))
    lines = lines_of(a.answer)
    assert lines[0] == "资料中没有深圳在智慧养老方面的具体做法。"
    assert lines[1] == "关于智慧养老，资料提到："
    # Other cities' practice, each cited — not a claim about 深圳.
    others = lines[2:-1]
    assert others and all(re.search(r"\[\d+\]", ln) for ln in others)
    assert any(city in ln for ln in others for city in ("上海", "杭州", "常德"))
    assert not any("深圳" in ln for ln in others)


def test_a_plan_that_defines_a_term_in_prose_is_quoted_for_it(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("十四五数字经济发展规划里“数字经济”的定义是什么？"))
    assert lines_of(a.answer)[1].startswith("数字经济是继农业经济、工业经济之后的主要经济形态")


def test_each_aspect_a_question_lists_gets_its_own_article(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("浙江省数字经济促进条例在资金、金融、税费这些方面有哪些扶持措施？"))
    assert not a.refused
    # 税费 sits in an article the search did not rank among the best; the answer still has it.
    assert "第五十一条" in a.answer and "税费" in a.answer
    assert "第五十二条" in a.answer  # 金融


def test_two_places_projects_compared_each_under_its_place(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("杭州的“智慧助餐”和上海的“拍家园”在智慧养老上的侧重点有什么不同？"))
    assert not a.refused, a.answer
    head, *rest = lines_of(a.answer)
    assert head == "资料中杭州和上海在智慧养老方面的做法分别是："
    assert rest[0].startswith("杭州：") and "智慧助餐" in rest[0]
    assert rest[1].startswith("上海：") and "拍家园" in rest[1]


def test_a_taiwan_worded_question_is_read_in_the_corpus_words() -> None:
    from rag.text.script import to_mainland, to_simplified

    q = "政府資訊公開的申請，網路平臺的演算法和軟體"
    # Plain t2s keeps Taiwan vocabulary the corpus never writes; the question is read in its words.
    assert "资讯" in to_simplified(q) and "网路" in to_simplified(q)
    assert to_mainland(q) == "政府信息公开的申请，网络平台的算法和软件"


def test_a_taiwan_worded_question_is_answered_in_traditional_from_the_same_article(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("App用演算法推薦資訊，使用者可以要求關掉嗎？"))
    assert not a.refused
    assert a.answer.startswith("《網絡數據安全管理條例》第四十二條") and "個性化推薦關閉選項" in a.answer


def test_a_quoted_phrase_is_named_not_asked() -> None:
    from rag.answer.question import QType, question_type

    # 「谁提供，谁负责」 is the principle's name: the question asks why, in one clause.
    q = "城市大脑条例为什么说公共数据质量管理遵循“谁提供，谁负责”？"
    assert question_type(q) is QType.WHY and intent_of(q) is Intent.EXPLANATION


def test_why_a_document_says_something_is_answered_from_that_article_not_its_purpose(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("杭州城市大脑条例为什么规定公共数据质量管理要遵循“谁提供，谁负责”？"))
    assert not a.refused, a.answer
    assert lines_of(a.answer)[0].startswith("《杭州城市大脑赋能城市治理促进条例》第十五条")
    # A question about the purpose itself still gets the purpose article.
    b = final_answer(bundled.run("杭州为什么要制定城市大脑赋能城市治理促进条例？"))
    assert "第一条" in lines_of(b.answer)[0]


def test_several_quoted_terms_each_get_their_own_definition(bundled: Pipeline) -> None:
    a = final_answer(bundled.run("个人信息保护法里的“去标识化”和“匿名化”分别是什么意思？"))
    head, *rest = lines_of(a.answer)
    assert head == "资料中这两个用语的界定："
    assert rest[0].startswith("“去标识化”：") and "无法识别特定自然人" in rest[0]
    assert rest[1].startswith("“匿名化”：") and "不能复原" in rest[1]
    assert len(a.citations) == 2
