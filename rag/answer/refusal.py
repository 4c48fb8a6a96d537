"""Whether to answer, decided in one place from the evidence, with the reason when not.

The checks are the ones an official makes before quoting an answer. The first that fails
decides, and names what failed (`Decision.check`, `Decision.term`), so the refusal can
say it in the user's words (「资料中没有关于上海房价的内容。」):

0. ``task``: the question asks for a text written to order, an opinion or a forecast
   (「写一篇讲话稿」「你觉得……」), which no passage grounds.
1. ``article`` / ``document``: the question names an article or a document the corpus
   does not hold (个人信息保护法第八十条, 国发〔2022〕14号).
2. ``focus``, absent: what the question asks about — its focus (`rag.answer.focus`), not
   its place or domain — is mostly words no passage uses (房价, 天气, 护照).
3. ``year`` / ``place``: a year or plan period (2023, 十三五, 2024—2026) or a place at the
   level named (沅陵县, 杨浦区) is not what the evidence is about; a sibling place's or
   another year's fact is offered as such (「资料只提到泸溪县：……」), never as the answer.
   Also: 「我是社区工作者，怎么帮……」 asks what that role can do, so the evidence must
   speak of the role.
4. ``focus``, the asked kind of information: a question for a 电话, 收费, 地址, a name …
   (``attributes`` in ``rag/text/focus.toml``) needs a sentence that states it.
5. ``answer_type``: a how-many, when, where or who question whose evidence holds no span
   of that kind is answered only by a sentence that carries the whole focus (「2021」 is
   not a price). Nor is a figure an answer when it is a legal range asked as a tally, a
   plan's target asked as where things stand, or the figure the question itself states;
   a date must be of the act asked (发布, not 建成); who holds a post needs a person's
   name (term ``person``); a how-to needs a clause that says how the act is done, not a
   plan that promotes it (term ``steps``, `rag.answer.howto`).
6. ``focus``, support: the answer sentence, read under its headings (its paragraph and
   document at half weight), must carry enough of the focus — a place name or a domain
   word alone never counts — unless it is a close paraphrase by the dense model.
7. ``evidence``: the best passage must be close enough to the question (the only
   lexical-free signal, and the main one for English questions) — unless the question
   names a document the corpus holds, which puts it in scope by name.

The thresholds live in ``refusal.toml``, calibrated by ``python -m eval.calibrate
--write`` on the dev halves of the gold and trap sets and on CMRC 2018 trial only.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from rag.answer import messages as msg
from rag.answer.extractive import Draft, Sentence
from rag.answer.focus import Focus, places_asked, supports
from rag.answer.howto import acts_asked, says_how
from rag.answer.question import QUOTED_PHRASE, QType, asks_holder, asks_task, expected_units, question_type
from rag.retrieve.references import References
from rag.text.normalize import fold_for_search, has_cjk
from rag.text.persons import person_names
from rag.text.places import place_level
from rag.text.synonyms import english_of, expand


@dataclass(frozen=True)
class Thresholds:
    max_absent: float  # share of the focus weight that may be words the corpus never uses
    min_focus: float  # share of the focus weight the answer sentence must support …
    min_sentence_cos: float  # … unless it is this close to the question (a paraphrase); > 1: off
    require_head: float  # 1: the answer sentence must say what is asked about (the question's head)
    min_support_untyped: float  # with no span of the asked kind, the support the sentence needs; > 1: refuse
    min_dense_zh: float
    min_dense_en: float


# The thresholds on cosines belong to the embedding model that made them: use-m3's top
# cosines run 0.3–0.6 where e5-small's run 0.8–0.9, so e5's 0.84 refused 299 of 300
# answerable questions under use-m3. Each model calibrates its own (``[models."use-m3"]``).
PER_MODEL = ("min_sentence_cos", "min_dense_zh", "min_dense_en")


@lru_cache(maxsize=8)
def thresholds(model: str = "") -> Thresholds:
    """The calibrated thresholds, with ``model``'s own cosine thresholds where it has them
    (the others, and models never calibrated, take those of ``[thresholds]``)."""
    data = tomllib.loads(resources.files("rag.answer").joinpath("refusal.toml").read_text(encoding="utf-8"))
    t = {**data["thresholds"], **data.get("models", {}).get(model, {})}
    return Thresholds(**{k: float(t[k]) for k in Thresholds.__dataclass_fields__})


@dataclass(frozen=True)
class Decision:
    """Answer, or refuse saying why. ``related`` is a sentence about a sibling place or
    another year: quoted as 「资料只提到……」, never as the answer."""

    answer: bool
    check: str = ""  # task | article | document | focus | year | place | practice | answer_type | evidence
    term: str = ""  # what failed: 房价, 2023, 沅陵县 …
    detail: str = ""  # for the status line and the logs (no question text)
    topic: str = ""  # the asked place and focus, in the user's words: 上海房价
    related: Sentence | None = None
    related_what: str = ""  # 泸溪县, 2021年

    @property
    def status(self) -> str:
        return "ok" if self.answer else f"refused: {self.check}: {self.detail or self.term}"

    def message(self, english: bool) -> str:
        """The first line of the refusal, in words a user can act on (in English, the topic
        too, as far as the glossary knows it)."""
        topic = self.topic or self.term
        term = self.term
        if english:
            topic, term = english_of(topic), english_of(term)
        if self.check == "focus":
            return (msg.NO_TOPIC_EN if english else msg.NO_TOPIC).format(topic=topic)
        if self.check == "year":
            when = term + ("年" if term[-1:].isdigit() and not english else "")
            return (msg.NO_YEAR_EN if english else msg.NO_YEAR).format(topic=topic, when=when)
        if self.check == "place":
            if self.topic and self.topic != self.term:
                # 「资料中没有关于上海就业的内容」: the corpus may say much of 上海, only not this.
                if english and has_cjk(topic):
                    return msg.NO_PLACE_TOPIC_EN.format(place=term)
                return (msg.NO_TOPIC_EN if english else msg.NO_TOPIC).format(topic=topic)
            return (msg.NO_PLACE_EN if english else msg.NO_PLACE).format(place=term)
        if self.check == "practice":
            return (msg.NO_PRACTICE_EN.format(place=term) if english else msg.NO_PRACTICE.format(topic=topic))
        if self.check == "task":
            return msg.TASK_EN if english else msg.TASK
        if self.check == "answer_type":
            zh, en = msg.SPAN_KIND.get(self.term, ("具体内容", "the detail asked"))
            if english and has_cjk(topic):
                topic = "this"  # a Chinese word the glossary cannot render reads as a typo in English
            return msg.NO_SPAN_EN.format(kind_en=en, topic=topic) if english else msg.NO_SPAN.format(kind=zh, topic=topic)
        return msg.REFUSAL_MESSAGE_EN if english else msg.REFUSAL_MESSAGE


_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(?!\d)")
# A year inside a title (《2020年中国数字经济发展报告》) is not a fact about that year.
_TITLE = re.compile(r"《[^》]*》")
# A five-year-plan period (十四五) and a plan's span of years (「实施方案（2021—2023）」)
# are times the question pins down, matched whole.
_PLAN_PERIOD = re.compile(r"十[一二三四五六七八九]五")
_PERIOD = re.compile(r"(\d{4})\s*[—\-–~至到]\s*(\d{4})")
# A year followed by the kind of document it dates: 「2020年的方案」, "the 2020 plan".
_DOC_YEAR = re.compile(r"(1[89]\d\d|20\d\d)\s*年?\s*(?:版|的|印发的|发布的|出台的)?\s*"
                       r"(?:plan|law|regulations?|notice|guidelines?|decision|方案|规划|条例|法律|法|通知|文件|指引|决定)")
_NEEDS_SPAN = {QType.COUNT: "count", QType.WHEN: "when", QType.WHERE: "where", QType.WHO: "who"}
# 「《X》里……」「《X》对……是怎么规定的」「X规定……」: a question about a document's own content.
_ASKS_CONTENT = re.compile(r"[》法例则定引案见知号文]\s*(?:里|中|中的|对|规定|提出|要求|明确|讲|写|列|定了|有哪些|有什么|的内容|主要)")
# Draft kinds that gather several units, each answering part of the question.
_GATHERED = frozenset({"measures", "practice", "list"})
# Draft kinds whose sentences answer together: a name the question asks about may be in any
# of them (「拍家园和智慧助餐有啥区别」 names one under 上海, the other under 杭州).
_SIDE_BY_SIDE = frozenset({"list", "comparison", "per_document"})
# Draft kinds whose evidence is the reference itself (「数据安全法第二十一条」, 「……的文号」).
_BY_REFERENCE = ("reference", "number")


@dataclass(frozen=True)
class Evidence:
    """What the decision weighs, before any threshold: the failures no threshold can
    excuse, and the three measured shares. Calibration sweeps thresholds over these."""

    first: Decision | None  # the question names what the corpus lacks, or nothing was found
    later: Decision | None  # a year, place, kind of answer or vocabulary the evidence lacks
    absent_share: float
    absent: tuple[str, ...]
    support: float
    missing: tuple[str, ...]
    cosine: float  # the answer sentence's dense similarity to the question
    head: str  # what the question asks about the subject, when the answer sentence does not say it
    untyped: str  # the kind of span asked (count, when, where, who) when the evidence has none
    focused: bool  # the question has focus terms beyond place and domain words
    dense: float
    cjk: bool
    by_reference: bool
    places: tuple[str, ...]
    topic: str
    best: Sentence | None
    # The question names a document the corpus holds (「网络安全法是从哪天开始施行的」):
    # it is in scope by name, so the dense closeness of the passage is not needed.
    scoped: bool = False


def assess(question: str, draft: Draft | None, refs: References, focus: Focus, dense: float) -> Evidence:
    """The evidence for ``question`` (standalone); `decide_on` turns it into a decision."""
    topic = "".join(focus.places) + "".join(list(focus.terms)[:2] or focus.domain[:1])
    cjk = mostly_chinese(question)

    def evidence(first: Decision | None = None, later: Decision | None = None, **kw: object) -> Evidence:
        base = dict(absent_share=focus.absent_share(), absent=focus.all_absent, support=0.0, missing=(), cosine=0.0, head="", untyped="", focused=bool(focus.terms), dense=dense,
                    cjk=cjk, by_reference=False, places=focus.places, topic=topic, best=None)
        base.update(kw)
        return Evidence(first, later, **base)  # type: ignore[arg-type]

    if task := asks_task(question):
        # 「给“技能中国行动”想5条宣传标语」「你觉得城市大脑能不能取代交警」: a text to write or
        # an opinion to give, which no passage can ground.
        return evidence(Decision(False, "task", task, detail="a request to write or judge, not a question on the documents"))
    if refs.missing_articles:
        return evidence(Decision(False, "article", refs.missing_articles[0], topic=topic))
    if refs.missing and not refs.docs and set(refs.missing) - set(refs.mentioned):
        return evidence(Decision(False, "document", "、".join(refs.missing), topic=topic))
    if focus.unknown_names:
        name = focus.unknown_names[0]
        return evidence(Decision(False, "focus", name, detail=f"the corpus never names {name}", topic=name))
    if draft is not None and draft.kind == "undated":
        # 「……条例从哪天开始施行」 of a text that stops before its closing articles.
        return evidence(Decision(False, "answer_type", "when", detail="the document's text held lacks its dating articles",
                                 topic=draft.missing))
    if draft is None or not draft.sentences:
        return evidence(Decision(False, "evidence", detail="no passages", topic=topic))
    by_reference = draft.kind in _BY_REFERENCE
    best = draft.sentences[0]
    if refs.missing and not refs.docs and _ASKS_CONTENT.search(fold_for_search(question)):
        # 「《技能人才薪酬分配指引》对技能津贴是怎么规定的」: what the document itself says is not
        # in the corpus; what other documents say of it is offered as such, not as its content.
        return evidence(Decision(False, "document", "、".join(refs.missing), detail="asks what a document the corpus lacks says",
                                 topic=topic, related=best))
    share, missing = (1.0, []) if by_reference else _support(draft, focus)
    said = fold_for_search(best.context())
    if draft.kind in _GATHERED:
        # A gathered answer (「在资金、金融、税费这些方面」) states the asked kind in any of its units.
        said = fold_for_search("\n".join(s.context() for s in draft.sentences))
    # A named document shown for its own sake answers no asked kind: 「这篇文章是谁写的」 needs
    # a sentence that says the 作者, whatever document is named.
    head = "" if draft.kind == "number" or (by_reference and not focus.head) else next(
        (k for k in (focus.head, *focus.also) if k and not supports(said, k)), "")
    qtype = question_type(question)
    named_article = bool(refs.articles) and len(refs.docs) == 1
    untyped = (_NEEDS_SPAN[qtype] if qtype in _NEEDS_SPAN and not draft.direct_found and not named_article
               and not by_reference else "")
    # A date, a sum of money or a share is stated or it is not: no sentence, however close
    # to the question, answers 「几月举办」 or 「要交多少钱」 without one.
    units = expected_units(question) if qtype is QType.COUNT else frozenset()
    strict = untyped == "when" or (untyped == "count" and bool(units))
    # 「上海现在60岁以上的老人有多少？」 asks a figure of nothing the corpus could count.
    strict = strict or (qtype in (QType.COUNT, QType.WHEN) and not focus.terms and not by_reference)
    kw = dict(support=share, missing=tuple(missing), by_reference=by_reference, best=best, cosine=best.cosine, head=head,
              untyped=untyped, scoped=bool(refs.docs))
    if draft.kind == "practice_elsewhere":
        # Nothing on that place's practice: said first, with what the corpus has on the topic.
        return evidence(Decision(False, "practice", focus.places[0], detail="no practice of that place in the evidence",
                                 topic=draft.missing, related=best))
    later = _hard_checks(question, draft, refs, focus, topic, cjk)
    if later is None and strict:
        kind = untyped or _NEEDS_SPAN.get(qtype, "count")
        later = Decision(False, "answer_type", kind, detail=f"no {kind} span in the evidence", topic=topic)
    return evidence(None, later, **kw)


def mostly_chinese(question: str) -> bool:
    """Whether the question is written in Chinese, not English with a Chinese name in it
    (「When does the 网络数据安全管理条例 take effect?」 is English): the dense threshold
    differs, since the model's cross-lingual cosines run lower."""
    cjk = sum(1 for ch in question if "\u4e00" <= ch <= "\u9fff")
    latin_words = len(re.findall(r"[A-Za-z]{2,}", question))
    return cjk > 0 and cjk >= 2 * latin_words


