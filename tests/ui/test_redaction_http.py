"""Personal data typed into the real HTTP API, read back from what the server stores and logs."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
import unicodedata
from pathlib import Path

import httpx

from rag.privacy import BANK_CARD, EMAIL, ID_CARD, MOBILE
from tests.conftest import REPO
from tests.ui.conftest import LiveServer, free_port

# As users type them: a full-width mobile (Chinese IME), a spaced ID with a valid check
# digit, a card in groups, a full-width mailbox.
MOBILE_FW = "１３８１２３４５６７８"
ID_SPACED = "110101 19900307 1233"
CARD_GROUPED = "6222 0212 3456 7890 128"
EMAIL_FW = "ｚｈａｎｇ＠ｇｏｖ．ｃｎ"
SECRETS = ("13812345678", "110101199003071233", "6222021234567890128", "zhang@gov.cn")


def assert_no_secret(text: str) -> None:
    """None of the numbers, whatever width and spacing they were written in."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch not in " -\u3000")
    for secret in SECRETS:
        assert secret not in folded, secret


def test_full_width_and_spaced_numbers_are_stored_redacted(api_server: LiveServer) -> None:
    question = f"我的手机{MOBILE_FW}，身份证{ID_SPACED}，能领2021年12月起的养老补贴吗？"
    answer = "常德市建立了13家线下智能养老服务站点，为3万多老人提供服务（国办发〔2020〕45号）。"
    comment = f"退款请打到卡号 {CARD_GROUPED}，或发邮件 {EMAIL_FW}。拨打12345也行。"
    citations = [{"n": 1, "quote": f"联系电话{MOBILE_FW}", "title": "常德"}]
    with api_server.client() as c:
        r = c.post("/api/feedback", json={"question": question, "answer": answer, "rating": "down",
                                          "comment": comment, "citations": citations, "mode": "extractive"})
    assert r.status_code == 200, r.text

    db = sqlite3.connect(api_server.app.state.server.settings.home / "feedback.sqlite")
    try:
        row = db.execute("SELECT question, answer, comment, citations FROM feedback WHERE id=?",
                         (r.json()["id"],)).fetchone()
    finally:
        db.close()
    assert_no_secret(" ".join(row))
    # Exactly the personal characters are replaced; the policy numbers stay as written.
    assert row[0] == f"我的手机{MOBILE}，身份证{ID_CARD}，能领2021年12月起的养老补贴吗？"
    assert row[1] == answer
    assert row[2] == f"退款请打到卡号 {BANK_CARD}，或发邮件 {EMAIL}。拨打12345也行。"
    assert f"联系电话{MOBILE}" in row[3]


def test_served_by_policy_qa_the_access_log_holds_no_number(tmp_path: Path, cache_dir: Path) -> None:
    """``policy-qa serve`` as deployed: uvicorn's own access log, configured inside
    uvicorn.run after the CLI set logging up, prints the request line redacted."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    env.update({"POLICY_QA_HOME": str(tmp_path / "home"), "POLICY_QA_CACHE_DIR": str(cache_dir),
                "PYTHONUNBUFFERED": "1"})
    proc = subprocess.Popen([sys.executable, "-m", "cli", "serve", "--port", str(port)], env=env, cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 120
        while True:  # /healthz answers at once, while the first index build runs
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz?tel=13812345678&id=110101199003071233", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline, "server did not start"
                time.sleep(0.3)
        assert r.status_code == 200
    finally:
        proc.terminate()
        out, _ = proc.communicate(timeout=60)
    assert "GET /healthz?tel=" in out  # the access line is there …
    assert f"tel={MOBILE}&id={ID_CARD}" in out  # … redacted
    assert_no_secret(out)
