"""Chinese numerals as used in legal and policy numbering: 第二十一条, 第一百零五条, 三十一.

Users write article numbers both ways (第二十一条, 第21条); documents write them in
Chinese. Both sides are compared as integers.
"""

from __future__ import annotations

import re

_DIGITS = {"零": 0, "〇": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4, "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_UNITS = {"十": 10, "百": 100, "千": 1000}
CN_NUMERAL = "零〇一二三四五六七八九十百千两"
NUMBER = re.compile(rf"[{CN_NUMERAL}]+|\d+")


def cn_to_int(text: str) -> int | None:
    """``"二十一"`` → 21, ``"一百零五"`` → 105, ``"21"`` → 21; None when it is not a number."""
    text = text.strip()
    if text.isdigit():
        return int(text)
    if not text or any(ch not in _DIGITS and ch not in _UNITS for ch in text):
        return None
    total, digit = 0, None
    for ch in text:
        if ch in _DIGITS:
            digit = _DIGITS[ch]
        else:
            total += (1 if digit is None else digit) * _UNITS[ch]  # 「十一」 is 11: a bare 十 means 1×10
            digit = None
    return total + (digit or 0)


def int_to_cn(n: int) -> str:
    """21 → ``"二十一"``, 105 → ``"一百零五"``, 10 → ``"十"`` (the way articles are numbered)."""
    if n <= 0 or n >= 10000:
        return str(n)
    digits = "零一二三四五六七八九"
    parts: list[str] = []
    zero = False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d, n = divmod(n, value)
        if d:
            if zero:
                parts.append("零")
            parts.append(digits[d] + unit)
            zero = False
        elif parts:
            zero = True
    out = "".join(parts)
    return out[1:] if out.startswith("一十") else out