# The act a who-question asks about: 「向哪个部门备案」 → 备案, 「由谁负责」 → 负责.
_WHO_ACT = re.compile(r"(?:谁|哪(?:些|个|一)?(?:部门|机构|单位|组织))(?:来|去)?(?![来去的是有在能会可应])(?!身上|头上|手里|手上|那里|这里)"
                      r"([\u4e00-\u9fff]{2})")
# Being in charge is said with many verbs: one of them answers another.
_LEADS = ("负责", "牵头", "主管", "统筹", "组织", "推进", "管理", "协调", "指导", "监督", "主导")


def _says_act(context: str, act: str) -> bool:
    text = fold_for_search(context)
    return supports(text, act) or (act in _LEADS and any(v in text for v in _LEADS))


def _hard_checks(question: str, draft: Draft, refs: References, focus: Focus, topic: str, cjk: bool) -> Decision | None:
    """Years, places and the kind of answer the question pins down; English vocabulary."""
    best = draft.sentences[0]
    evidence = "\n".join(dict.fromkeys(s.context() + "\n" + s.paragraph for s in draft.sentences))
    untitled = _TITLE.sub("", evidence)
    asked = refs.residual if refs.docs else question
    qtype = question_type(question)
    # A plan's period (「实施方案（2021—2023）」) is matched whole, titles included: the
    # 2024—2026 plan is not the 2021—2023 one.
    for period in _PERIOD.finditer(asked):
        a, b = period.group(1), period.group(2)
        if not re.search(rf"{a}\s*[—\-–~至到]\s*{b}", evidence):
            return Decision(False, "year", f"{a}—{b}", detail=f"period {a}—{b} not in the evidence",
                            topic="".join(focus.places) + "".join(list(focus.terms)[:1]))
    asked = _PERIOD.sub(" ", asked)
    # A five-year-plan period is a time the question pins down like a year: 「十三五」 is
    # not answered by a 「十四五」 target.
    titles = "\n".join(dict.fromkeys(s.passage.title for s in draft.sentences))
    for plan in _PLAN_PERIOD.findall(asked):
        if plan not in evidence + titles and _period_in_force(best) != plan:
            return Decision(False, "year", plan, detail=f"period {plan} not in the evidence",
                            topic="".join(focus.places) + "".join(list(focus.terms)[:1]))
    # 「the 2016 text」 of a document the question names is that document's own year.
    own_years = {str(s.passage.meta.get(k, ""))[:4] for s in draft.sentences if s.passage.doc_id in refs.docs
                 for k in ("date", "date_published", "date_effective")}
    # 「the State Council's 2020 plan」「2021年的条例」: a year that says which document is meant
    # is that document's, whether or not the question names it otherwise.
    if _DOC_YEAR.search(_TITLE.sub("", asked)):
        own_years |= {str(s.passage.meta.get(k, ""))[:4] for s in draft.sentences
                      for k in ("date", "date_published", "date_effective")} & set(_DOC_YEAR.findall(asked))
    for year in _YEAR.findall(_TITLE.sub("", asked)):
        if year not in untitled and year not in own_years:
            other = next((y for y in _YEAR.findall(_TITLE.sub("", best.text)) if y != year), "")
            return Decision(False, "year", year, detail=f"year {year} not in the evidence",
                            topic="".join(focus.places) + "".join(list(focus.terms)[:1]),
                            related=best if other else None, related_what=f"{other}年" if other else "")
    if draft.kind not in _BY_REFERENCE:
        read = fold_for_search("\n".join(f"{s.context()}\n{s.paragraph}\n{s.passage.title}"
                                          for s in (draft.sentences if draft.kind in _SIDE_BY_SIDE else draft.sentences[:1])))
        name = next((n for n in focus.names if not supports(read, n) and n != _period_in_force(best)), "")
        if name:
            # 「随申办注册用户有多少」 answered by the definition of 大型网络平台: the numbers
            # are there, the thing asked about is not.
            terms = list(focus.terms)
            topic = "".join(terms[terms.index(name):][:3])  # 随申办注册用户, not 随申办: the corpus names it
            return Decision(False, "focus", name, detail=f"the answer sentence is not about {name}", topic=topic)
    where = "\n".join(dict.fromkeys(_where(s) for s in draft.sentences))
    for p in focus.places:
        if not _names(where, p):
            sibling = _sibling(best.text, p)
            # A place the corpus writes elsewhere lacks only what was asked of it (「上海这方面」).
            said = topic if topic != p or p not in focus.places_written else f"{p}这方面"
            return Decision(False, "place", p, detail=f"place {p} not in the evidence", topic=said,
                            related=best if sibling else None, related_what=sibling)
    # Side by side, each place is another sentence's (上海 is the 一网通办 decision's, not the law's).
    if focus.places and draft.kind not in _SIDE_BY_SIDE and not any(_names(_where(best), p) for p in focus.places):
        first = focus.places[0]
        return Decision(False, "place", first, detail="the best sentence is not about the place asked",
                        topic=topic if topic != first or first not in focus.places_written else f"{first}这方面")
    own = best.context()
    if focus.places and not any(_names(own, p) for p in focus.places):
        # The paragraph names 株洲 among others, but the sentence says what 邯郸 did.
        levels = {place_level(p) for p in focus.places}
        others = [o for o in places_asked(best.text)
                  if place_level(o) in levels and not any(_names(o, p) or _names(p, o) for p in focus.places)]
        if others:
            return Decision(False, "place", focus.places[0], detail=f"the answer sentence is about {others[0]}",
                            related=best, related_what=others[0])
    if focus.helping and focus.role and not any(supports(fold_for_search(best.context()), w) for w in focus.role):
        # 「我是社区工作者，怎么帮老人用健康码？」 asks what that role can do; a duty of the
        # government's is related, not an answer.
        role = "".join(focus.role)
        return Decision(False, "focus", role, detail="the evidence does not say what the asker's role can do",
                        topic=role, related=best)
    folded = fold_for_search(asked)
    total = _TOTAL.search(folded)
    if total and draft.direct and _increase_before(best.text, draft.direct):
        # 「技能人才总量有多少」 answered by 「新增技能人才4000万人」: an increase is not the total.
        return Decision(False, "answer_type", "count", detail="the figure is an increase; the question asks a total", topic=topic)
    given = _figure(draft.direct)
    if given and qtype is QType.COUNT and given in fold_for_search(question):
        # 「那48项服务里，临床护理类有几项」「3万多老人当中失能的有多少」 answered 「48项」「3万多」:
        # the figure the question starts from is not the part of it that was asked.
        return Decision(False, "answer_type", "count", detail="the figure given is the one the question states",
                        topic=topic, related=best)
    if _NOW.search(folded) and draft.direct and qtype is QType.COUNT \
            and _TARGET.search(best.text) and not _NOW_SAID.search(best.text):
        # 「目前技能人才占就业人员的比例是多少」 answered by the plan's 「“十四五”期间……达到30%」:
        # a target is not where things stand.
        return Decision(False, "answer_type", "count", detail="the figure is a target; the question asks the present",
                        topic=topic, related=best)
    when_act = _WHEN_ACT.search(folded)
    if when_act and qtype is QType.WHEN and draft.kind not in _BY_REFERENCE \
            and not any(_says_act(s.context(), when_act.group(1)) for s in draft.sentences[:2]):
        # 「建设规划预计什么时候发布」 answered by the year the infrastructure is to be built:
        # a date is given, but not of the act asked about.
        return Decision(False, "answer_type", "when", detail=f"the evidence does not say when it is {when_act.group(1)}",
                        topic=topic, related=best)
    if _TALLY.search(folded) and draft.direct and _PENALTY_RANGE.search(best.text):
        # 「个保法实施以来一共罚了多少钱」 answered by 「处五千万元以下……罚款」: the law's range
        # is what may be imposed, not what was.
        return Decision(False, "answer_type", "count", detail="the figure is a legal range; the question asks what was done",
                        topic=topic, related=best)
    # The residual has lost its quotation marks; a quoted phrase is read off the question.
    act = _WHO_ACT.search(QUOTED_PHRASE.sub("“”", fold_for_search(question))) if QUOTED_PHRASE.search(
        fold_for_search(question)) else _WHO_ACT.search(folded)
    if act and "的" in act.group(1):
        act = None  # 「是谁写的」: no act to check (the author is the head, checked as such)
    if act and qtype is QType.WHO and not _says_act(best.context(), act.group(1)):
        # 「要先向哪个部门备案」 answered by a sentence where nobody 备案s: a body is named,
        # but not the one asked for.
        return Decision(False, "focus", act.group(1), detail=f"the answer sentence does not say who {act.group(1)}",
                        topic=act.group(1), related=best)
    if asks_holder(question) and not any(person_names(s.text) for s in draft.sentences):
        # 「上海市数据专家委员会都有哪些专家」 answered by what the committee is made of, or
        # 「Who is the chief data officer」 by 「相关负责人」: a post or a body is not a person.
        return Decision(False, "answer_type", "person", detail="the evidence names no person", topic=topic,
                        related=best if best.coverage > 0.5 else None)
    acts = acts_asked(question) if draft.kind not in _BY_REFERENCE else ()
    lacking = next((a for a in acts if not any(says_how(s.text, a) for s in draft.sentences)), "")
    if lacking:
        # 「醫保電子憑證怎麼激活」 answered by 「推动通过……医保电子凭证等多介质办理就医服务」:
        # the act is promoted, or not named at all; nothing says how it is done.
        subject = "".join([t for t in focus.terms if t not in acts and t not in lacking][:3])  # 医保 电子 凭证
        named = any(supports(fold_for_search(best.text), a) for a in acts)
        return Decision(False, "answer_type", "steps", detail=f"the evidence does not say how to {lacking}",
                        topic="".join(focus.places) + subject + lacking, related=best if named else None)
    if not cjk and not focus.terms and not (set(expand(question)) - set(places_asked(question))):
        return Decision(False, "evidence", detail="the question names nothing the documents' vocabulary knows")
    return None


