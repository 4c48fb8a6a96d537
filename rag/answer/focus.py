"""What a question asks about, apart from where and when: its *focus*.

「上海的房价是多少？」 is about 房价; 上海 only says where. The evidence for an answer must
talk about the focus, not merely about the place or the domain: the corpus says a lot
about 上海, nothing about 房价, so the question is refused — and the refusal can say so
in words (「资料中没有关于上海房价的内容」).

The focus is the question's content words minus place names, years and times, question
words and the generic and domain words of ``rag/text/focus.toml``; each term is weighted
by how rare it is in the corpus. A term no passage uses (nor any of its synonyms) is
*absent*: no passage can support it.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources

import numpy as np

from rag.answer.question import QType, question_type
from rag.index.lexical import LexicalIndex
from rag.text.normalize import fold_for_search, has_cjk
from rag.text.places import PLACES, places_in
from rag.text.synonyms import english_terms, expand, phrases_in, synonyms_of
from rag.text.tokenize import (QUESTION_WORDS, STOPWORDS, dictionary_tag, dictionary_words, tokenize, word_classes,
                               words)

_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
# A named place at any level: 沅陵县, 杨浦区, 湖南省, 浦东新区 (not 城市, 社区, 本市 …).
# A county, district, town or province named by its suffix: 沅陵县, 杨浦区, 浦东新区, 湖南省.
# Two characters before the suffix: most such names have two, and a longer guess would
# take in the verb before it (「建成泸溪县……」).
# Not a suffix when a word goes on: 省份, 省会, 县长, 区委, 镇政府 is fine (the place + 政府).
_ADMIN = re.compile(r"(?=([\u4e00-\u9fff]{2})(新区|自治州|省|县|区|镇|乡|盟|旗)(?![域级内外划属份会长委]))")
_ADMIN_SUFFIX = set("省市县区镇乡州盟旗")
_NOT_PLACE = frozenset(
    "城市 社区 地区 市区 城区 小区 园区 景区 辖区 本市 全市 该市 我市 各区 各市 各县 省市 市县 郊区 农村 乡镇 城乡 街区 片区 "
    "超市 门市 上市 城镇 新区 行政区 特区 山区 学区 校区 街区 湾区 老城区 新城区 主城区 中心城区".split()
)
_FUNCTION_CHARS = set("的和与及在是有了搞做把被给对向从到由为这那哪个些么什怎吗呢各本全该每其们")  # 们: 「我们区」 is no place
_SELF = re.compile(r"^(?:我是|我们是|作为|本人是)(?:一名|一个|一位)?([^，,。？?]{1,12})[，,]")
_AUTHOR = re.compile(r"谁写|谁撰写|谁执笔|谁起草|作者是谁|who wrote|who (?:is|was) the author|who authored")
# A name the question quotes (《最炫民族风》, “随申办”) is one thing, not its words.
_QUOTED = re.compile(r"([《“「『\"])([^》”」』\"]{2,30})[》”」』\"]")
# 「院长叫什么」「负责人的名字」 asks for a person as 「院长是谁」 does.
_NAME_ASKED = re.compile(r"叫什么|叫啥|名字|姓名|哪些人|什么人|哪位|what is (?:his|her|the \w+'s) name")
# 「“数据二十条”」「“国十条”」: a policy document by its nickname.
_NICKNAME = re.compile(r"[一二三四五六七八九十百]+条$")
# A premise, then the question: 「……，那……？」「……，那么请问……？」 (not 那些, 那个, 那里).
_PIVOT = re.compile(r"^(.{4,}?)[，,;；]\s*(?:那么|那请问|那|请问)(?![些个里儿时样边])\s*(.{2,})$", re.S)
# A statement, then the question clause: 「常德数字养老走在全国前列，常德牛肉粉怎么做？」.
_TAIL = re.compile(r"^(.{4,}?)[，,]\s*([^，,]{4,})$", re.S)
_ASKING = re.compile(r"几|哪|什么|啥|多少|谁|怎")
# What comes before the last sentence (or the colon) that asks: the scene it is asked in.
_SCENE = re.compile(r"^(.{4,})[。！!:：]\s*([^。！!:：]{4,})$", re.S)
_SCENE_WEIGHT = 0.25
_SCENE_ASKS = re.compile(r"[？?]|什么|哪|谁|怎|多少|吗|呢")  # 「这几年」 sets a scene, 「哪几年」 asks
_QUOTE_MARKS = re.compile(r"[《》“”「」『』\"‘’]")
# 「需要交哪些文件」「要带什么材料」 asks for the materials, whatever the noun.
_MATERIALS = re.compile(r"(?:交|提交|带|准备|提供|上传)(?:哪些|什么|啥)(?:文件|材料|资料|证件|证明)")
# The same kinds asked in English: the answer sentence must state them just the same.
_ENGLISH_KINDS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), k) for p, k in (
    (r"\b(?:phone|telephone|hotline) number\b|\bphone\b|\bhotline\b", "电话"),
    (r"\b(?:e-?mail|mailbox)\b", "邮箱"), (r"\baddress\b", "地址"), (r"\bwebsite\b|\burl\b", "网址"),
    (r"\bopening hours\b|\boffice hours\b|\bbusiness hours\b", "开放时间"),
    (r"\bweather\b|\brain\b|\btemperature\b", "天气"),
    # A kind of price before price itself: "house prices in Shanghai" asks for 房价, which no
    # sentence on data-trading prices states.
    (r"\b(?:house|housing|home|property|flat|apartment) prices?\b", "房价"), (r"\brents?\b", "房租"),
    (r"\b(?:ticket prices?|fares?)\b", "票价"), (r"\bprices?\b", "价格"), (r"\bsteps\b", "步骤"),
    # "How much does it cost …": the answer must say what it costs (a 费用 or that it is free).
    (r"\bhow much (?:does|do|will|would|is) .{0,60}\bcost\b|\bwhat (?:does|do) .{0,40}\bcost\b", "费用"),
    # A task, not a question about the documents: 「can you recommend a laptop」「write me a poem」.
    (r"\b(?:can|could|would) you (?:please )?(?:recommend|suggest)\b", "推荐"), (r"\bpoem\b|\bwrite me\b", "写诗"),
    (r"\btranslate\b|\btranslation\b|\binto (?:english|french|german|japanese|spanish)\b", "翻译"),
    (r"\bwrite (?:a |some |the )?(?:code|script|program|function)\b|\bpython\b|\bjavascript\b|\bprogramming\b", "编程"),
    (r"\b(?:good|best|easy) way to learn\b|\bhow (?:do|can|should) i learn\b|\bbeginners?\b|\btutorial\b", "教程"),
))
# 「……博物馆在哪里」「服务中心在哪儿」: where a building or office is, i.e. its address.
_FACILITY_WHERE = re.compile(r"(?:馆|中心|医院|学校|大厦|大楼|站|厅|窗口|办事处|服务点|食堂|养老院)(?:具体)?(?:在|位于)哪(?:里|儿)?")
# 「数据线选Type-C还是Lightning好」: a choice between products, which no policy text makes.
_CHOICE = re.compile(r"(?:选|买|用|挑)[^，。？?]{1,14}还是[^，。？?]{1,14}(?:好|划算|合适|靠谱)")
# People by their post, in an English who-question (「Who signed it as President?」).
_ENGLISH_PERSONS: tuple[tuple[re.Pattern[str], str], ...] = tuple((re.compile(p), k) for p, k in (
    (r"\bpresident\b", "主席"), (r"\bchairm[ae]n\b|\bchairperson\b", "主任"), (r"\bmayor\b", "市长"),
    (r"\bgovernor\b", "省长"), (r"\bminister\b", "部长"), (r"\bpremier\b", "总理"), (r"\bauthors?\b", "作者"),
    (r"\bwinners?\b", "获奖者"), (r"\bspokesperson\b|\bspokesman\b", "发言人"),
    (r"\bhead of\b|\bleader of\b", "负责人"), (r"\bchaired\b|\bpresided\b", "主持"),
))
# An app, mini-program or account by its name: 「浙里办App」「随申办小程序」.
_APP = re.compile(r"([\u4e00-\u9fff]{3,6})\s*(app|小程序|公众号|客户端)")


def _app_name(before: str) -> str:
    """The name right before 「App」: a word the dictionary lists untagged (the project's own
    names: 浙里办, 随申办) or a run of single characters it does not know (鄂汇办); a common
    word (资讯, 教育, 网站) or a function word (的, 给, 和) makes it no name."""
    cut = dictionary_words(before)
    if not cut:
        return ""
    if len(cut[-1]) >= 2:
        return cut[-1] if dictionary_tag(cut[-1]) is None else ""
    run = ""
    for token in reversed(cut):
        if len(token) != 1:
            break
        run = token + run
    return run if len(run) >= 3 else ""


# A text that speaks of a charge (「不得……收取费用」), not only of paying (缴费).
_FEE_SAID = re.compile(r"费用|收费|收取|资费|经费|免费|付费|减免|[\u4e00-\u9fff](?<!缴)费(?:标准|为)")
# A fee the question asks about by name (认证费, 停车费).
_FEE = re.compile(r"[\u4e00-\u9fff]{1,2}费")
# 「怎么报名」「如何申请」「要怎么查」: a how-to; the action, in the corpus's two-character word.
# 「……怎么办？」 asks what to do, not how a thing is 办理.
# 「怎么在手机上申领」: where it is done may sit between the question word and the act.
_PROCEDURE = re.compile(r"(?:怎么|怎样|如何|咋)\s*(?:才能|去|来)?\s*(?:在[^，,。？?]{1,8}?[上里])?\s*(报名|申请|申领|办理|注册|注销|开通|预约|登记|缴纳|缴费|领取|"
                        r"查询|查|办(?![？?呢啊吧。，,！!]|$)|领|交|报)")
_ACTION = {"查": "查询", "办": "办理", "领": "领取", "交": "缴纳", "报": "申报"}
# 「怎么帮老人……」「如何协助……」: the asker wants to know what they can do for someone.
_HELP = re.compile(r"(?:怎么|怎样|如何|怎么样|能不能|可以|该)\s*(?:帮|帮助|协助|指导|教)")
_TIME = re.compile(r"\d+\s*(?:年|月|日|号|天|周)|[今明昨前后去]年|[今明昨]天|本月|上个?月|下个?月|现在|目前|最近")


def generic_words() -> frozenset[str]:
    """Words that carry no topic of their own in a question (focus.toml's ``generic``)."""
    return _lists()[0]


@lru_cache(maxsize=1)
def _lists() -> tuple[frozenset[str], frozenset[str], tuple[str, ...], tuple[str, ...]]:
    data = tomllib.loads(resources.files("rag.text").joinpath("focus.toml").read_text(encoding="utf-8"))
    # Longest first, so 联系电话 is found before 电话; in file order otherwise (a set here
    # made the head, and so the decision, change from one process to the next).
    asked = sorted(dict.fromkeys((*data.get("attributes", ()), *data.get("wishes", ()))), key=len, reverse=True)
    persons = sorted(data.get("persons", ()), key=len, reverse=True)
    return frozenset(data["generic"]), frozenset(data["domain"]), tuple(asked), tuple(persons)


def places_asked(question: str) -> list[str]:
    """Places a question names, at whatever level: 上海, 杨浦区, 沅陵县, 湖南省."""
    folded = fold_for_search(question)
    found = {p: folded.find(p) for p in places_in(folded)}
    for m in _ADMIN.finditer(folded):
        core, name = m.group(1), m.group(1) + m.group(2)
        # 「城区」「辖区」「本市各区」 are no places; a known place is found by its own name.
        if name in _NOT_PLACE or core in _NOT_PLACE or any(ch in _FUNCTION_CHARS or ch in _ADMIN_SUFFIX for ch in core):
            continue
        tail = core[-1] + m.group(2)
        if tail in _NOT_PLACE and not (dictionary_tag(name) or "").startswith("ns"):
            continue  # 「苏格兰地区」 ends in 地区, it is not a district called 兰地 (西城区 is a place)
        tail_tag = dictionary_tag(tail) or "ns"
        if not tail_tag.startswith("ns") and not (dictionary_tag(name) or "").startswith(("ns", "nr")):
            continue  # 「抢学区」 ends in the word 学区, 「能节省」 in 节省: no place called 抢学
        if any(p in core or core in p for p in PLACES) or core in found or name in found:
            continue
        if any(start <= m.start() < start + len(n) for n, start in found.items()):
            continue  # 「东新区」 inside 「浦东新区」
        found[name] = m.start()
    return [p for p, _ in sorted(found.items(), key=lambda kv: kv[1])]


@dataclass(frozen=True)
class Focus:
    """The terms a question asks about, with their weights, and what frames them."""

    terms: dict[str, float]  # focus term → weight (idf; an absent term weighs most)
    domain: tuple[str, ...]  # domain words named (they narrow, they do not support)
    absent: tuple[str, ...]  # focus terms no passage uses, nor any synonym of theirs
    places: tuple[str, ...]
    years: tuple[str, ...]
    role: tuple[str, ...] = ()  # who asks to help (「我是社区工作者，怎么帮老人……」): 社区, 工作者
    helping: bool = False  # the question asks how the asker can help someone
    # The kind of information asked for, when the question asks one of the listed ones
    # (「常德智能养老服务站的联系电话是多少」 → 联系电话; 推荐 …): the answer must state it.
    head: str = ""
    # More kinds asked at once: 「补贴怎么申请」 asks the 补贴 and how to 申请 it.
    also: tuple[str, ...] = ()
    # Chinese alternatives of a focus term that came from an English word (app →
    # 应用程序, 移动互联网应用): any one of them supports it.
    alternatives: dict[str, tuple[str, ...]] = field(default_factory=dict)
    # Names among the terms — what the corpus writes in quotation marks (“随申办”, “拍家园”)
    # — and the names the question quotes that the corpus never writes (《最炫民族风》).
    # A name is what the question is about: a sentence about something else answers
    # nothing, however many of the other words it shares.
    names: tuple[str, ...] = ()
    unknown_names: tuple[str, ...] = ()
    # 「常德数字养老走在全国前列，常德牛肉粉怎么做才地道？」: when a statement precedes the
    # question clause, what that clause alone asks that no passage names.
    tail_absent: tuple[str, ...] = ()
    tail_share: float = 0.0
    # The places asked that the corpus writes somewhere: a refusal may not say it has
    # nothing on them, only nothing on what was asked of them.
    places_written: tuple[str, ...] = ()

    @property
    def weight(self) -> float:
        return sum(self.terms.values())

    def absent_share(self) -> float:
        """Share of the focus weight that no passage of the corpus can support — of the
        question clause alone, when a statement before it would dilute it."""
        own = sum(self.terms[t] for t in self.absent) / self.weight if self.weight else 0.0
        return max(own, self.tail_share)

    @property
    def all_absent(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.tail_absent, *self.absent))) if self.tail_share else self.absent

    def support(self, context: str) -> tuple[float, list[str]]:
        """Weighted share of the focus that ``context`` (a sentence with its heading)
        supports, and the unsupported terms, heaviest first. Domain words count only when
        the question has nothing else to ask about."""
        text = fold_for_search(context)
        terms = self.terms or {d: 1.0 for d in self.domain}
        if not terms:
            return 1.0, []
        got, missing = 0.0, []
        for t, w in terms.items():
            if supports(text, t) or any(supports(text, a) for a in self.alternatives.get(t, ())):
                got += w
            else:
                missing.append(t)
        missing.sort(key=lambda t: -terms[t])
        return got / sum(terms.values()), missing


