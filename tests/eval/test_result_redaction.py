"""An evaluation run's results file, and what it prints, hold no personal number from the data set."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from rag.privacy import ID_CARD, MOBILE

SECRETS = ("13812345678", "110101199003071233", "13912345678")


def assert_no_secret(text: str) -> None:
    """None of the numbers, whatever width and spacing they were written in."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch not in " -\u3000")
    for secret in SECRETS:
        assert secret not in folded, secret


def squad(path: Path, paragraphs: list[tuple[str, list[tuple[str, str]]]]) -> Path:
    data = {"version": "t", "data": [{"title": "t", "paragraphs": [
        {"context": ctx, "qas": [{"id": f"q{i}-{j}", "question": q, "answers": [{"text": a, "answer_start": 0}]}
                                 for j, (q, a) in enumerate(qas)]}
        for i, (ctx, qas) in enumerate(paragraphs)]}]}
    path.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    return path


def test_questions_answers_and_passages_in_the_results_file_are_redacted(cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    # A user's question turned test item: full-width mobile, spaced ID. Its gold passage is
    # about something else (a miss), and its expected answer is in no passage (a wrong answer).
    asked = "我的手机１３８１２３４５６７８，身份证110101 19900307 1233，盐城珍禽自然保护区管理处的电话是多少？"
    wetland = [
        "盐城湿地珍禽国家级自然保护区管理处电话13912345678，保护区建于1983年。",
        "盐城珍禽自然保护区每年秋季有丹顶鹤迁来越冬，管理处设有电话咨询。",
        "盐城湿地珍禽保护区的管理处负责湿地巡护和珍禽救助。",
        "盐城的珍禽自然保护区管理处开放日接待市民参观湿地。",
        "盐城湿地的珍禽包括丹顶鹤、白鹤和东方白鹳，自然保护区管理处统计其数量。",
        "盐城珍禽保护区管理处的咨询电话在工作日接听。",
    ]
    f = squad(tmp_path / "privacy.json", [
        ("前肛鳗属于鳗鲡目，体长可达19.7公分，在100至400公尺深的海底生活。", [(asked, "二〇〇一年")]),
        *[(ctx, []) for ctx in wetland],
    ])
    out_file = tmp_path / "r.json"

    r = cli("eval", "--json", "--squad", str(f), "--answers", "--out", str(out_file))

    assert r.returncode == 0, r.stderr
    stored = out_file.read_text(encoding="utf-8")
    result = json.loads(stored)
    assert result["misses"] and result["wrong_answers"]
    redacted = f"我的手机{MOBILE}，身份证{ID_CARD}，盐城珍禽自然保护区管理处的电话是多少？"
    assert result["misses"][0]["question"] == redacted and result["wrong_answers"][0]["question"] == redacted
    assert_no_secret(stored)  # passages and answers quoting the wetland's phone number included
    assert_no_secret(r.stdout)