_TOTAL = re.compile(r"总量|总数|总共|一共|累计|总计|合计|in total|altogether")
# The figure of a direct answer, as the question would write it (「48项」, 「3万多」).
_FIGURE = re.compile(r"\d[\d.,]*\s*(?:万|亿)?\s*(?:多|余)?\s*[个家项类种名人所户岁]?")


def _figure(direct: str) -> str:
    m = _FIGURE.search(fold_for_search(re.sub(r"\[\d+\]", "", direct)))
    return m.group().strip() if m and len(m.group().strip()) >= 2 else ""


# Asking where things stand now, and a sentence that sets a target instead.
_NOW = re.compile(r"目前|现在|当前|现阶段|如今|眼下|实际(?:已经|上)?|已经|至今|迄今|截至目前|\bcurrently\b|\bnow\b|\bso far\b|\bto date\b")
_TARGET = re.compile(r"^(?:到|至)\s*\d{4}\s*年|期间[，,]|力争|目标|预计|争取|(?:将|要)(?:达到|超过|提高)|在现有基础上提高"
                     # 「支持建设……100个左右技能大师工作室」: how many a plan will build.
                     r"|(?:建设|新建|培育|开发|遴选|打造|布局)[^，。；]{0,20}?\d+[^，。；]{0,3}?左右")
