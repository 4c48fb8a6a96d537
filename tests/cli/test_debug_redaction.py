"""``policy-qa --debug``: every library logs, and nothing personal reaches stderr."""

from __future__ import annotations

import unicodedata

from rag.pipeline import Pipeline
from rag.privacy import EMAIL, ID_CARD, MOBILE
from tests.conftest import run_cli

SECRETS = ("13812345678", "110101199003071233", "zhang@gov.cn")


def assert_no_secret(text: str) -> None:
    """None of the numbers, whatever width and spacing they were written in."""
    folded = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch not in " -\u3000")
    for secret in SECRETS:
        assert secret not in folded, secret


def test_debug_logs_of_an_answered_question_are_redacted(bundled: Pipeline) -> None:
    # Question logging on as well: the line that logs the question must carry placeholders.
    question = "常德建了多少家线下智能养老服务站点？（联系人１３８１２３４５６７８，证件110101 19900307 1233，ｚｈａｎｇ＠ｇｏｖ．ｃｎ）"
    r = run_cli(["--debug", "ask", question], bundled.settings.home, bundled.settings.cache_dir,
                POLICY_QA_LOG_QUESTIONS="true")

    assert r.returncode == 0, r.stderr
    assert "DEBUG " in r.stderr  # third-party debug logging is on …
    (logged,) = [line for line in r.stderr.splitlines() if "question: 常德建了多少家" in line]
    assert MOBILE in logged and ID_CARD in logged and EMAIL in logged
    assert_no_secret(r.stderr)  # … and holds no number


def test_debug_traceback_of_an_error_quoting_the_input_is_redacted(bundled: Pipeline) -> None:
    # --debug re-raises: Python prints the traceback, and the error message quotes the input.
    r = run_cli(["--debug", "ask", "养老服务", "--filter", "手机１３８ １２３４ ５６７８"], bundled.settings.home,
                bundled.settings.cache_dir)

    assert r.returncode == 1 and "Traceback" in r.stderr and "InputError" in r.stderr
    assert f"got '手机{MOBILE}'" in r.stderr
    assert_no_secret(r.stderr)
