"""Whether a text names a person (张三, 王坚): what answers 「……的主任委员是谁」.

A post (主任委员, 首席数据官) or a body (数据专家委员会) is no answer to a question that
asks who holds it; only a personal name is. Names are found by jieba's part-of-speech
tagger (``nr``), loaded on first use only, as few questions ask for a person.
"""

from __future__ import annotations

import re
from functools import lru_cache

# Words the tagger reads as names that are not people in these texts.
_NOT_NAMES = frozenset({"方面", "老年", "明确", "安全", "高新", "信用", "文明", "周边", "关怀", "长辈",
                        "高水平", "高质量", "高标准", "高技能", "高效能", "高层次", "任职", "常态化"})
# A Chinese name starts with a surname: the tagger's other guesses (高水平, 任职) do not.
_SURNAMES = frozenset(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔"
    "钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤常温康施文牛樊葛"
    "邢安齐易乔伍庞颜倪庄聂章鲁岳翟殷詹申欧耿关兰焦俞左柳甘祝包宁尚符舒阮柯纪梅童凌毕单季裴霍涂成苗谷盛曲翁冉骆蓝"
    "路游辛靳管柴蒙鲍华喻祁蒲房滕屈饶解牟艾尤阳时穆农司卓古吉缪简车项连芦麦褚娄窦戚岑景党宫费卜冷晏席卫米柏宗瞿桂全"
    "佟应臧闵苟邬边卞姬师和仇栾隋商刁沙荣巫寇桑郎甄丛仲虞敖巩明佘池查麻苑迟邝")
_COMPOUND_SURNAMES = ("欧阳", "司马", "诸葛", "上官", "东方", "皇甫", "尉迟", "公孙", "慕容", "令狐", "长孙", "宇文", "司徒", "夏侯")


@lru_cache(maxsize=256)
def person_names(text: str) -> tuple[str, ...]:
    """The personal names ``text`` writes, in order."""
    import jieba.posseg as posseg  # heavy; only identity questions need it

    found = [w for w, flag in posseg.cut(text) if flag == "nr" and 2 <= len(w) <= 4 and w not in _NOT_NAMES
             and re.fullmatch(r"[\u4e00-\u9fff·]+", w) and (w[0] in _SURNAMES or w.startswith(_COMPOUND_SURNAMES))]
    return tuple(dict.fromkeys(found))
