"""What kind of answer a question wants (how many / when / where / who / which / why / how / yes-no)."""

from __future__ import annotations

import re
import tomllib
from enum import Enum
from functools import lru_cache
from importlib import resources

from rag.text.normalize import fold_for_search


class QType(str, Enum):
    COUNT = "count"  # 多少 / 几 / how many / how much / what percentage
    WHEN = "when"  # 何时 / 哪年 / when / what year
    WHERE = "where"  # 哪里 / 哪个城市 / where / which city
    WHO = "who"  # 谁 / 哪个部门 / who / which organisation
    LIST = "list"  # 哪些 / 有哪些 / what are / list
    WHY = "why"  # 为什么 / why
    HOW = "how"  # 怎么 / 如何 / how
    YESNO = "yesno"  # 吗 / 是否 / is / does
    WHICH_DOC = "which_doc"  # 哪部法律 / 哪个文件 / 第几条 / which law: answered with a document and article
    WHAT = "what"  # anything else


_RULES: tuple[tuple[QType, re.Pattern[str]], ...] = (
    (QType.WHICH_DOC, re.compile(
        r"哪(?:一)?(?:部|个|份|项)?(?:法律|法规|法|条例|文件|规定|规划|方案|条款)|哪一?条(?!建议|措施)"
        r"|第几条|什么(?:法律|法规|文件|条例)(?:规定|要求|提出)|出自哪|依据哪|哪里规定|法律依据"
        r"|which (?:law|laws|document|documents|regulation|regulations|article|articles|policy|provision)\b"
        r"|what (?:law|document|regulation|article)\b")),
    # 「几年」 asks how many years (「几年内不得……」), not which one.
    (QType.WHEN, re.compile(r"何时|什么时候|啥时候|哪一?年|哪个?月|哪一?天|几月几日|几月|几号|几点|周几|星期几|什么时间|"
                            # 「who may sue when processing infringes…」 asks who, not when.
                            r"^when\b|\bwhen (?:did|does|do|is|was|were|will|shall|should|must|can|has|have)\b"
                            r"|what year|which year|what time|what date|what month|which month"
                            # 「在哪个阶段要实现」 asks when, not where (「迈向什么时期」 asks a stage's name).
                            r"|哪(?:个|一)(?:阶段|时期|时间段)")),
    (QType.LIST, re.compile(r"哪几")),  # 「哪几类」 asks which, not how many
    (QType.COUNT, re.compile(r"多少|(?:罚款|罚金|收费|费用|补贴)的?(?:标准|金额|数额|幅度|上限|下限)|多长时间|多久|几[个家项类种所名人万亿%]?|(?<!一定)比例|占比|百分之|什么价|啥价|价位|卖多少|"
                             # 「保留一定比例的什么」 asks what is kept; a document number is a 文号.
                             r"how many|how much|how long|what percentage|what share|(?<!document )number of")),
    # 「去哪儿告它」「到哪里投诉」: where to go is a body (人民法院, 网信部门), not a place.
    (QType.WHO, re.compile(r"(?:去|到|向|找|跟|往)哪(?:儿|里)?[^，。？?]{0,4}(?:告|投诉|举报|起诉|申诉|反映|维权|求助|集中|提出|提交|报告|备案)"
                           r"|(?:告|投诉|举报|起诉|申诉|维权)[^，。？?]{0,3}(?:去|到|找)哪(?:儿|里)?"
                           r"|where (?:can|do|should) (?:i|we|they|one) (?:complain|report|sue|appeal)")),
    (QType.WHERE, re.compile(r"哪里|哪儿|(?<!存)在哪(?!些问题|些方面|一?天|一?年)|哪个?城市|哪个?地区|哪个?省|哪个?区|哪些城市|哪些地区|where\b|which cit|which region|which district")),
    (QType.WHO, re.compile(r"谁|哪位|哪个?部门|哪个?机构|哪家|哪些部门|哪些机构|who\b|which (?:department|organi[sz]ation|agency|ministry)")),
    (QType.WHY, re.compile(r"为什么|为何|原因|why\b")),
    (QType.LIST, re.compile(r"哪些|有什么|包括什么|包括哪|列举|what are|which .*(?:are|were)\b|list\b")),
    (QType.HOW, re.compile(r"怎么|怎样|如何|通过什么|用什么|how\b")),
    (QType.YESNO, re.compile(r"[吗嘛][？?]?$|是否|是不是|有没有|能不能|^(?:is|are|does|do|did|can|was|were)\b")),
)


