"""Chunks follow the document's structure and point exactly into its text."""

from __future__ import annotations

from rag.ingest.chunk import chunk_document
from rag.text.outline import heading_of
from rag.text.tokens import count_tokens
from tests.conftest import CORPUS_DOC

POLICY = """# 关于推进数字养老的通知

第一章 总则
第一条 为推进数字养老服务，制定本办法。
第二条 本办法适用于全市养老服务机构。
第二章 服务内容
一、智能设备
（一）居家安防
1.安装烟感报警器
各街道应为空巢老人家庭安装烟感报警器。报警信息实时推送至社区服务站。
（二）健康监测
开展健康监测服务。
"""


def test_heading_levels_nest_into_paths() -> None:
    chunks = chunk_document("policy", POLICY, max_tokens=200)
    sections = {c.text.split("。")[0]: c.section for c in chunks}
    assert sections["第一条 为推进数字养老服务，制定本办法"] == "关于推进数字养老的通知 > 第一章 总则 > 第一条"
    assert sections["第二条 本办法适用于全市养老服务机构"] == "关于推进数字养老的通知 > 第一章 总则 > 第二条"
    assert sections["各街道应为空巢老人家庭安装烟感报警器"] == (
        "关于推进数字养老的通知 > 第二章 服务内容 > 一、智能设备 > （一）居家安防 > 1.安装烟感报警器"
    )
    assert sections["开展健康监测服务"] == "关于推进数字养老的通知 > 第二章 服务内容 > 一、智能设备 > （二）健康监测"


def test_long_sentences_are_not_headings() -> None:
    assert heading_of("一、数字技术赋能我国城市公共服务的实践与成效") is not None
    assert heading_of("1.数字技术有效提升了供需匹配质量") is not None
    assert heading_of("2018年，我国数字经济领域就业岗位达到1.91亿个。") is None
    assert heading_of("一、首先，这是一段很长的正文，它说明了很多事情。然后又说了别的事情，并不是标题。") is None


def test_every_chunk_is_an_exact_slice_within_budget() -> None:
    text = CORPUS_DOC.read_text(encoding="utf-8")
    chunks = chunk_document("paper", text, max_tokens=200, overlap_sentences=1)
    assert len(chunks) > 20
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert not c.text.startswith(("一、", "（一）"))  # headings live in the section path
    # Only a single sentence longer than the budget may exceed it.
    assert all(count_tokens(c.text) <= 200 or "。" not in c.text.rstrip("。") for c in chunks)


def test_paper_sections_follow_its_outline() -> None:
    text = CORPUS_DOC.read_text(encoding="utf-8")
    chunks = chunk_document("paper", text)
    chunk = next(c for c in chunks if "13家线下智能养老服务站点" in c.text)
    assert chunk.section == "一、数字技术赋能我国城市公共服务的实践与成效 > （四）数字技术赋能养老公共服务"
    gap = next(c for c in chunks if "第四大差别" in c.text)
    assert gap.section.startswith("二、数字技术赋能城市公共服务的主要问题 > （四）")


def test_overlap_repeats_the_last_sentence_of_a_long_section() -> None:
    text = "一、测试\n" + "".join(f"这是第{i}句比较长的内容，用来测试切分的时候是否会重复上一句。" for i in range(40)) + "\n"
    chunks = chunk_document("t", text, max_tokens=120, overlap_sentences=1)
    assert len(chunks) > 2
    for a, b in zip(chunks, chunks[1:]):
        last_sentence = a.text[a.text.rstrip("。").rfind("。") + 1 :]
        assert b.text.startswith(last_sentence)
        assert b.start < a.end  # the windows overlap by that sentence


def test_ids_are_deterministic_and_change_with_content() -> None:
    a = chunk_document("d", POLICY)
    b = chunk_document("d", POLICY)
    assert [c.chunk_id for c in a] == [c.chunk_id for c in b]
    c = chunk_document("d", POLICY.replace("烟感报警器", "燃气报警器"))
    assert {x.chunk_id for x in a} != {x.chunk_id for x in c}
    assert len({x.chunk_id for x in a}) == len(a)