# A sentence that states steps without naming them: what must be done at once, then
# what else (「发生……事件时，应当立即启动应急预案，采取措施……，并按照规定……报告」), or a
# procedure announced as such (「按照下列程序」).
_STEPWISE = re.compile(r"(?:应当|必须|须)[^。]{0,40}?(?:立即|及时|首先)[^。]*?[,;](?:并|再|然后|同时|随后)"
                       r"|(?:下列|以下|如下)(?:程序|步骤|流程)")
_STEP_TERMS = frozenset({"步骤", "流程", "程序"})


def supports(text: str, term: str) -> bool:
    """``text`` (folded) says ``term``: the term, a synonym, or every part of a compound
    (「数字养老院」 in 「数字“养老院”」); steps are said by a sentence that lays them out."""
    if term in text or any(s in text for s in synonyms_of(term)):
        return True
    if term in _STEP_TERMS and _STEPWISE.search(text):
        return True
    if term.endswith("费") and len(term) <= 4 and not _FEE_SAID.search(text):
        return False  # a fee is said as one: 「缴费窗口」 and 「服务」 do not say a 服务费
    parts = [p for p in tokenize(term) if len(p) > 1 and p != term]
    # The last character is the compound's head: 「登记费」 needs a 费, not just 登记.
    return len(term) >= 3 and bool(parts) and all(p in text for p in parts) and term[-1] in text