# The types answered by one span of a kind (a number, a date, a place, a body).
FACTOID_TYPES = (QType.COUNT, QType.WHEN, QType.WHERE, QType.WHO)


# 「几家大平台把技术攥在手里，有什么坏处？」: 几 means "a few" when a real question word follows.
_FEW = re.compile(r"几[个家项类种所名位]?(?=.*(?:什么|怎么|如何|哪|是否|为何|为什么))|(?<=[举说列])几(?:个|条|项)(?=例子|例|案例)")


QUOTED_PHRASE = re.compile(r"[“「『\"][^”」』\"]{1,30}[”」』\"]")


def question_type(question: str) -> QType:
    """The first matching rule wins; the order puts the most specific forms first."""
    q = fold_for_search(question).strip()
    # A quoted phrase is named, not asked: 「为什么说遵循“谁提供，谁负责”」 asks why, not who.
    q = QUOTED_PHRASE.sub("“”", q)
    q = _FEW.sub("一些", q)
    for qtype, pattern in _RULES:
        if pattern.search(q):
            return qtype
    return QType.WHAT


# What a direct answer looks like for each type (used to pick the span of a factoid).
_CN = "一二三四五六七八九十两百千万亿零〇"
NUMBER = re.compile(
    # A digit inside a Latin word (IPv6, 5G, 6G) is part of a name, not a number.
    r"(?:约|近|超过|达到?|共|累计|不少于|不超过|至少)?(?<![A-Za-z])\d[\d,.]*(?![A-Za-z])\s*(?:多|余)?\s*(?:%|％|万|亿|千|百)?\s*(?:多|余)?\s*"
    r"(?:个百分点|人次|亿元|万元|元|小时|分钟|个工作日|个月|大类|个|家|项|类|种|名|人|次|所|座|户|岁|年|月|周|日|天|倍|件"
    r"|平方公里|平方米|公里|公尺|公分|千米|厘米|毫米|米|公斤|千克|克|吨|亩|公顷)?"
    r"(?:以上|以下|以内|内|左右)?"
    r"|(?:近|(?<!以)上|数|超)[一二三四五六七八九十两]*[十百千万亿]{1,3}(?:个|家|项|类|种|大类|名|所|人)?"
    rf"|(?<![上下同当本前后第{_CN}])(?:不少于|不超过|至少)?[{_CN}]*[一二三四五六七八九十两][{_CN}]*[多余]?"
    r"(?:个百分点|人次|亿元|万元|元|小时|分钟|个工作日|个月|大类|个|家|项|类|种|名|所|人|次|岁|年|周|日|天|倍|件)"
    r"(?:以上|以下|以内|内)?"
    # 「八大能力」「五大任务」 count what follows.
    # Not 十八大 (a Party congress) nor the 一大 of 统一大市场.
    r"|(?<![统第])(?<!党的)[一二三四五六七八九十]{1,2}大(?!以来|精神|报告|代表)(?=[\u4e00-\u9fff]{2})"
    # An ordinal answers 「第几」: 第四大差别, 第46届.
    r"|第[一二三四五六七八九十百\d]+(?:大|个|位|名|批|类|种|次|届|代)"
)
DATE = re.compile(r"\d{4}\s*年(?:\s*\d{1,2}\s*月)?(?:\s*\d{1,2}\s*日)?|\d{4}[-/]\d{1,2}(?:[-/]\d{1,2})?"
                  # 「自公布之日起施行」 says when, without a calendar date.
                  r"|自(?:公布|发布|印发)之日起"
                  r"|\d{1,2}\s*月\s*\d{1,2}\s*日|(?:春节|今年|去年|近年来)")


# Measure words a count question asks for, so 「投资了多少钱」 is not answered with 「2000多名」.
_UNIT_AFTER = re.compile(
    r"(?:多少|几)\s*(?:[十百千万亿]+(?=[元人名个]))?\s*(个小时|个月|个工作日|钱|资金|经费|所|家|项|个|名|位|人次|人|类|大类|种|次|岁|年|天|日|倍|元|万元|亿元|小时|件|户|条|座|台|张|份|篇|部|起)")
