"""Open questions by intent, and the list answer composed from a document's outline."""

from __future__ import annotations

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
    # What follows is about education elsewhere, offered as such, not as Beijing's.
    second = a.answer.split("\n")[1]
    assert second.startswith("资料只提到") and "教育" in second
