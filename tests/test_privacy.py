"""Redaction: personal numbers and e-mails go — full-width, grouped, in logs — the numbers of policy text stay."""

from __future__ import annotations

import io
import logging
import subprocess
import sys
import textwrap

import pytest

from rag.privacy import BANK_CARD, EMAIL, ID_CARD, MOBILE, RedactingFilter, redact, redact_values
from tests.conftest import REPO

# Valid check digits, computed independently (GB 11643 weights, Luhn).
ID18 = "430702198503151239"
ID18_X = "11010519491231002X"
ID15 = "430702850315123"
CARD19 = "6222021234567890128"
CARD16 = "6217000000000006"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"我的身份证号是{ID18}，请帮我查询。", f"我的身份证号是{ID_CARD}，请帮我查询。"),
        (f"证件号：{ID18_X}", f"证件号：{ID_CARD}"),
        (f"证件号：{ID18_X.lower()}", f"证件号：{ID_CARD}"),
        (f"老身份证{ID15}还能用吗", f"老身份证{ID_CARD}还能用吗"),
        ("手机13812345678", f"手机{MOBILE}"),
        ("电话 +86 138-1234-5678 找我", f"电话 {MOBILE} 找我"),
        ("电话+8613912345678", f"电话{MOBILE}"),
        ("拨打 139 1234 5678。", f"拨打 {MOBILE}。"),
        (f"卡号{CARD19}", f"卡号{BANK_CARD}"),
        ("卡号 6217 0000 0000 0006 谢谢", f"卡号 {BANK_CARD} 谢谢"),
        (f"卡号{CARD16}", f"卡号{BANK_CARD}"),
        ("邮箱zhang.san@gov.cn，或 li-si+qa@mail.example.com", f"邮箱{EMAIL}，或 {EMAIL}"),
        ("13812345678@qq.com", EMAIL),
    ],
)
def test_personal_data_is_replaced_by_labelled_placeholders(text: str, expected: str) -> None:
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "常德建了13家线下智能养老服务站点。",
        "培训2000多名老年人使用智能手机。",
        "全国网民规模达10.67亿，其中60岁以上1.91亿个。",
        "2021年12月印发《“十四五”国家信息化规划》。",
        "国办发〔2022〕14号",
        "统计口径为2019-2023年，共120456份问卷。",
        "电话区号0736，邮编415000。",
        # Wrong check digit / impossible date / not Luhn-valid: not personal numbers.
        "编号430702198503151238",
        "编号430702198513151239",
        "订单号6222021234567890123",
        # 12 digits is no mobile number; 1 followed by 2 is no mobile prefix.
        "流水号138123456789",
        "序号12812345678",
        "",
    ],
)
def test_ordinary_numbers_are_left_alone(text: str) -> None:
    assert redact(text) == text


def test_several_kinds_in_one_comment() -> None:
    out = redact(f"我叫张三，身份证{ID18}，手机13812345678，卡{CARD19}，邮箱a@b.cn。常德有13家站点。")

    assert out == f"我叫张三，身份证{ID_CARD}，手机{MOBILE}，卡{BANK_CARD}，邮箱{EMAIL}。常德有13家站点。"


# ---- as people actually type them: full-width, grouped, invisible gaps --------------------

# 110101 19900307 123 + check digit 3 (GB 11643), the spaced ID of the issue.
ID18_SPACED = "110101 19900307 1233"