_DURATION = re.compile(r"多长时间|多久|多少时间|how long")
# 「多久做一次」 asks how often: 每年至少一次 answers it.
_FREQUENCY = re.compile(r"(?:多久|多长时间|多少天|几年|几个月)[^，。？?]{0,16}一次|how often")
_NOUN_AFTER = re.compile(r"(?:多少|几)\s*(?:个|名|位)?\s*([\u4e00-\u9fff]{1,4})")
_UNIT_GROUPS: dict[str, frozenset[str]] = {
    "钱": frozenset("元"), "资金": frozenset("元"), "经费": frozenset("元"), "元": frozenset("元"),
    "万元": frozenset("元"), "亿元": frozenset("元"),
    "人": frozenset("人名位"), "名": frozenset("人名位"), "位": frozenset("人名位"), "人次": frozenset({"人次"}),
    "类": frozenset("类"), "大类": frozenset("类"), "家": frozenset("家"), "项": frozenset("项"), "所": frozenset("所"),
    "个": frozenset("个"), "种": frozenset("种"), "次": frozenset("次"), "岁": frozenset("岁"), "年": frozenset("年"),
    "户": frozenset({"户", "家庭"}), "条": frozenset("条项"), "座": frozenset("座"), "台": frozenset("台"),
    "张": frozenset("张"), "份": frozenset("份"), "篇": frozenset("篇"), "部": frozenset("部"),
    "天": frozenset({"天", "日", "工作日"}), "日": frozenset({"天", "日", "工作日"}),
    "个工作日": frozenset({"工作日", "日", "天"}), "倍": frozenset("倍"),
    "个小时": frozenset({"小时"}), "小时": frozenset({"小时"}), "个月": frozenset({"月"}), "件": frozenset("件"),
    "起": frozenset("起件"),  # 「查处了多少起案子」: cases, not 人次
}
_PEOPLE = ("老人", "居民", "人", "医师", "医生", "工人", "学生", "教师", "群众", "求职者", "家庭")
# 「How much money is invested」「what does it cost」「how large is the fine」: a sum of money.
_MONEY_EN = re.compile(r"\bhow much (?:money|funding|investment)\b|\bcosts?\b|\bfees?\b|\bprices?\b|\bspen[dt]|\binvest"
                       r"|\bbudget\b|\bfine[sd]?\b|\bsubsid(?:y|ies)\b")
_PEOPLE_EN = re.compile(r"\bhow many (?:\w+ ){0,2}(?:people|persons|residents|citizens|workers|students|patients|doctors"
                        r"|elderly|seniors|households|families|applicants|job seekers)\b(?!-)")
_SHARE = re.compile(r"(?<!一定)比例|占比|百分之|百分比|占[^，。？?]{0,6}多少|percentage|share|percent")


def expected_units(question: str) -> frozenset[str]:
    """Unit characters a number must carry to answer a count question (empty: any number)."""
    q = fold_for_search(question)
    if "第几" in q:
        return frozenset("第")  # an ordinal: 第四大差别, 第46届
    if _SHARE.search(q):
        return frozenset({"%", "％", "百分点"})  # a share, or how many points it rises by
    if _FREQUENCY.search(q):
        return frozenset({"次"})
    if _DURATION.search(q):
        return frozenset({"小时", "分钟", "天", "日", "年", "月", "周"})
    m = _UNIT_AFTER.search(q)
    if m:
        return _UNIT_GROUPS.get(m.group(1), frozenset())
    m = _NOUN_AFTER.search(q)
    if m and (any(m.group(1).startswith(p) for p in _PEOPLE) or m.group(1).endswith("人")):
        # 「多少老人」「多少残疾人」: a number of people.
        noun = next((p for p in _PEOPLE if m.group(1).startswith(p)), m.group(1))
        return frozenset({"人", "名", "位", "户", noun})
    if _MONEY_EN.search(q):
        return frozenset("元")
    if _PEOPLE_EN.search(q):
        return frozenset({"人", "名", "位", "户"})
    if any(w in q for w in ("投资", "花了", "费用", "资金", "罚款", "罚多少", "罚金", "收费", "补贴", "价格", "价位",
                            "什么价", "啥价", "卖多少", "房价", "票价", "单价", "价钱")) or re.search(r"[\u4e00-\u9fff]费", q):
        return frozenset("元")
    return frozenset()


# 「每年至少进行一次」; a period alone answers how often as well (「每年度……报送」).
FREQUENCY_SPAN = re.compile(r"每(?:个)?(?:年度|半年|季度|年|月|周|日|天)(?:[^，。；,;]{0,8}?[一二两三四五六七八九十\d]+次|(?=开展|进行|报送|发布|评估|检测|组织|对))")


def asks_frequency(question: str) -> bool:
    """「多久做一次检测评估」: the answer is a frequency (每年至少进行一次), not a count."""
    return bool(_FREQUENCY.search(fold_for_search(question)))


def count_asks(question: str) -> list[frozenset[str]]:
    """Unit sets of every quantity the question asks for (「几类项目、多少种产品」 asks two)."""
    q = fold_for_search(question)
    asks = [m.start() for m in re.finditer(r"多少|几(?!乎)", q)]
    if len(asks) <= 1:
        return [expected_units(question)]
    return [expected_units(q[a:]) for a in asks]