_NOW_SAID = re.compile(r"截至|已经|已达|目前|累计")
# When an act is done, asked of a thing: 「预计什么时候发布」「何时开通」.
_WHEN_ACT = re.compile(r"(?:什么时候|何时|哪一?年|哪一?天|几月)(?:能|会|要|将|才|正式|开始)?"
                       r"(发布|出台|印发|公布|开通|上线|开放|举办|召开|启动|竣工|开业|开馆)")
# A question about what happened, not what a rule allows: 「罚了多少」「实施以来」「至今」.
_TALLY = re.compile(r"[罚花收赔拨]了|实施以来|施行以来|至今|迄今|截至目前|截止目前|到目前为止|so far|to date|have been fined|were fined")
_PENALTY_RANGE = re.compile(r"处[^。；]{0,30}(?:以下|以上)[^。；]{0,12}罚款")
_INCREASE = re.compile(r"(?:新增|增加|增长|提高|新建|新培育|扩大)[^，。；]{0,12}$")


def _increase_before(sentence: str, span: str) -> bool:
    """Whether the figure ``span`` is stated as an increase (「新增技能人才4000万人」)."""
    first = re.split(r"[，,；;、]", re.sub(r"\[\d+\]", "", span))[0].rstrip("。")  # 「4000万人以上，达到35%」
    text = fold_for_search(sentence)
    at = text.find(fold_for_search(first))
    return at > 0 and bool(_INCREASE.search(text[:at])) and not _TOTAL.search(text)