class FocusReader:
    """Reads the focus of questions against one corpus (its BM25 index and chunk texts)."""

    def __init__(self, lexical: LexicalIndex, chunk_text: Callable[[int], str]) -> None:
        self.lexical = lexical
        self.chunk_text = chunk_text
        self._used: dict[tuple[str | None, str], bool] = {}

    def read(self, question: str, residual: str | None = None) -> Focus:
        """The focus of ``question``; ``residual`` is the question with the documents it
        names cut out (their names are the scope, not the focus)."""
        asked = residual if residual is not None else question
        turn = _PIVOT.match(asked.strip())
        tail: Focus | None = None
        if turn and not _ASKING.search(turn.group(1)):
            # 「个保法说生物识别信息是敏感信息，那我家猫该打几针疫苗？」: the first clause only
            # states what the asker read; the question is what follows 那.
            asked = question = turn.group(2)
            residual = None
        elif (clauses := _TAIL.match(asked.strip())) and not _ASKING.search(clauses.group(1)) and _ASKING.search(clauses.group(2)):
            # Without 那 the statement may still be context the question needs (「我在杭州送外卖，
            # 平台可以……」), so it stays in the focus; only the question clause's own
            # vocabulary is weighed apart.
            tail = self.read(clauses.group(2))
        folded = fold_for_search(asked)
        # 「我在省网信办工作，写材料要用：……有哪些措施？」「发现商场盲道被占着。我可以找谁？」:
        # sentences before the one that asks set the scene; their words weigh little.
        scene = _SCENE.match(folded.strip())
        scene_only = set()
        if scene and not _SCENE_ASKS.search(scene.group(1)):
            scene_only = set(dictionary_words(scene.group(1))) - set(dictionary_words(scene.group(2)))
        # 「我是社区工作者，怎么帮老人用健康码？」: who asks is part of what is asked — what a
        # 社区工作者 can do — so the role is part of the focus.
        role = _SELF.match(folded)
        role_words = tuple(w for w in words(role.group(1)) if _content(w)) if role else ()
        helping = bool(role and _HELP.search(folded[role.end():]))
        folded = folded[role.end():] + " " + role.group(1) if role else folded
        # A place in a named document's title (「深圳数据条例」) is its scope, not a place asked.
        places = places_asked(question if residual is None else asked)
        years = tuple(dict.fromkeys(_YEAR.findall(question)))
        generic, domain, asked_kinds, persons = _lists()
        if question_type(question) is QType.WHO or _NAME_ASKED.search(folded):
            asked_kinds = tuple(sorted((*asked_kinds, *persons), key=len, reverse=True))
        alternatives: dict[str, tuple[str, ...]] = {}
        unknown: list[str] = []
        quoted_terms: list[str] = []
        joined: set[str] = set()  # runs of single characters joined into one unknown word
        english = not has_cjk(folded)
        if english:
            candidates = list(dict.fromkeys(expand(folded)))
        else:
            stripped = _TIME.sub(" ", folded)
            for mark, quoted in _QUOTED.findall(stripped):
                if re.search(r"\s", quoted):
                    continue  # a document the question names, cut out of it: 《关于 》
                # Quotation marks also only stress a phrase (有哪“三不”问题, “第几大差别”):
                # a name is three characters or more with no question word in it, and a
                # list of names (“信息免填报、材料免提交”) is read name by name.
                for part in re.split(r"[、，,；;和与及]", quoted):
                    if len(part) < 3 or not has_cjk(part) or _ASKING.search(part):
                        continue
                    if not self.written_anywhere(part):
                        # A title (《最炫民族风》) names a work the corpus does not hold; a
                        # quoted phrase (“大数据杀熟”) may be the asker's word for what the
                        # corpus says otherwise, so it only weighs as a term no passage uses.
                        (unknown if mark == "《" or _NICKNAME.search(part) else quoted_terms).append(part)
            for m in _APP.finditer(stripped):
                # 「浙里办App怎么注册」: an app is asked about by its name; a name no passage
                # writes (at three characters or more, however the name is cut) is unknown.
                name = _app_name(m.group(1))
                if name and not _ASKING.search(name) and not self.written_anywhere(name):
                    unknown.append(name)
            for p in sorted(places, key=len, reverse=True):
                stripped = re.sub(re.escape(p) + r"(?:省|市|县|区|新区)?", " ", stripped)
            # Latin words in a Chinese question (「Is an 电子印章 valid…」) count through the
            # glossary; a word it does not know is not evidence of anything.
            latin = " ".join(re.findall(r"[a-z][a-z\-]+(?:\s+[a-z][a-z\-]+)*", stripped))
            single = dictionary_words(re.sub(r"(?<![0-9])[a-z][a-z\-]*", " ", stripped))
            cut = _rejoin_unknown(single)
            joined = set(cut) - set(single)
            candidates = [t for t in dict.fromkeys(cut + quoted_terms) if _content(t)]
            for phrase in phrases_in(stripped):
                if any(phrase in t and phrase != t for t in candidates):
                    continue  # 全国人大常委会 already holds 人大常委会
                candidates = _replaced(candidates, set(tokenize(phrase)) | {phrase}, phrase)
            for options in english_terms(latin) if latin else ():
                if options[0] not in candidates:
                    candidates.append(options[0])
                    alternatives[options[0]] = options[1:]
        place_cores = {p.rstrip("省市县区镇乡") for p in places} | set(PLACES)
        terms, named_domain = [], []
        for t in candidates:
            if t in QUESTION_WORDS or t in STOPWORDS or t in generic or t in place_cores:
                continue
            (named_domain if t in domain else terms).append(t)
        # A two-character kind counts as a word of the question or the end of one (停车
        # 收费), never the start (营业 is not asked by 营业厅); a longer one (联系电话,
        # 开放时间) wherever it is written.
        # The longest kind named wins (联系电话 over 电话); of two as long, the later is the
        # head of the phrase: 「热线的号码」 asks the 号码.
        # A kind named only in the scene (「写材料要用：」) is not what is asked.
        asking = fold_for_search(scene.group(2)) if scene_only else folded
        kinds = [w for w in asked_kinds if (len(w) > 2 and w in asking)
                 or any(c.endswith(w) and c not in scene_only for c in candidates)]
        head = max(kinds, key=lambda w: (len(w), folded.rfind(w)), default="")
        if not head and _MATERIALS.search(folded):
            head = "材料"
        if not head and _CHOICE.search(folded):
            head = "推荐"
        if not head and _FACILITY_WHERE.search(folded):
            head = "地址"  # 「世界技能博物馆在哪里」 asks where to find it, not what a plan says of it
        # An English question that names a body in Chinese (「Who heads 国家数据局?」) asks in English.
        in_english = english or len(re.findall(r"[a-z]{2,}", folded)) * 2 > sum(1 for ch in folded if "\u4e00" <= ch <= "\u9fff")
        if not head and in_english:
            head = next((k for p, k in _ENGLISH_KINDS if p.search(folded)), "")
            if not head and question_type(question) is QType.WHO:
                head = next((k for p, k in _ENGLISH_PERSONS if p.search(folded)), "")
        if not head and _AUTHOR.search(folded):
            head = "作者"  # 「这篇文章是谁写的」 asks for the author, whatever words it uses
        fee = _FEE.search(folded)
        if not head and fee and fee.group() not in ("收费", "免费"):
            head = fee.group()  # 「认证费」「评估费」: a fee the answer must name
        action = _PROCEDURE.search(folded)
        also: tuple[str, ...] = ()
        if action:
            # 「怎么报名」「如何申请」: the answer must say how that is done, in its own word.
            verb = _ACTION.get(action.group(1), action.group(1))
            head, also = (head, (verb,)) if head and head != verb else (verb, ())
        for kind in (head, *also):
            if kind and kind not in terms:
                terms.append(kind)
        n = max(len(self.lexical.ids), 1)
        weights: dict[str, float] = {}
        absent: list[str] = []
        top = math.log(1 + (n + 0.5) / 0.5)
        classes = word_classes(folded)
        for t in terms:
            df = self._df(t)
            if t in scene_only and t not in (head, *also):
                # Scene-setting words (材料, 好多, 商场) neither refuse nor much support.
                weights[t] = _SCENE_WEIGHT * math.log(1 + (n - df + 0.5) / (df + 0.5))
                continue
            if df == 0 and not self.used(t):
                # A thing no passage names (房价, 天气, 护照, a person the corpus never
                # mentions) is absent; so is nothing else: a new compound of corpus words
                # (检查费 = 检查 + 费) is not, nor a verb or an adverb the user phrased
                # their way (吃饭, 进门, 天天) — the corpus says those things in its own words.
                if _nominal(t, classes, head) and not self._compound_of_used(t) and not (t in joined and self._written(t)):
                    absent.append(t)
                weights[t] = top
            elif df == 0:  # used, though not as a BM25 term of its own: as rare as can be seen
                weights[t] = math.log(1 + (n - 0.5) / 1.5)
            else:
                weights[t] = math.log(1 + (n - df + 0.5) / (df + 0.5))
        # The question's own words first: the topic a refusal names is theirs, not the scene's.
        weights = dict(sorted(weights.items(), key=lambda kv: kv[0] in scene_only))
        names = tuple(t for t in weights if t not in absent and self.quoted(t))
        return Focus(weights, tuple(named_domain), tuple(absent), tuple(places), years,
                     tuple(w for w in role_words if w in weights), helping, head, also, alternatives,
                     names, tuple(unknown),
                     tail.absent if tail else (), tail.absent_share() if tail and tail.absent else 0.0,
                     tuple(p for p in places if self.written_anywhere(p.rstrip("省市县区") or p)))

    def _with_grams(self, text: str) -> list[int]:
        """Chunks that hold every two-character piece of ``text`` (candidates to read)."""
        # Only runs of word characters are in the index: 「方案(2021—2023)」 is read as
        # 方案 and 2021, 2023.
        runs = re.findall(r"[\u4e00-\u9fff]+|[a-z0-9]+", text)
        grams = [r[i : i + 2] for r in runs if has_cjk(r) for i in range(len(r) - 1)] + [r for r in runs if not has_cjk(r)]
        mask = np.ones(len(self.lexical.ids), dtype=bool)
        for g in grams:
            mask &= self.lexical.scores([g]) > 0
            if not mask.any():
                return []
        return [int(i) for i in np.flatnonzero(mask)]

    def written_anywhere(self, text: str) -> bool:
        """Whether some passage writes ``text`` (quotation marks aside)."""
        key = (self.lexical.revision, "written:" + text)
        if key not in self._used:
            want = _QUOTE_MARKS.sub("", text)
            self._used[key] = any(want in _QUOTE_MARKS.sub("", fold_for_search(self.chunk_text(i)))
                                  for i in self._with_grams(want)[:200])
        return self._used[key]

    def quoted(self, term: str) -> bool:
        """Whether the corpus writes ``term`` as a name, in quotation marks (“随申办”)."""
        if len(term) < 2 or not has_cjk(term):
            return False
        key = (self.lexical.revision, "quoted:" + term)
        if key not in self._used:
            marked = re.compile(rf"[“「\"]{re.escape(term)}[”」\"]")
            self._used[key] = any(marked.search(fold_for_search(self.chunk_text(i))) for i in self._with_grams(term)[:200])
        return self._used[key]

    def _compound_of_used(self, term: str) -> bool:
        parts = [p for p in tokenize(term) if len(p) > 1 and p != term]
        return bool(parts) and all(self.used(p) for p in parts)

    def _written(self, run: str) -> bool:
        """Whether the corpus writes two of the run's characters together. Characters
        jieba left single and `_rejoin_unknown` joined are a name (耶律乞奴) or words of
        the corpus run together (占比提: 「用户占比超过94%」; 底前先: 「年底前」)."""
        return any(bool((self.lexical.scores([run[i : i + 2]]) > 0).any()) for i in range(len(run) - 1))

    def _df(self, term: str) -> int:
        return int(np.count_nonzero(self.lexical.scores([term])))

    def used(self, term: str) -> bool:
        """Whether any passage uses ``term`` as a word (or one of its synonyms): 「市长」
        is not used by 「城市长远发展」, although the characters are there."""
        key = (self.lexical.revision, term)
        if key not in self._used:
            self._used[key] = any(self._uses(t) for t in (term, *synonyms_of(term)))
        return self._used[key]

    def _uses(self, term: str) -> bool:
        if len(term) < 2:
            return True
        grams = [term[i : i + 2] for i in range(len(term) - 1)] if has_cjk(term) else [term]
        mask = np.ones(len(self.lexical.ids), dtype=bool)
        for g in grams:
            mask &= self.lexical.scores([g]) > 0
            if not mask.any():
                return False
        for i in np.flatnonzero(mask)[:50]:
            text = self.chunk_text(int(i))
            if term in tokenize(text) or term in words(text):
                return True
        return False