def full_width(text: str) -> str:
    """``text`` as a Chinese IME in full-width mode types it."""
    return "".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else "\u3000" if c == " " else c for c in text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("手机１３８１２３４５６７８，谢谢", f"手机{MOBILE}，谢谢"),
        ("电话：＋８６　１３９－１２３４－５６７８。", f"电话：{MOBILE}。"),
        (f"身份证号 {ID18_SPACED} 请核对", f"身份证号 {ID_CARD} 请核对"),
        (f"身份证号{full_width(ID18_SPACED)}", f"身份证号{ID_CARD}"),
        ("证件 110105 19491231 002x 号", f"证件 {ID_CARD} 号"),
        ("证件 1101 0519 4912 3100 2X", f"证件 {ID_CARD}"),
        (f"身份证{full_width(ID18)}。", f"身份证{ID_CARD}。"),
        (f"老证{full_width(ID15)}", f"老证{ID_CARD}"),
        ("老证 430702 850315 123 ", f"老证 {ID_CARD} "),
        (f"卡号{full_width('6222 0212 3456 7890 128')}", f"卡号{BANK_CARD}"),
        ("卡号 622202-1234567890128", f"卡号 {BANK_CARD}"),
        ("邮箱ｚｈａｎｇ．ｓａｎ＠ｇｏｖ．ｃｎ。", f"邮箱{EMAIL}。"),
        ("邮箱zhang＠163．com或li@163。com", f"邮箱{EMAIL}或{EMAIL}"),
        ("手机138\u200b1234\u200b5678", f"手机{MOBILE}"),
        ("手机 138 - 1234 - 5678 或 0736 13912345678", f"手机 {MOBILE} 或 0736 {MOBILE}"),
    ],
)
def test_full_width_and_grouped_numbers_are_redacted(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_only_the_personal_characters_are_replaced() -> None:
    # Full-width digits and the gaps between groups go with the number; the full-width
    # punctuation, the spaces around it and every other character stay as written.
    text = f"您好！我是张三（电话：１３８　１２３４　５６７８），证件号 {ID18_SPACED}，邮箱 ａ＠ｂ．ｃｎ 。２０２１年１２月到常德。"
    assert redact(text) == f"您好！我是张三（电话：{MOBILE}），证件号 {ID_CARD}，邮箱 {EMAIL} 。２０２１年１２月到常德。"


@pytest.mark.parametrize(
    "text",
    [
        "培训２０００多名老年人，网民１．９１亿个。",
        "２０２１年１２月２８日印发，常德建了１３家站点。",
        "国办发〔2020〕45号、国办发〔２０２０〕４５号",
        "拨打12345政务服务便民热线，或１２３４５。",
        "投入资金1,234,567.89元，约5000万元；人均2000元。",
        "2021-12-28至2023-06-30，20211228—20230630",
        "年份：2017 2018 2019 2020 2021",
        "统一社会信用代码11100000000013127D",
        "ISBN 978-7-5097-1234-5，电话0736-7788123，400-810-8888",
        "第1 2 3 4 5 6 7 8 9 10 11 12条",
        "编号 430702 19850315 1238",  # spaced, wrong check digit
        "序号 138123 45678 9",  # a 12-digit run in groups is no mobile number
    ],
)
def test_ordinary_numbers_stay_whatever_their_width_or_spacing(text: str) -> None:
    assert redact(text) == text


def test_redact_values_reaches_every_string_of_a_json_like_value() -> None:
    value = {"rows": [{"question": "手机１３８１２３４５６７８", "n": 13, "ok": True}], "13812345678": None}
    assert redact_values(value) == {"rows": [{"question": f"手机{MOBILE}", "n": 13, "ok": True}], MOBILE: None}


# ---- logging ---------------------------------------------------------------------------------


def capture(name: str, formatter: logging.Formatter | None = None) -> tuple[logging.Logger, io.StringIO]:
    """A private logger printing through a handler that carries the redacting filter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter or logging.Formatter("%(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    logger = logging.getLogger(f"policy-qa-test.{name}")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    return logger, stream


class Url:
    """Not a string: an object formatted by %s, like httpx.URL."""

    def __str__(self) -> str:
        return "http://127.0.0.1/v1/chat?tel=13812345678"


def test_the_filter_redacts_messages_arguments_and_tracebacks() -> None:
    log, out = capture("httpx")
    log.info("question: %s", f"常德有13家站点吗？我的手机１３８１２３４５６７８，证件{ID18_SPACED}")
    log.debug("HTTP Request: %s %s", "POST", Url())
    log.info("caller %d", 13812345678)  # a number argument: the whole message is replaced
    log.info("phone 138%s", "12345678")  # split between format string and argument
    try:
        raise ValueError(f"bad value {ID18}")
    except ValueError:
        log.exception("failed for a@b.cn")

    text = out.getvalue()
    assert f"question: 常德有13家站点吗？我的手机{MOBILE}，证件{ID_CARD}" in text
    assert f"HTTP Request: POST http://127.0.0.1/v1/chat?tel={MOBILE}" in text
    assert f"caller {MOBILE}" in text and f"phone {MOBILE}" in text
    assert f"failed for {EMAIL}" in text and f"ValueError: bad value {ID_CARD}" in text and "Traceback" in text
    for raw in ("１３８", "13812345678", ID18, ID18_SPACED, "a@b.cn"):
        assert raw not in text


def test_uvicorn_access_lines_keep_their_shape() -> None:
    from uvicorn.logging import AccessFormatter

    log, out = capture("uvicorn.access", AccessFormatter('%(client_addr)s - "%(request_line)s" %(status_code)s',
                                                         use_colors=False))
    log.info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:5000", "GET", "/healthz?tel=13812345678", "1.1", 200)

    assert out.getvalue() == f'127.0.0.1:5000 - "GET /healthz?tel={MOBILE} HTTP/1.1" 200 OK\n'


INSTALLED = textwrap.dedent(f"""
    import logging, logging.config, sys
    from uvicorn.config import LOGGING_CONFIG
    from rag.privacy import install_log_redaction

    logging.basicConfig(level=logging.DEBUG, format="%(levelname)s %(name)s: %(message)s")
    install_log_redaction()
    # Handlers configured after the installation, as uvicorn.run does.
    logging.config.dictConfig(LOGGING_CONFIG)
    logging.getLogger("httpx").debug("HTTP Request: POST %s", "http://llm/v1?q=手机１３８１２３４５６７８")
    logging.getLogger("chromadb.telemetry").info("query %r", {{"text": "证件{ID18_SPACED}"}})
    logging.getLogger("uvicorn.error").info("client said %s", "ａ＠ｂ．ｃｎ")
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "127.0.0.1:1", "GET", "/x?id={ID18}", "1.1", 404)
    raise RuntimeError("uncaught: card {CARD19}")
""")


def test_installed_redaction_covers_every_logger_and_later_handlers_and_uncaught_errors() -> None:
    r = subprocess.run([sys.executable, "-c", INSTALLED], check=False, capture_output=True, text=True, timeout=120, cwd=REPO)
    text = r.stdout + r.stderr

    assert r.returncode == 1 and "RuntimeError: uncaught: card " + BANK_CARD in r.stderr
    assert f"q=手机{MOBILE}" in text and f"证件{ID_CARD}" in text and f"client said {EMAIL}" in text
    assert f'"GET /x?id={ID_CARD} HTTP/1.1" 404' in r.stdout  # uvicorn's access line, intact
    for raw in ("１３８", ID18, ID18_SPACED, "ａ＠ｂ", CARD19):
        assert raw not in text