_YEAR_LIKE = re.compile(r"^\d{4}\s*年$")
_LABEL = re.compile(r"(?:图|表|附件|附录|附图|附表|专栏)\s*$")
_OWN_UNIT = re.compile(r"[个家项类种名人次所座户岁年天元倍%％时钟]$")


def fits_units(sentence: str, match: re.Match[str], units: frozenset[str]) -> bool:
    """Whether the number at ``match`` is of the asked kind.

    A number with its own unit must carry one of ``units`` («5大类» is not «多少项»); a bare
    number may take its unit from the words right after it («3万多老人»). A calendar year
    («2021年») never answers how many/how long.
    """
    text = match.group().strip()
    if _YEAR_LIKE.match(text):
        return False
    # 「图1」「表2」「附件3」 label a figure or an annex; they count nothing.
    if _LABEL.search(sentence[: match.start()]):
        return False
    # An ordinal answers 「第几」 only: 「第六代」 is not how many 5G base stations.
    if text.startswith("第") or "第" in units:
        return text.startswith("第") and "第" in units
    # 「一件事」「一个平台」: the numeral 一 with a measure word names a thing, it does not
    # count one — 「累计办了多少件事」 is not answered by 「一件事」.
    if re.fullmatch(r"一[件个项次类种家所座]", text):
        return False
    # «2.健全终身职业技能培训制度»: an item's number, not a count.
    if re.fullmatch(r"\d{1,2}[.．]?", text) and re.match(r"\s*[.．、]", sentence[match.end() - (1 if text.endswith((".", "．")) else 0):][:1] or " ") \
            and not sentence[: match.start()].strip():
        return False
    # «3» in «2022年3月» is part of a date, not a count.
    if re.match(r"\s*[月日号]", sentence[match.end() : match.end() + 2]) or sentence[max(0, match.start() - 1) : match.start()] == "年":
        return False
    if not units:
        return True
    if any(u in text for u in units):
        return True
    if _OWN_UNIT.search(text):
        return False
    after = sentence[match.end() : match.end() + 4]
    return any(u in after for u in units)


# 「首席数据官是谁」「专家委员会有哪些专家」「Who is the chief data officer of …」: the question
# asks who holds a post, so only a person's name answers it (not 「相关负责人」, not a body).
# 「是谁牵头的」「由谁担任」 ask which body acts or what rule appoints, and 「第一责任人是谁」
# which post a rule designates (单位主要负责人): they are not meant.
_HOLDER = re.compile(
    r"(?:[长官员任席理记者家师]|主任委员)(?:是|为)谁(?![来去]?(?:负责|牵头|主管|组织|制定|发布|印发|起草|批准|决定|担任|任命))"
    r"|姓名|名单|(?:有)?哪(?:些|几位|几个|位)(?:专家|委员|成员|人员|领导|官员)|(?:专家|委员|成员|领导)(?:都)?(?:有|是)谁"
    r"|\bwho (?:is|are|was|were) (?:the |its )?(?!responsible|in charge|(?:the )?(?:department|agency|body|authority|ministry|organi[sz]ation))"
    r"[a-z][^?？]{2,60}?\b(?:of|for|at|in)\b"
    r"|\bwhich (?:experts|people|persons|members|officials)\b|\bnames? of (?:the )?(?:experts|members|people|officials)\b|\bwho sits? on\b"
)


def asks_holder(question: str) -> bool:
    """Whether the question asks for the person who holds a post (a name answers it)."""
    return bool(_HOLDER.search(fold_for_search(QUOTED_PHRASE.sub("“”", question))))


@lru_cache(maxsize=1)
def _tasks() -> tuple[tuple[str, ...], tuple[re.Pattern[str], ...]]:
    data = tomllib.loads(resources.files("rag.text").joinpath("focus.toml").read_text(encoding="utf-8"))["tasks"]
    return tuple(data["zh"]), tuple(re.compile(p) for p in data["en"])


def asks_task(question: str) -> str:
    """What the question asks done instead of asked (「写一篇讲话稿」, "what do you think"),
    '' for a question about what the documents say (``[tasks]`` in ``rag/text/focus.toml``)."""
    q = fold_for_search(QUOTED_PHRASE.sub("“”", question))
    zh, en = _tasks()
    hit = next((w for w in zh if w in q), "")
    if not hit:
        hit = next((m.group() for p in en if (m := p.search(q))), "")
    return hit