def decide_on(ev: Evidence, t: Thresholds | None = None) -> Decision:
    """The decision on assessed evidence, under thresholds ``t`` (the calibrated ones)."""
    t = t or thresholds()
    if ev.first is not None:
        return ev.first
    if ev.absent and ev.absent_share > t.max_absent and not ev.by_reference:
        term = ev.absent[0]
        return Decision(False, "focus", term, detail=f"absent from the corpus: {'、'.join(ev.absent)}",
                        topic="".join(ev.places) + term)
    if ev.later is not None:
        return ev.later
    if ev.head and t.require_head >= 1:
        # 「……的联系电话是多少」 answered by a sentence on the 服务站 that gives no 电话.
        return Decision(False, "focus", ev.head, detail=f"the answer sentence does not say {ev.head}",
                        topic="".join(ev.places) + ev.head, related=ev.best)
    if ev.untyped and (ev.support < t.min_support_untyped or not ev.focused):
        # A how-many (where, when, who) question whose evidence holds no span of that kind
        # is answered only by a sentence that carries the whole question: 「2021」 is not a price.
        return Decision(False, "answer_type", ev.untyped, detail=f"no {ev.untyped} span in the evidence",
                        topic=ev.topic)
    if not ev.by_reference and ev.support < t.min_focus and ev.cosine < t.min_sentence_cos:
        term = ev.missing[0] if ev.missing else ""
        # The sentence carries part of what was asked: offered as such (「资料只提到……」).
        related = ev.best if ev.support > 0 else None
        return Decision(False, "focus", term, detail=f"the answer sentence supports {ev.support:.2f} of the focus",
                        topic="".join(ev.places) + term, related=related)
    if not ev.by_reference and not ev.scoped and ev.dense < (t.min_dense_zh if ev.cjk else t.min_dense_en):
        return Decision(False, "evidence", detail=f"weak evidence (dense={ev.dense:.2f})", topic=ev.topic)
    return Decision(True)


