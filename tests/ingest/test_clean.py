"""The cleaned corpus and the cleaning every document goes through."""

from __future__ import annotations

import re

import pytest

from rag.ingest.clean import clean_text, find_garbled, load_fixes, strip_pinyin
from rag.text.normalize import CJK
from tests.conftest import CORPUS_DOC, REPO, SHARED

REPAIRS = REPO / "corpus" / "repairs" / "digital-tech-urban-public-services.toml"
SOURCE = SHARED / "corpus-source" / "digital-tech-urban-public-services.txt"


@pytest.fixture(scope="module")
def cleaned() -> str:
    return CORPUS_DOC.read_text(encoding="utf-8")


def test_cleaned_corpus_has_no_pinyin_annotations(cleaned: str) -> None:
    assert not re.search(r"[(（][a-zü]*[āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜ][a-zü]*[)）]", cleaned)


def test_cleaned_corpus_has_no_replacement_chars_or_question_marks_in_chinese(cleaned: str) -> None:
    assert "\ufffd" not in cleaned
    assert not re.search(f"[{CJK}][?？]+[{CJK}]", cleaned)
    assert not re.search(r"\?", cleaned)  # the paper asks no questions; every '?' was damage
    assert find_garbled(cleaned) == []


def test_cleaned_corpus_is_simplified_with_chinese_punctuation(cleaned: str) -> None:
    for traditional in "數據網務會經資訊養區":
        assert traditional not in cleaned
    assert "数字技术" in cleaned and "，" in cleaned
    assert not re.search(f"[{CJK}],[{CJK}]", cleaned)


def test_repaired_spans_read_as_their_context(cleaned: str) -> None:
    assert "“直播带岗”是近年来新兴的人力资源招聘模式" in cleaned
    assert "“直播带岗”打破了线下招聘会的地域局限" in cleaned
    assert "占全年就业总人数的24.6%" in cleaned
    assert "（三）培育多中心城市公共服务主体" in cleaned
    assert "\n加强公务员数字技术培训" in cleaned  # the broken heading of 三（二） is whole again


def test_publisher_advertisement_is_not_part_of_the_paper(cleaned: str) -> None:
    assert "官方微信" not in cleaned and "国脉" not in cleaned
    assert cleaned.rstrip().endswith("提升专业化、市场化服务水平。")


def test_every_repair_is_reviewed_and_matches_the_source() -> None:
    fixes = load_fixes(REPAIRS)
    assert len(fixes.repairs) >= 13
    for r in fixes.repairs:
        assert r.confidence in {"high", "low"} and r.note
        if r.confidence == "low":
            assert "〔存疑：" in r.repaired  # uncertain readings are marked, not guessed silently
    if SOURCE.exists():
        raw = SOURCE.read_text(encoding="utf-8")
        assert all(r.garbled in raw for r in fixes.repairs)


@pytest.mark.skipif(not SOURCE.exists(), reason="../shared/corpus-source is not beside the checkout")
def test_committed_corpus_is_exactly_what_cleaning_the_source_gives(cleaned: str) -> None:
    assert clean_text(SOURCE.read_text(encoding="utf-8"), load_fixes(REPAIRS)) == cleaned


def test_cleaning_is_idempotent(cleaned: str) -> None:
    assert clean_text(cleaned) == cleaned


def test_pinyin_removal_keeps_real_parentheses() -> None:
    assert strip_pinyin("數(shù)字") == "數字"
    assert strip_pinyin("合作(PPP)") == "合作(PPP)"
    assert strip_pinyin("方案(2021—2023)") == "方案(2021—2023)"


def test_user_documents_get_the_same_canonical_form() -> None:
    text = clean_text("臺灣的數(shù)據：ＡＢＣ１２３,測試(一)項目\r\n\r\n\r\n下一段")
    assert text == "台湾的数据：ABC123，测试（一）项目\n\n下一段\n"
