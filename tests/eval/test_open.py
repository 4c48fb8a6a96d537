"""The open-question rubric: what counts as a point stated, and as a point supported."""

from __future__ import annotations

from eval.open import OPEN, OpenItem, Point, load_open, score

ITEM = OpenItem("x", "dev", "practice", "zh-Hans", "株洲在智慧养老方面有什么经验？", (
    Point("says none", ("没有",), first=True),
    Point("株洲's employment practice", ("网络直播招聘",)),
    Point("where elderly care cases come from", ("上海、杭州、常德",)),
))


def answer(text: str, quotes: dict[int, str], refused: bool = False) -> dict:
    return {"answer": text, "refused": refused, "citations": [{"n": n, "quote": q} for n, q in quotes.items()]}


def test_a_point_counts_when_stated_and_is_supported_only_by_a_citation_that_quotes_it() -> None:
    r = score(ITEM, answer("资料中没有株洲在养老方面的具体做法。\n株洲开展了网络直播招聘[1]。\n上海、杭州、常德走在前列。",
                           {1: "株洲市开展网络直播招聘活动"}))
    assert r["recall"] == 1.0
    assert r["cited"] == 0.5  # the third point has no [n] on its line
    assert r["missed"] == []


def test_the_not_covered_point_counts_only_in_the_first_line() -> None:
    r = score(ITEM, answer("株洲开展了网络直播招聘[1]。\n其他城市没有。", {1: "网络直播招聘"}))
    assert r["missed"] == ["says none", "where elderly care cases come from"]
    assert round(r["recall"], 3) == 0.333


def test_a_traditional_answer_states_a_simplified_point() -> None:
    r = score(ITEM, answer("資料中沒有。\n株洲開展了網絡直播招聘[1]。", {1: "株洲开展网络直播招聘"}))
    assert r["recall"] > 0.6 and r["cited"] == 1.0


def test_the_set_is_split_and_covers_every_intent_in_three_languages() -> None:
    items = load_open(path=OPEN)
    assert len(items) >= 60
    for half in ("dev", "test"):
        mine = [i for i in items if i.split == half]
        assert {i.intent for i in mine} >= {"measures", "problems", "practice", "comparison", "definition",
                                           "explanation", "procedure", "yesno"}
        assert {i.lang for i in mine} == {"zh-Hans", "zh-Hant", "en"}