def decide(
    question: str,
    draft: Draft | None,
    refs: References,
    focus: Focus,
    dense: float,
    t: Thresholds | None = None,
) -> Decision:
    """The decision for ``question`` (standalone) on its evidence; see the module docstring."""
    return decide_on(assess(question, draft, refs, focus, dense), t)


def _support(draft: Draft, focus: Focus) -> tuple[float, list[str]]:
    """How much of the focus the answer's own sentence carries. A list answer is read as
    its heading and items; a side-by-side answer needs each document's sentence to carry it."""
    if draft.kind == "list":
        return focus.support("\n".join(s.context() for s in draft.sentences))
    if draft.kind == "per_document":
        return min((_read(focus, s) for s in draft.sentences), key=lambda x: x[0])
    return _read(focus, draft.sentences[0])


def _read(focus: Focus, s: Sentence) -> tuple[float, list[str]]:
    """The sentence's support, its paragraph's at half weight: the subject of 「这个平台按照
    ……原则」 is named one sentence earlier; a topic the paragraph never names stays unsupported."""
    own, missing = focus.support(s.context())
    around, _ = focus.support(f"{s.context()}\n{s.paragraph}\n{s.passage.title}")
    return own + 0.5 * (around - own), missing


def _period_in_force(s: Sentence) -> str:
    """The plan period the text has set by the sentence: a status section opens with
    「“十三五”时期，……」 and its later paragraphs (「……IPv6活跃用户数达到4.6亿」) speak of
    that period without naming it again. Only the sentence's own section counts."""
    before = s.passage.text[: max(0, s.start - s.passage.start)]
    named = _PLAN_PERIOD.findall(before)
    return named[-1] if named else ""


def _where(s: Sentence) -> str:
    """What places a sentence speaks of: its own words, its paragraph, its document's title
    and, for a document about one place (深圳's regulation says 本市, not 深圳), that place."""
    cities = s.passage.meta.get("cities") or ()
    own = cities[0] if len(cities) == 1 else ""
    return f"{s.context()}\n{s.paragraph}\n{s.passage.title}\n{own}"


def _names(text: str, place: str) -> bool:
    folded = fold_for_search(text)
    return place in folded or place.rstrip("省市县区镇乡") in folded


def _sibling(sentence: str, place: str) -> str:
    """A place of the same level the sentence is about instead (泸溪县 for 沅陵县)."""
    level = place[-1] if place[-1] in "省市县区镇乡" else ""
    for other in places_asked(sentence):
        if other != place and (not level or other.endswith(level) or not other[-1] in "省市县区镇乡"):
            return other
    return ""