# Characters that are words of their own in a question (particles, light verbs), never
# part of a name jieba does not know.
_LONE = set("的了是在和与及或把被给让向对从由为以之其这那就还又并也都而有上中下所将会能要可得着过吗呢吧啊哪谁几个些什么怎我你他她它们咱您"
            "不没别只再才很太更最来去管认查用做办交收看问说听写买卖吃住走跑找拿送开关进出到打付存取借换领申报填里定")


def _replaced(terms: list[str], parts: set[str], whole: str) -> list[str]:
    """``terms`` with ``parts`` replaced by ``whole`` where the first of them stood: the
    question's order, which the topic of a refusal is read from."""
    out: list[str] = []
    for t in terms:
        if t not in parts:
            out.append(t)
        elif whole not in out:
            out.append(whole)
    return out if whole in out else [*out, whole]


def _nominal(term: str, classes: dict[str, str], head: str) -> bool:
    """A noun, a name, an abbreviation or a foreign word — or a word jieba does not know
    at all (a name: 耶律乞奴) — or the kind of information asked for."""
    flag = classes.get(term)
    return term == head or flag is None or flag.startswith("n") or flag in ("j", "eng", "nz", "vn", "l")


def _rejoin_unknown(tokens: list[str]) -> list[str]:
    """jieba without guessing leaves a word it does not know as single characters
    (「耶律乞奴」 → 耶 律 乞 奴): join such runs back into one unknown word, which the
    corpus then shows to be absent, instead of losing it."""
    out: list[str] = []
    run = ""
    for t in tokens + [""]:
        if len(t) == 1 and "\u4e00" <= t <= "\u9fff" and t not in _LONE:
            run += t
            continue
        if len(run) >= 3:  # 「耶律乞奴」 yes; two stray characters are no name
            out.append(run)
        run = ""
        if t:
            out.append(t)
    return out


def _content(token: str) -> bool:
    """A token that can carry a question's topic: Chinese of two or more characters, or a
    word of another script; not a number."""
    token = token.strip()
    if not token or token.isdigit():
        return False
    if has_cjk(token):
        return len(token) >= 2
    # 6g, 5g, ipv6, gdp: letters with or without digits.
    return bool(re.fullmatch(r"[a-z0-9][a-z0-9\-.]*", token)) and bool(re.search(r"[a-z]", token)) and len(token) >= 2


def join_terms(terms: Sequence[str]) -> str:
    return "、".join(terms)
