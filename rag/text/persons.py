"""Whether a text names a person (张三, 王坚): what answers 「……的主任委员是谁」.

A post (主任委员, 首席数据官) or a body (数据专家委员会) is no answer to a question that
asks who holds it; only a personal name is. Names are found by jieba's part-of-speech
tagger (``nr``), loaded on first use only, as few questions ask for a person.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Words the tagger reads as names that are not people in these texts.
_NOT_NAMES = frozenset({"方面", "老年", "明确", "安全", "高新", "信用", "文明", "周边", "关怀", "长辈"})


@lru_cache(maxsize=256)
def person_names(text: str) -> tuple[str, ...]:
    """The personal names ``text`` writes, in order."""
    import jieba.posseg as posseg  # heavy; only identity questions need it

    found = [w for w, flag in posseg.cut(text) if flag == "nr" and 2 <= len(w) <= 4 and w not in _NOT_NAMES
             and re.fullmatch(r"[\u4e00-\u9fff·]+", w)]
    return tuple(dict.fromkeys(found))
