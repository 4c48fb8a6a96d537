"""Redact personal data from free text before it is stored (feedback, logs).

Users paste their own details into questions and comments («我的身份证号是…，手机…»).
None of it is needed to improve answers, so it is replaced by labelled placeholders
before anything reaches disk: 身份证号, 手机号, 银行卡号 and e-mail addresses.

Each pattern demands an exact digit count with no digit directly before or after, and
the long numbers must also pass their check digit (ID checksum, Luhn), so the ordinary
numbers of policy text (2000多名, 1.91亿个, 2021年12月, 13家, 文号) stay untouched.
"""

from __future__ import annotations

import re
from datetime import date

ID_CARD = "〔身份证号〕"
MOBILE = "〔手机号〕"
BANK_CARD = "〔银行卡号〕"
EMAIL = "〔邮箱〕"

# ASCII classes, not \w: in Python \w matches hanzi, and «邮箱a@b.cn» must keep «邮箱».
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+-])[A-Za-z0-9][A-Za-z0-9._%+-]*@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}"
)
# 18-digit resident ID: 6-digit area, birth date, 3-digit sequence, check digit (0-9 or X).
_ID18 = re.compile(r"(?<!\d)([1-9]\d{5})((?:18|19|20)\d{2})(\d{2})(\d{2})\d{3}[\dXx](?![\dXx])")
# 15-digit first-generation ID (before 1999): 6-digit area, YYMMDD, 3-digit sequence, no check digit.
_ID15 = re.compile(r"(?<!\d)[1-9]\d{5}(\d{2})(\d{2})(\d{2})\d{3}(?!\d)")
# Bank cards: 16-19 digits, written solid, in groups of four, or as 6 + the rest.
_BANK = re.compile(r"(?<!\d)(?:\d{16,19}|\d{4}(?:[ -]\d{4}){3}(?:[ -]\d{1,3})?|\d{6}[ -]\d{10,13})(?!\d)")
# Mainland mobile: optional +86/0086/86, then 1[3-9] and nine digits, spaces or dashes allowed
# between the usual 3-4-4 groups.
_MOBILE = re.compile(r"(?<![\d+])(?:(?:\+|00)?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def redact(text: str) -> str:
    """``text`` with ID numbers, mobile numbers, bank card numbers and e-mails replaced.

    The placeholders say what was there (〔身份证号〕〔手机号〕〔银行卡号〕〔邮箱〕), so a
    reviewer still understands the sentence.
    """
    if not text:
        return text
    # E-mail first: a mailbox such as 13812345678@qq.com is an e-mail, not a phone number.
    text = _EMAIL.sub(EMAIL, text)
    text = _ID18.sub(lambda m: ID_CARD if _valid_id18(m) else m.group(0), text)
    text = _ID15.sub(lambda m: ID_CARD if _valid_date(1900 + int(m[1]), int(m[2]), int(m[3])) else m.group(0), text)
    text = _BANK.sub(lambda m: BANK_CARD if _luhn(re.sub(r"\D", "", m.group(0))) else m.group(0), text)
    return _MOBILE.sub(MOBILE, text)


def _valid_id18(m: re.Match[str]) -> bool:
    digits = m.group(0).upper()
    if not _valid_date(int(m[2]), int(m[3]), int(m[4])):
        return False
    total = sum(int(d) * w for d, w in zip(digits[:17], _ID_WEIGHTS))
    return _ID_CHECK[total % 11] == digits[17]


def _valid_date(year: int, month: int, day: int) -> bool:
    try:
        date(year, month, day)
    except ValueError:
        return False
    return True


def _luhn(digits: str) -> bool:
    """The Luhn check every bank card number passes (and 9 in 10 random numbers fail)."""
    if not 16 <= len(digits) <= 19:
        return False
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


__all__ = ["redact", "ID_CARD", "MOBILE", "BANK_CARD", "EMAIL"]
