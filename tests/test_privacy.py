"""Redaction: personal numbers and e-mails go, the numbers of policy text stay."""

from __future__ import annotations

import pytest

from rag.privacy import BANK_CARD, EMAIL, ID_CARD, MOBILE, redact

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
