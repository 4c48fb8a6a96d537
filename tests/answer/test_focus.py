"""The focus of a question: what it asks about, apart from where and when."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from rag.answer.focus import places_asked
from rag.pipeline import Pipeline


@pytest.mark.parametrize(
    ("question", "places"),
    [
        ("沅陵县建成了多少个村级综合服务站？", ["沅陵县"]),
        ("上海杨浦区的数字养老院", ["上海", "杨浦"]),
        ("浦东新区有没有数据交易所", ["浦东"]),  # a known place by its own name
        ("临港新区有没有数据交易所", ["临港新区"]),
        ("湖南省湘西州泸溪县的做法", ["湖南", "泸溪县"]),
        ("本市各区县的公共数据", []),  # 本市 and 各区 are no places
        ("在苏格兰地区有什么作用", []),  # ends in 地区, not a district named 兰地
        ("城区和郊区的小区门禁", []),
        ("为什么家长要抢学区房？", []),  # ends in the word 学区: nobody lives in 抢学区
        ("在线办理能节省多少时间？", []),
    ],
)
def test_places_at_every_level(question: str, places: list[str]) -> None:
    assert places_asked(question) == places


def test_the_focus_is_what_is_asked_not_the_place(bundled: Pipeline) -> None:
    f = bundled.extractive.focus.read("上海的房价是多少？")
    assert f.places == ("上海",) and list(f.terms) == ["房价"] and f.absent == ("房价",)
    # 「健康码」 is a corpus word; the asker's role is part of what is asked.
    g = bundled.extractive.focus.read("我是社区工作者，怎么帮老人用健康码？")
    assert "健康码" in g.terms and g.role and g.helping and not g.absent
    # A kind of information the answer must state.
    assert bundled.extractive.focus.read("常德智能养老服务站的联系电话是多少？").head == "联系电话"
    # A name jieba does not know stays one word (and is absent from the corpus).
    assert bundled.extractive.focus.read("耶律乞奴被谁所杀？").absent == ("耶律乞奴",)
    # 城市长远发展 has the characters of 市长, not the word.
    assert not bundled.extractive.focus.used("市长")


def test_the_kind_asked_is_read_from_whole_words(bundled: Pipeline) -> None:
    # 营业厅 is a place to serve people at, it does not ask for 营业 hours.
    assert bundled.extractive.focus.read("供电营业厅要给残疾人设置什么样的服务台？").head == ""
    # 「……怎么办？」 asks what to do, not how a thing is 办理.
    assert bundled.extractive.focus.read("老人不会用手机预约怎么办？").head == ""
    assert bundled.extractive.focus.read("社保卡怎么办理？").head == "办理"
    # Two kinds asked at once: the 补贴, and how to 申请 it.
    f = bundled.extractive.focus.read("家里装无障碍扶手的补贴怎么申请？")
    assert (f.head, f.also) == ("补贴", ("申请",))
    # A post is asked for only by a who-question: 「作者认为……」 asks what the paper says.
    assert bundled.extractive.focus.read("这篇文章的作者是谁？").head == "作者"
    assert bundled.extractive.focus.read("作者认为数字鸿沟的原因是什么？").head == ""
    # 「谁写的」 asks for the author in other words.
    assert bundled.extractive.focus.read("这篇文章是谁写的？").head == "作者"
    # Of two kinds named, the later heads the phrase: 「热线的号码」 asks the 号码.
    assert bundled.extractive.focus.read("政务服务便民热线的号码是多少？").head == "号码"


def test_the_head_does_not_depend_on_the_process() -> None:
    # The same question must get the same decision in every worker: the kinds' order
    # may not come from hashing.
    code = "from rag.answer.focus import _lists; print('|'.join(_lists()[2]))"
    outs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={**os.environ, "PYTHONHASHSEED": seed}).stdout for seed in ("1", "2", "3")}
    assert len(outs) == 1


def test_a_new_compound_of_corpus_words_is_not_absent(bundled: Pipeline) -> None:
    f = bundled.extractive.focus.read("主管部门做网络数据安全检查要收检查费吗？")
    assert "检查费" not in f.absent
