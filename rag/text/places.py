"""Place names: Chinese forms with their English spellings.

Used to carry a place over in follow-ups (「那杭州呢？」) and to check that an answer
about a place comes from a passage about that place.
"""

from __future__ import annotations

import re

# Chinese name → English spellings (lower case). Cities and districts the corpus names,
# the provinces around them and the largest cities users ask about.
PLACES: dict[str, tuple[str, ...]] = {
    "北京": ("beijing",), "上海": ("shanghai",), "天津": ("tianjin",), "重庆": ("chongqing",),
    "深圳": ("shenzhen",), "广州": ("guangzhou", "canton"), "杭州": ("hangzhou",), "南京": ("nanjing",),
    "武汉": ("wuhan",), "成都": ("chengdu",), "西安": ("xi'an", "xian"), "苏州": ("suzhou",),
    "常德": ("changde",), "株洲": ("zhuzhou",), "常州": ("changzhou",), "邯郸": ("handan",),
    "徐汇": ("xuhui",), "杨浦": ("yangpu",), "朝阳": ("chaoyang",),
    "湖南": ("hunan",), "江苏": ("jiangsu",), "河北": ("hebei",), "浙江": ("zhejiang",), "广东": ("guangdong",),
}
_EN = {en: zh for zh, names in PLACES.items() for en in names}
_EN_RE = re.compile(r"\b(" + "|".join(re.escape(n) for n in sorted(_EN, key=len, reverse=True)) + r")\b")


def places_in(text: str) -> list[str]:
    """Places named in ``text`` (Simplified or English), as Chinese names, in order of appearance."""
    found: list[tuple[int, str]] = [(text.find(zh), zh) for zh in PLACES if zh in text]
    found += [(m.start(), _EN[m.group(1)]) for m in _EN_RE.finditer(text.lower())]
    out: list[str] = []
    for _, zh in sorted(found):
        if zh not in out:
            out.append(zh)
    return out
