"""The official structure of a text: units, section paths and the locators officials cite."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from rag.ingest.chunk import chunk_document
from rag.ingest.clean import clean_text
from rag.text.numerals import cn_to_int, int_to_cn
from rag.text.outline import structure

CORPUS = Path(__file__).resolve().parents[2] / "corpus" / "documents"

LAW = """中华人民共和国示例法
第一章 总 则
第一条 为了规范示例活动，制定本法。
第二条 符合下列情形之一的，处理者方可处理：
（一）取得个人的同意；
（二）为履行法定职责所必需；
前款第二项规定的情形，不需取得个人同意。
第二章 附 则
第三条 本法自2021年1月1日起施行。
"""

PLAN = """关于示例工作的实施方案
一、总体要求
（一）指导思想。
坚持以人民为中心。
（二）基本原则。
——坚持传统服务与智能创新相结合。必须保留老年人熟悉的传统服务方式。
——坚持线上服务与线下渠道相结合。线上服务更加突出人性化。
二、重点任务
（一）便利老年人日常消费。
10．保留传统金融服务方式。任何单位和个人不得拒收现金。
11．提升网络消费便利化水平。完善金融科技标准规则体系。
附录：技术术语解释
（一）数据流通利用技术
1.隐私保护计算
隐私保护计算指在保证数据提供方不泄露原始数据的前提下进行计算。
"""


def _at(text: str, needle: str) -> int:
    at = text.find(needle)
    assert at >= 0, needle
    return at


@pytest.mark.parametrize(("cn", "n"), [("二十一", 21), ("一百零五", 105), ("十", 10), ("一千零三十四", 1034), ("31", 31)])
def test_chinese_article_numbers_round_trip(cn: str, n: int) -> None:
    assert cn_to_int(cn) == n
    if not cn.isdigit():
        assert int_to_cn(n) == cn


def test_law_articles_paragraphs_and_items_are_located_as_lawyers_cite_them() -> None:
    s = structure(LAW)
    assert s.has_articles and s.article_numbers() == [1, 2, 3]
    assert s.locator(LAW, _at(LAW, "为了规范")) == "第一条"
    assert s.locator(LAW, _at(LAW, "（二）为履行")) == "第二条第一款第（二）项"
    assert s.locator(LAW, _at(LAW, "前款第二项")) == "第二条第二款"
    assert s.locator(LAW, _at(LAW, "前款第二项"), detail=False) == "第二条"
    # Enumerations inside an article never become headings of their own.
    assert s.section(s.block_at(_at(LAW, "（一）取得"))) == "第一章 总 则 > 第二条"
    assert s.section(s.block_at(_at(LAW, "本法自"))) == "第二章 附 则 > 第三条"


def test_policy_headings_items_and_lead_lines_nest() -> None:
    s = structure(PLAN)
    assert s.locator(PLAN, _at(PLAN, "任何单位和个人")) == "二、（一）10．"
    assert s.section(s.block_at(_at(PLAN, "任何单位和个人"))) == "二、重点任务 > （一）便利老年人日常消费 > 10．保留传统金融服务方式"
    # A numbered line ending in 。 that is one short phrase is a heading.
    assert s.section(s.block_at(_at(PLAN, "坚持以人民"))) == "一、总体要求 > （一）指导思想"
    # Lead lines name their paragraph; the locator stays with the numbered units.
    assert s.section(s.block_at(_at(PLAN, "必须保留"))) == "一、总体要求 > （二）基本原则 > 坚持传统服务与智能创新相结合"
    assert s.locator(PLAN, _at(PLAN, "必须保留")) == "一、（二）"
    # An appendix sits above the body's own numbering.
    assert s.section(s.block_at(_at(PLAN, "隐私保护计算指"))) == "附录：技术术语解释 > （一）数据流通利用技术 > 1.隐私保护计算"


def test_every_title_offset_is_exact() -> None:
    for text in (LAW, PLAN):
        for n in structure(text).nodes:
            assert text[n.title_start : n.title_end] == n.title


def test_a_split_article_keeps_its_number_in_every_piece() -> None:
    text = "第一章 总则\n第一条 " + "".join(f"第{i}句规定了一项比较长的义务内容。" for i in range(60)) + "\n第二条 短条文。\n"
    chunks = chunk_document("law", text, max_tokens=120)
    first = [c for c in chunks if c.section.endswith("第一条")]
    assert len(first) > 2
    assert all(c.section == "第一章 总则 > 第一条" for c in first)
    assert [c.section for c in chunks if "短条文" in c.text] == ["第一章 总则 > 第二条"]


def test_articles_of_the_bundled_laws_are_whole_units() -> None:
    text = clean_text((CORPUS / "geren-xinxi-baohu-fa-2021.txt").read_text(encoding="utf-8"))
    s = structure(text)
    assert s.article_numbers() == list(range(1, 75))  # 74 articles, in order
    chunks = chunk_document("pipl", text)
    # No chunk holds parts of two articles, and every chunk names the article it is in.
    for c in chunks:
        opened = re.findall(r"(?m)^第[一二三四五六七八九十百零]+条", c.text)
        assert len(opened) <= 1, c.text[:80]
        if opened:
            assert c.section.endswith(opened[0])
    minors = next(c for c in chunks if "不满十四周岁" in c.text and c.section.endswith("第三十一条"))
    assert minors.section == "第二章 个人信息处理规则 > 第二节 敏感个人信息的处理规则 > 第三十一条"
