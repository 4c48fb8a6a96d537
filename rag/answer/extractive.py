"""The default answerer: extractive and grounded, no language model needed.

It reads the sentences of the top passages, scores each against the question —
idf-weighted coverage of the question's terms (with synonyms), the dense similarity of
the sentence to the question (so English questions find Chinese sentences), whether the
sentence holds the kind of thing asked for (a number for 多少, a date for 何时 …), and
the passage's retrieval rank — then composes a short answer: a direct answer first
(the span itself for factoid questions), then the supporting sentences, each with its
[n]. Every citation quotes an exact span of the cleaned document.
"""

from __future__ import annotations

import math
import re
import tomllib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

import numpy as np

from rag.answer.question import (
    DATE,
    FACTOID_TYPES,
    FREQUENCY_SPAN,
    NUMBER,
    QUOTED_PHRASE,
    QType,
    asks_frequency,
    count_asks,
    expected_units,
    fits_units,
    question_type,
)
from rag.index.index import Index
from rag.answer.focus import Focus, generic_words, supports
from rag.answer.intent import Intent, intent_of, intent_words, section_words
from rag.locator import locator
from rag.retrieve.references import References, find_number
from rag.retrieve.searcher import definition_pattern
from rag.text.normalize import fold_for_search, has_cjk
from rag.text.numerals import int_to_cn
from rag.text.outline import Node, structure
from rag.text.places import PLACES, places_in
from rag.text.sentences import split_sentences
from rag.text.synonyms import expand
from rag.text.tokenize import tokenize_query
from rag.types import Citation, Passage

# A named place: a known place name with its optional suffix, or a short name ending in
# an administrative suffix («徐汇区»), never a generic word such as 城市/社区/地区.
_PLACE = re.compile(
    "(?:" + "|".join(PLACES) + r")(?:省|市|区|县)?"
    r"|(?<![\u4e00-\u9fff])[\u4e00-\u9fff]{2,3}(?:省|市|区|县)(?<!城市)(?<!社区)(?<!地区)(?<!城区)(?<!市区)"
    # A development zone by its own name, wherever it stands: 临港新片区, 浦东新区.
    r"|[\u4e00-\u9fff]{2}(?:新片区|新区)(?<!全新区)"
    # Where data must be stored: 「在境内存储」.
    r"|(?:中华人民共和国)?境[内外]"
)
_PLACE_RUN = re.compile(f"(?:{_PLACE.pattern})(?:[、和及与]?(?:{_PLACE.pattern}))*")
_ORG = re.compile(
    # 委员会 before 委: 「中央军事委员会」, not 「中央军事委」.
    r"[\u4e00-\u9fff]{2,20}(?:部(?![分署门际])|局(?![限面势])|委员会|委(?!托|员)|中心|办公室|政府|厅|院(?![校子])|平台|企业|集团|公司)"
)
# People a 谁 question can ask for in a law: 「需要谁同意」 → 父母或者其他监护人.
_ROLE_HEAD = (r"(?:其他)?(?:监护人|父母|近亲属|配偶|子女|本人|(?:单位)?主要负责人|相关负责人|负责人|法定代表人|当事人|申请人|权利人|继承人|受托人|"
              r"委托人|处理者|运营者|提供者|经营者|管理者|使用者|工作人员|主管部门|有关部门|网信部门|"
              r"(?:肢体|视力|听力|言语|智力|精神)?残疾人|老年人|孕妇|未成年人|儿童|患者|消费者|公民|居民|村民|职工|劳动者|从业人员|用户|家属|乘客|旅客)")
_ROLE = re.compile(rf"{_ROLE_HEAD}(?:(?:或者|或|和|及|以及|、){_ROLE_HEAD})*")
# Verbs and generic heads that make an «organisation» match say nothing specific.
_ORG_LEAD = re.compile(r"^(?:借助|通过|利用|依托|联合|由|在|与|和|向|对|为|让|推动|优化|健全|建立|设立|成立|组建|组织|会同)+")
_GENERIC_ORG = frozenset({"互联网平台", "网络平台", "平台", "政府", "企业", "公司", "部门", "中心", "政府部门", "龙头企业"})
# A department as the subject of a clause (「市科技部门应当会同有关部门……」): what a
# 「哪个部门」 question asks for; the bodies it works with are not.
_DEPT = re.compile(r"(?:^|(?<=[，；。：:\s]))((?:省|市|县|区|国家|国务院)?[\u4e00-\u9fff]{1,12}?(?:主管部门|部门|机关))"
                   r"(?=应当|负责|会同|统筹|牵头|按照|依法|定期|组织|可以|指导|建立|推进|制定|发布)")
# Bodies a sentence names only in passing: a candidate of last resort.
_VAGUE_BODY = frozenset({"有关部门", "相关部门", "主管部门", "有关主管部门", "负责人", "人民政府"})
# 「处五万元以上五十万元以下罚款」: a range is one answer, not its lower bound.
# A question about a fine: 罚款, 罚多少, "how large is the fine", "penalty".
_FINE_ASKED = re.compile(r"罚|\bfine[sd]?\b|\bpenalt")
_RANGE_REST = re.compile(r"[\d.,一二三四五六七八九十百千万亿两零〇]+\s*(?:%|％)?\s*(?:万元|亿元|元|倍|日|天|年|个月|小时|个|人)?(?:以下|以内)")
_OR_REST = re.compile(r"(?:或者|或)[^，。；;]{0,14}?(?:以下|以上)")


@dataclass
class Sentence:
    """A candidate sentence: its span in the document and how well it answers."""

    passage: Passage
    start: int
    end: int
    text: str
    paragraph: str = ""  # the whole paragraph around the sentence (context for support checks)
    coverage: float = 0.0
    dense: float = 0.0
    typed: float = 0.0
    prior: float = 0.0
    score: float = 0.0
    heading: bool = False  # a heading line standing in as a candidate, not a sentence of the text
    cosine: float = 0.0  # dense similarity to the question, as the model gives it
    # The group it was composed under (the place of a comparison, the list's section …),
    # the label the LLM mode gives it as a source.
    group: str = ""

    def context(self) -> str:
        """What the sentence is read with: its section path, and for a document about one
        place its title and place (an article of 《上海市数据条例》 says 本市, and means 上海)."""
        cities = self.passage.meta.get("cities") or []
        own = (self.passage.title + "".join(cities)) if len(cities) == 1 else ""
        return f"{own}\n{self.passage.section}\n{self.text}"


@dataclass
class Draft:
    """An extractive answer before script conversion: text pieces with their citations."""

    direct: str
    sentences: list[Sentence]
    citations: list[Citation]
    text: str
    support: float  # best sentence score in [0, 1]
    coverage: float  # idf-weighted share of the question's terms found in the best sentence
    direct_found: bool = False  # a factoid span (number/date of the asked kind) was found
    # How it was composed: "sentences" (the best ones), "list" (a section's items),
    # "per_document" (one answer per named document), "reference" (the named article),
    # "number" (a document's 文号), "practice" / "practice_elsewhere" (a place's, or none),
    # "comparison" (places side by side), or an intent's value for whole units
    # ("definition", "yesno", "procedure", "explanation", "measures", "problems" …).
    kind: str = "sentences"
    # What the composition looked for and did not find («北京在教育方面» for a place's practice).
    missing: str = ""
    # The answer's first line when it says so (「资料中没有北京在教育方面的具体做法；……」):
    # every mode says it first.
    notice: str = ""


class ExtractiveAnswerer:
    """Picks and cites sentences; see the module docstring."""

    def __init__(self, index: Index, max_sentences: int = 3, use_dense: bool = True) -> None:
        self.index = index
        self.max_sentences = max_sentences
        self.use_dense = use_dense

    # ---- term weights --------------------------------------------------------------

    def term_weights(self, question: str) -> dict[str, float]:
        """Question terms with idf weights; a term the corpus never uses gets the top weight
        (it is what makes 「深圳的养老补贴标准」 unanswerable here)."""
        # English words never occur in Chinese text: for an English question only the
        # glossary's Chinese terms count, at full weight.
        english = not has_cjk(question)
        terms = [] if english else list(dict.fromkeys(tokenize_query(question)))
        syn = [t for t in dict.fromkeys(expand(question)) if t not in terms]
        lex = self.index.lexical
        n = max(len(lex.ids), 1)
        weights: dict[str, float] = {}
        for t in terms + syn:
            df = int(np.count_nonzero(lex.scores([t])))
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            weights[t] = idf * (0.5 if t in syn and not english else 1.0)
        return weights

    # ---- scoring -------------------------------------------------------------------

    def candidates(self, passages: list[Passage], limit: int = 4) -> list[Sentence]:
        """Sentences of the top passages, plus the heading each passage sits under: a heading
        such as 「（三）数字技术在解决…制度性、根源性问题仍有局限」 is often the best answer."""
        seen: set[tuple[str, int]] = set()
        out = []
        for rank, p in enumerate(passages[:limit]):
            doc = self.index.docs.document(p.doc_id)
            prior = 1.0 / (1 + 0.5 * rank)
            head = self._heading_of(p) if doc is not None else None
            if head is not None and (p.doc_id, head.start) not in seen:
                seen.add((p.doc_id, head.start))
                out.append(Sentence(p, head.title_start, head.title_end, head.title, head.title, prior=0.9 * prior,
                                    heading=True))
            for s, e in split_sentences(p.text, offset=p.start):
                if (p.doc_id, s) in seen:
                    continue
                seen.add((p.doc_id, s))
                para = ""
                if doc is not None:
                    para = doc.text[doc.text.rfind("\n", 0, s) + 1 : (doc.text.find("\n", e) + 1 or len(doc.text) + 1) - 1]
                out.append(Sentence(p, s, e, p.text[s - p.start : e - p.start], para, prior=prior))
        return out

    def _article_text(self, s: Sentence) -> str:
        """The whole article a sentence of a law belongs to, '' outside articles."""
        doc = self.index.docs.document(s.passage.doc_id)
        if doc is None:
            return ""
        outline = structure(doc.text)
        arts = [i for i in outline.path_at(s.start) if outline.nodes[i].kind == "article"]
        if not arts:
            return ""
        node = outline.nodes[arts[-1]]
        return doc.text[node.start : node.end]

    def _heading_of(self, p: Passage) -> Node | None:
        """The innermost heading above the passage, when the passage sits right under one
        (an article's or an item's name is part of its own text, not a heading line)."""
        if not p.section:
            return None
        doc = self.index.docs.document(p.doc_id)
        if doc is None:
            return None
        title = p.section.split(" > ")[-1]
        above = [h for h in structure(doc.text).nodes
                 if h.kind == "heading" and h.title_end <= p.start and h.title == title]
        return above[-1] if above else None

    def score(self, question: str, sentences: list[Sentence], weights: dict[str, float]) -> None:
        qtype = question_type(question)
        units = expected_units(question) if qtype is QType.COUNT else frozenset()
        main = {t: w for t, w in weights.items()}
        total = sum(w for t, w in main.items()) or 1.0

        def covered(text: str, head: str) -> float:
            folded = fold_for_search(text)
            got = sum(w if t in folded else 0.5 * w if head and t in head else 0.0 for t, w in main.items())
            return min(got / total, 1.0)

        # 「……逾期不改罚多少」: the fine is a clause of the article that states the offence
        # (「……的，由……责令限期改正；逾期未改正的，处一万元以上十万元以下罚款」), or sits
        # above the list of offences it punishes, so the clause is read with its article.
        fines = "元" in units and bool(_FINE_ASKED.search(fold_for_search(question)))
        for s in sentences:
            head = fold_for_search(s.passage.section.split(" > ")[-1]) if s.passage.section else ""
            s.coverage = covered(s.text, head)
            s.typed = _type_match(qtype, s.text, units)
            if fines and s.typed and "罚" in s.text and (article := self._article_text(s)) \
                    and not fold_for_search(article).startswith(fold_for_search(s.text)):  # a clause after the first
                # The clause's own words still tell its article's clauses apart: 「造成大量
                # 数据泄露的」 is the clause with the higher fine.
                s.coverage = max(s.coverage, 0.7 * covered(article, head) + 0.3 * s.coverage)
                s.paragraph = article
        if self.use_dense and sentences:
            q = np.asarray(self.index.embeddings.embed_query(fold_for_search(question)), dtype=np.float32)
            m = np.asarray(self.index.embeddings.embed_documents([s.text for s in sentences]), dtype=np.float32)
            sims = m @ q
            lo, hi = float(sims.min()), float(sims.max())
            for s, v in zip(sentences, sims):
                s.dense = (float(v) - lo) / (hi - lo) if hi > lo else 0.5
                s.cosine = float(v)
        folded_q = fold_for_search(question)
        defining = bool(_ASKS_DEFINITION.search(folded_q))
        intent = intent_of(question)
        listing = intent_words(intent) if intent in (Intent.MEASURES, Intent.PROBLEMS) else ()
        listing = tuple(w for w in listing if w in folded_q)
        for s in sentences:
            s.score = 0.5 * s.coverage + 0.25 * s.dense + 0.1 * s.typed + 0.15 * s.prior
            if s.text == s.paragraph and _novelty(s.text, folded_q) < 0.3:
                # A heading that only restates the question is where the answer is, not the answer.
                s.score *= 0.5
            if listing and _enumerates(s.text, s.paragraph, listing):
                # 「面临一些问题和挑战：A；B；C。」 is the document's own list of what was asked,
                # in one sentence, wherever it sits in the outline.
                s.score += _ENUMERATION_BONUS
            if defining and _defines(s.text, weights):
                # 「怎么定义公共数据」: the definition clause (「公共数据，是指……」), not the
                # sentences that merely use the term.
                s.score += 0.3

    # ---- composing -----------------------------------------------------------------

    def answer(
        self, question: str, passages: list[Passage], refs: References | None = None, focus: Focus | None = None
    ) -> Draft | None:
        """The best-supported answer, or None when no passage has a usable sentence.

        ``refs`` says which documents the question names: their names are not terms the
        evidence must repeat (an article does not quote its law's title), a question that
        is nothing but a reference (「数据安全法第二十一条」) is answered with the article,
        and a question about several documents gets each document's answer.
        """
        if refs is not None and refs.articles and len(refs.docs) == 1:
            # 「政府信息公开条例第25条……」: the answer is in that article, not in its neighbours.
            labels = {f"第{int_to_cn(n)}条" for n in refs.articles}
            passages = [p for p in passages if p.section.rsplit(" > ", 1)[-1] in labels] or passages
        sentences = self.candidates(passages)
        if not sentences:
            return None
        named = bool(refs and (refs.docs or refs.articles))
        if refs is not None and len(refs.docs) == 1 and _ASKS_NUMBER.search(fold_for_search(question)):
            return self._doc_number(refs.docs[0], passages)
        if refs is not None and len(refs.docs) == 1 and _ASKS_IDENTITY.fullmatch(
                re.sub(r"[\s?？。,，!！]+", "", fold_for_search(refs.residual))):
            # 「国发〔2021〕29号是个什么文件？」: the document's own head lines say it.
            named_doc = self._doc_identity(refs.docs[0], passages)
            if named_doc is not None:
                return named_doc
        if refs is not None and len(refs.docs) == 1 and any(
                question_type(part) is QType.WHEN for part in [question, *re.split(r"[？?]", question)] if part.strip()):
            # 「上海市数据条例什么时候开始实施？」: the document's own dating line answers it.
            dated = self._doc_date(refs.docs[0], refs.residual, passages)
            if dated is not None:
                return dated
        asked = refs.residual if named and refs is not None else question
        if named and not _has_content(asked):
            return self._reference(passages)
        weights = self.term_weights(asked)
        self.score(question, sentences, weights)
        if focus is not None:
            # The answer comes from a sentence about what was asked: carrying the question's
            # focus counts, as the decision to answer will check.
            for s in sentences:
                s.score += 0.2 * focus.support(s.context())[0]
        ranked = sorted(sentences, key=lambda s: -s.score)
        qtype = question_type(question)
        if refs is not None and len(refs.docs) > 1:
            several = self._per_document(refs.docs, ranked, intent_of(question) in _UNIT_INTENTS, refs.residual)
            if several is not None:
                return several
            if intent_of(question) is Intent.COMPARISON and not _has_content(_SHAPE_WORDS.sub(" ", refs.residual)):
                # 「数据安全法和个人信息保护法有什么区别？」 asks nothing narrower: what each
                # document is for (its purpose article), side by side — not one unit labelled
                # with the first document's name.
                return self._purposes(refs.docs, ranked[0])
        # Only a question that asks for nothing but the list (「有哪些对策建议」, not 「政策建议
        # 要求适应哪些需求」) is answered with a whole section of the outline.
        intent = intent_of(question)
        title = fold_for_search(passages[0].title) if passages else ""
        sections = section_words(intent) if not _content_besides(weights, intent_words(intent), asked, title) else ()
        if intent in (Intent.COMPARISON, Intent.PRACTICE) and focus is not None and len(focus.places) > 1:
            compared = self._compare_places(passages, focus)
            if compared is not None:
                return compared
        if intent is Intent.PRACTICE and focus is not None and focus.places and (focus.domain or focus.terms):
            practice = self._practice(passages, focus)
            if practice is not None:
                return practice
        if intent is Intent.PRACTICE and focus is not None and len(focus.places) == 1 and not focus.terms:
            # 「上海做了什么？」: all of the place's practice, grouped by service domain.
            practice = self._practice_by_domain(passages, focus.places[0])
            if practice is not None:
                return practice
        if qtype is QType.LIST or sections or intent in (Intent.MEASURES, Intent.PROBLEMS):
            # 「有哪些对策建议」「What does the paper recommend?」: the document's own list.
            listing = self._heading_list(question, passages, weights, ranked[0].coverage, sections, ranked)
            if listing is not None:
                return listing
        if intent is Intent.DEFINITION:
            # 「“中枢”“数字驾驶舱”“应用场景”分别是什么意思」: each named term's own definition.
            named = [fold_for_search(m.group())[1:-1] for m in QUOTED_PHRASE.finditer(fold_for_search(question))]
            docs = refs.docs if refs is not None and refs.docs else tuple(dict.fromkeys(s.passage.doc_id for s in ranked))
            several = self._definitions_of(named, docs, ranked[0]) if len(named) > 1 else None
            if several is not None:
                return several
        if intent in _UNIT_INTENTS or qtype is QType.LIST:
            # 「什么是个人信息」「能不能拒绝提供服务」「怎么申请信息公开」: whole articles (or
            # paragraphs), not three loose sentences — the conditions and exceptions are the answer.
            units = self._units(asked, intent if intent in _UNIT_INTENTS else Intent.MEASURES, ranked,
                                refs.docs if refs is not None else (), focus.head if focus is not None else "")
            if units is not None:
                return units
        best, direct = ranked[0], ""
        if qtype is QType.WHICH_DOC:
            # 「哪部法律规定……」 is answered with the document and the article.
            direct = self._locator(best)
        if qtype in FACTOID_TYPES:
            # The direct answer comes from the best-scoring sentence that holds a span of the
            # asked kind — and, when the question names a place, not from a sentence about
            # another place (「株洲帮多少人」 must not be answered with 常州's 3200名).
            places = places_in(fold_for_search(question))
            pool: list[tuple[Sentence, str]] = []
            for s in ranked:
                if s.score < 0.6 * ranked[0].score:
                    break
                if places and _about_other_place(s.text, places):
                    continue
                span = direct_answer(qtype, s.text, weights, question)
                if span:
                    pool.append((s, span))
            if pool:
                # The span must sit in a sentence about what was asked: among the sentences
                # that hold one, the one that carries more of the question's focus wins.
                best, direct = max(pool, key=lambda c: c[0].score)
        chosen = [best]
        for s in ranked:
            if len(chosen) >= self.max_sentences:
                break
            if s is not best and s.score >= 0.75 * ranked[0].score and s.coverage > 0:
                chosen.append(s)
        # Read in document order within a passage, best passage first.
        order = {id(p): i for i, p in enumerate(passages)}
        chosen.sort(key=lambda s: (s is not best, order.get(id(s.passage), 0), s.start))

        citations: list[Citation] = []
        numbered: dict[tuple[str, int, int], int] = {}
        lines = []
        for s in chosen:
            key = (s.passage.doc_id, s.start, s.end)
            if key not in numbered:
                numbered[key] = len(citations) + 1
                citations.append(citation_of(numbered[key], s))
            lines.append(with_marker(s.text, numbered[key]))
        text = "\n".join(lines)
        if direct:
            text = f"{direct}[{numbered[(best.passage.doc_id, best.start, best.end)]}]。\n{text}"
        return Draft(direct or lines[0], chosen, citations, text, best.score, best.coverage, bool(direct))

    def _locator(self, s: Sentence) -> str:
        doc = self.index.docs.document(s.passage.doc_id)
        return locator(doc.meta, doc.text, s.start) if doc is not None else f"《{s.passage.title}》"

    def _doc_number(self, doc_id: str, passages: list[Passage]) -> Draft | None:
        """「……的文号是什么」: the 文号 where the document's own text states it, or None
        (the refusal) when the text states none — a 文号 nobody can check is not quoted."""
        doc = self.index.docs.document(doc_id)
        at = find_number(doc.meta, doc.text) if doc is not None else None
        if doc is None or at is None:
            return None
        start, end = at
        line_start = doc.text.rfind("\n", 0, start) + 1
        line_end = doc.text.find("\n", end)
        line_end = len(doc.text) if line_end < 0 else line_end
        holder = next((p for p in passages if p.doc_id == doc_id and p.start <= start < p.end), None)
        passage = holder or Passage(_chunk_at(self.index, doc_id, start), doc_id, doc.meta.title, "", "", 0.0,
                                    line_start, line_end, meta=doc.meta.to_dict())
        s = Sentence(passage, line_start, line_end, doc.text[line_start:line_end], doc.text[line_start:line_end],
                     coverage=1.0, score=1.0)
        number = doc.text[start:end]
        return Draft(number, [s], [citation_of(1, s)], f"{number}[1]。\n{with_marker(s.text, 1)}", 1.0, 1.0, True,
                     kind="number")

    def _practice(self, passages: list[Passage], focus: Focus) -> Draft | None:
        """「上海在养老服务数字化方面有哪些做法？」: every retrieved sentence about that place
        and that topic, in document order, each cited — or, when the corpus has none for
        that place, a first line that says so and what it has on the topic elsewhere."""
        place = focus.places[0]
        core = place.rstrip("省市县区")
        # The service domain asked about (教育 in 「教育公共服务」), not the corpus's own subject.
        specific = tuple(d for d in focus.domain if d not in _CORPUS_SUBJECT)
        if len(_topics(specific + tuple(focus.terms))) > 1:
            return None  # 「在公共卫生和养老方面分别……」 compares domains: the general path answers it
        # A service domain the question names, else its own terms (智慧养老 over the corpus's
        # 服务), else the generic domain words.
        topic_words = specific or tuple(focus.terms) or focus.domain
        topic = topic_words[0]
        on_topic = [c for c in self.candidates(passages, limit=len(passages))
                    if not c.heading and any(supports(fold_for_search(c.context()), w) for w in topic_words)]
        if not on_topic:
            return None

        here = sorted((c for c in on_topic if _about_place(c, core)), key=lambda c: (c.passage.doc_id, c.start))
        picked: list[Sentence] = []
        used = 0
        for c in here:
            if used + len(c.text) > _LIST_BUDGET and picked:
                break
            picked.append(c)
            used += len(c.text)
        if picked:
            head = f"资料中{place}在{topic}方面的做法："
            kind = "practice"
        else:
            # Nothing about that place: say so first, then what the corpus says on the topic.
            # Other places' practice on the topic first: what the user can learn from instead.
            picked = sorted(on_topic, key=lambda c: (not any(w in fold_for_search(c.text) for w in topic_words),
                                                     not places_in(fold_for_search(c.text)),
                                                     not any(w in fold_for_search(c.passage.section) for w in topic_words),
                                                     -c.prior))[:3]
            head = f"资料中没有{place}在{topic}方面的具体做法；关于{topic}，资料提到："
            kind = "practice_elsewhere"
        citations = [citation_of(n, c) for n, c in enumerate(picked, 1)]
        text = head + "\n" + "\n".join(with_marker(c.text, n) for n, c in enumerate(picked, 1))
        missing = f"{place}在{topic}方面" if kind == "practice_elsewhere" else ""
        return Draft("", picked, citations, text, 1.0, 1.0, False, kind=kind, missing=missing,
                     notice=f"资料中没有{place}在{topic}方面的具体做法。" if missing else "")

    def _practice_by_domain(self, passages: list[Passage], place: str) -> Draft | None:
        """Every retrieved sentence about ``place``, one line per service domain (就业, 教育,
        卫生, 养老 … as the sentence's section or text names it), in document order."""
        core = place.rstrip("省市县区")
        # Sentences, not a title or a sign-off line (「2020年10月27日……会议通过」).
        about = sorted((c for c in self.candidates(passages, limit=len(passages))
                        if not c.heading and _about_place(c, core) and re.search(r"[，；]", c.text)
                        and not _ADOPTED.search(c.text)), key=lambda c: (c.passage.doc_id, c.start))
        groups: dict[str, list[Sentence]] = {}
        used = 0
        for c in about:
            if groups and used + len(c.text) > _LIST_BUDGET:
                break
            domain = _domain_of(c.passage.section) or _domain_of(c.text) or "其他"
            c.group = domain
            groups.setdefault(domain, []).append(c)
            used += len(c.text)
        # A domain's practice is what was asked; sentences of no service domain are not.
        groups.pop("其他", None)
        if len(groups) < 2 and sum(map(len, groups.values())) < 2:
            return None  # one sentence is a factoid's answer, not a place's practice
        lines, picked, citations = _grouped(groups.items())
        text = "\n".join([f"资料中{place}的做法，按服务领域：", *lines])
        return Draft("", picked, citations, text, 1.0, 1.0, False, kind="practice")

    def _compare_places(self, passages: list[Passage], focus: Focus) -> Draft | None:
        """「深圳和杭州在数字公共卫生方面的做法有什么不同？」: each place's sentences on the
        topic, side by side, each place under its name — and a place the corpus says nothing
        of on the topic, said so in its place."""
        specific = tuple(d for d in focus.domain if d not in _CORPUS_SUBJECT)
        topic_words = specific or tuple(focus.terms) or focus.domain
        if not topic_words:
            return None
        # Named as a service topic (智慧养老), not as one place's project (拍家园, 智慧助餐).
        topic = next((t for t in topic_words if _domain_of(t) and t not in focus.names), topic_words[0])
        pool = [c for c in self.candidates(passages, limit=len(passages))
                if not c.heading and any(supports(fold_for_search(c.context()), w) for w in topic_words)]
        share = _LIST_BUDGET // len(focus.places)
        groups: list[tuple[str, list[Sentence]]] = []
        for place in focus.places:
            core = place.rstrip("省市县区")
            used, mine = 0, []
            for c in sorted((c for c in pool if _about_place(c, core)), key=lambda c: (c.passage.doc_id, c.start)):
                if mine and used + len(c.text) > share:
                    break
                c.group = place
                mine.append(c)
                used += len(c.text)
            groups.append((place, mine))
        if not any(m for _, m in groups):
            return None
        lines, picked, citations = _grouped(groups, empty=lambda p: f"资料中没有{p}在{topic}方面的具体做法。")
        absent = [p for p, m in groups if not m]
        notice = "；".join(f"资料中没有{p}在{topic}方面的具体做法" for p in absent) + "。" if absent else ""
        text = "\n".join([f"资料中{'和'.join(focus.places)}在{topic}方面的做法分别是：", *lines])
        return Draft("", picked, citations, text, 1.0, 1.0, False, kind="comparison", notice=notice)

    def _doc_date(self, doc_id: str, residual: str, passages: list[Passage]) -> Draft | None:
        """When a named document took effect (「本条例自2022年1月1日起施行」) or was adopted or
        issued (「2021年11月25日上海市第十五届人民代表大会常务委员会第三十七次会议通过」), from
        its own text; None when the question asks the date of something else in it."""
        asked = fold_for_search(residual)
        doc = self.index.docs.document(doc_id)
        if doc is None:
            return None
        if has_cjk(asked):
            verb = _DATING.search(asked)
            if verb is None or _has_content(_without_title(_DATING_WORDS.sub(" ", asked), doc.meta.title)):
                return None
            # 「2016年通过的那版……是哪天开始施行的」 asks when it took effect, whatever else it says.
            effect = any(m.group(1) is not None for m in _DATING.finditer(asked))
        else:
            # "When was the Data Security Law adopted / when does it take effect?"
            verb = _DATING_EN.search(asked)
            if verb is None or _DATING_EN_OTHER.sub(" ", _DATING_EN.sub(" ", asked)).strip(" ?.,"):
                return None
            effect = any(m.group(1) is not None for m in _DATING_EN.finditer(asked))
        found = list((_IN_FORCE if effect else _ADOPTED).finditer(doc.text))
        if not found and effect and not doc.meta.complete:
            # The text held stops before its closing articles: the date is not in the corpus,
            # and no other article of it answers 「从哪天开始施行」.
            return Draft("", [], [], "", 0.0, 0.0, False, kind="undated", missing=f"《{doc.meta.title}》施行",
                         notice=doc.meta.notice)
        if not found:
            return None
        # The closing article states when the whole text takes effect; the head line, when it was adopted.
        m = found[-1] if effect else found[0]
        line_start = doc.text.rfind("\n", 0, m.start()) + 1
        line_end = doc.text.find("\n", m.end())
        line_end = len(doc.text) if line_end < 0 else line_end
        for stop in "。；":
            cut = doc.text.find(stop, m.end(), line_end)
            if cut >= 0:
                line_end = cut + 1
        holder = next((p for p in passages if p.doc_id == doc_id and p.start <= m.start() < p.end), None)
        passage = holder or Passage(_chunk_at(self.index, doc_id, m.start()), doc_id, doc.meta.title, "", "", 0.0,
                                    line_start, line_end, meta=doc.meta.to_dict())
        if not doc.text[line_start:line_end].strip().replace(m.group().strip(), ""):
            # A sign-off date alone on its line: quoted with the issuer above it.
            line_start = doc.text.rfind("\n", 0, max(line_start - 1, 0)) + 1
        text = doc.text[line_start:line_end]
        s = Sentence(passage, line_start, line_end, text, text, coverage=1.0, score=1.0)
        date = DATE.search(m.group())
        direct = date.group() if date else m.group()
        return Draft(direct, [s], [citation_of(1, s)], f"{direct}[1]。\n{with_marker(text.strip(), 1)}", 1.0, 1.0, True,
                     kind="number")

    def _doc_identity(self, doc_id: str, passages: list[Passage]) -> Draft | None:
        """The title of a document asked for by its number, quoted from its first line."""
        doc = self.index.docs.document(doc_id)
        if doc is None:
            return None
        line_end = doc.text.find("\n")
        line_end = len(doc.text) if line_end < 0 else line_end
        head = doc.text[:line_end]
        if not head.strip() or fold_for_search(head.strip()) != fold_for_search(doc.meta.title):
            return None  # a text that does not open with its title: the general path answers
        holder = next((p for p in passages if p.doc_id == doc_id and p.start == 0), None)
        passage = holder or Passage(_chunk_at(self.index, doc_id, 0), doc_id, doc.meta.title, "", "", 0.0,
                                    0, line_end, meta=doc.meta.to_dict())
        s = Sentence(passage, 0, line_end, head, head, coverage=1.0, score=1.0)
        direct = f"《{head.strip()}》"
        number = find_number(doc.meta, doc.text)
        more = f"（{doc.text[number[0]:number[1]]}）" if number else ""
        return Draft(direct, [s], [citation_of(1, s)], f"{direct}{more}[1]。\n{with_marker(head.strip(), 1)}", 1.0, 1.0,
                     True, kind="name")

    def _reference(self, passages: list[Passage]) -> Draft:
        """The named article (or the top passage of the named document), read in order."""
        first = passages[0]
        # All pieces of an article split for the budget: they come first and share its section.
        unit = [p for p in passages if p.doc_id == first.doc_id and p.section == first.section] or [first]
        unit.sort(key=lambda p: p.start)
        sentences = sorted((s for s in self.candidates(unit, limit=len(unit)) if not s.heading), key=lambda s: s.start)
        sentences = sentences[:_REFERENCE_SENTENCES]
        citations, lines = [], []
        for n, s in enumerate(sentences, 1):
            citations.append(citation_of(n, s))
            lines.append(with_marker(s.text, n))
        doc = self.index.docs.document(sentences[0].passage.doc_id)
        where = locator(doc.meta, doc.text, sentences[0].start, detail=False) if doc else self._locator(sentences[0])
        head = f"{where}[1]："
        return Draft(lines[0], sentences, citations, head + "\n" + "\n".join(lines), 1.0, 1.0, True, kind="reference")

    def _per_document(
        self, doc_ids: tuple[str, ...], ranked: list[Sentence], whole: bool = False, question: str = "",
    ) -> Draft | None:
        """One answer per named document, in the order the question names them: 「上海和深圳
        的数据条例分别怎么定义公共数据」 cites both, each with its locator."""
        best: dict[str, Sentence] = {}
        for s in ranked:
            if s.passage.doc_id in doc_ids and s.passage.doc_id not in best and s.coverage > 0 and not s.heading:
                best[s.passage.doc_id] = s
        picked = [best[d] for d in doc_ids if d in best]
        if len(picked) < 2:
            return None
        if len(picked) == 2:
            picked = self._parallel(picked, ranked)
        if whole:
            # 「数据安全法的“数据”和条例的“网络数据”有什么区别」: each document's whole article,
            # side by side, within an even share of the budget.
            share = _LIST_BUDGET // len(picked)
            citations, lines, shown = [], [], []
            asked = fold_for_search(question)
            defining = bool(_ASKS_DEFINITION.search(asked))
            for s in picked:
                # 「……的定义有什么区别」: each document's own definition clause.
                anchor = (self._definition(asked, (s.passage.doc_id,), s) if defining else None) or s
                unit = self._unit_sentences(anchor, share, asked=asked) or [anchor]
                said = []
                for u in unit:
                    u.group = self._locator(unit[0])
                    shown.append(u)
                    citations.append(citation_of(len(citations) + 1, u))
                    said.append(with_marker(u.text, len(citations)))
                lines.append(f"{unit[0].group}：" + "".join(said))
            coverage = sum(s.coverage for s in picked) / len(picked)
            return Draft("；".join(lines), shown, citations, "\n".join(lines), min(s.score for s in picked), coverage,
                         True, kind="per_document")
        citations, lines = [], []
        for n, s in enumerate(picked, 1):
            citations.append(citation_of(n, s))
            lines.append(f"{self._locator(s)}：{with_marker(s.text, n)}")
        text = "\n".join(lines)
        coverage = sum(s.coverage for s in picked) / len(picked)
        return Draft("；".join(lines), picked, citations, text, min(s.score for s in picked), coverage, True,
                     kind="per_document")


    def _parallel(self, picked: list[Sentence], ranked: list[Sentence]) -> list[Sentence]:
        """Two documents' points that answer each other: of each document's best few
        sentences, the pair that scores best together with how alike they are — 上海's
        「分为无条件开放、有条件开放和非开放三类」 beside 深圳's 「……不予开放三类」, not
        whichever sentence of each ranked first."""
        pools = [[s for s in ranked if s.passage.doc_id == p.passage.doc_id and s.coverage > 0 and not s.heading][:8]
                 for p in picked]
        a, b = max(((x, y) for x in pools[0] for y in pools[1]),
                   key=lambda xy: xy[0].score + xy[1].score + _PARALLEL_WEIGHT * _alike(xy[0].text, xy[1].text))
        return [a, b]

    def _units(
        self, question: str, intent: Intent, ranked: list[Sentence], doc_ids: tuple[str, ...] = (), head: str = "",
    ) -> Draft | None:
        """The best sentences' whole units — the article (or the outline item, or the
        paragraph) each sits in — read in order, within the answer's budget: the deciding
        clause of a yes/no first, then its conditions and exceptions; a definition with
        what it excludes; a procedure's steps in their order."""
        top = next((s for s in ranked if not s.heading), None)
        if top is None:
            return None
        places = places_in(fold_for_search(question))
        spans: list[tuple[Sentence, int, int]] = []
        # A list of measures or a place's practice gathers more articles, each shown shorter.
        gathering = intent in _GATHERING
        floor, most = (_GATHER_FLOOR, _MAX_GATHERED) if gathering else (_UNIT_FLOOR, _MAX_UNITS)
        for s in ranked:
            if s.heading or s.score < floor * top.score or len(spans) >= most:
                continue
            if places and _about_other_place(s.text, places):
                continue  # 「杭州……做了什么」 is not answered with 北京朝阳区's paragraph
            span = self._unit_of(s)
            if span is not None and not any(d == s.passage.doc_id and a <= span[0] < b for x, a, b in spans
                                            for d in (x.passage.doc_id,)):
                spans.append((s, *span))
        if not spans:
            return None
        asked = fold_for_search(question)
        if gathering:
            spans += self._aspects(asked, spans)
        if intent is Intent.DEFINITION:
            # The article that defines the asked term, in the documents found, wherever it ranked.
            defining = self._definition(asked, doc_ids or tuple(dict.fromkeys(s.passage.doc_id for s in ranked)), top)
            span = self._unit_of(defining) if defining is not None else None
            if defining is not None and span is not None:
                spans = [(defining, *span)] + [x for x in spans if not (x[0].passage.doc_id == defining.passage.doc_id
                                                                        and x[1] <= defining.start < x[2])]
        if intent is Intent.EXPLANATION and doc_ids and _ASKS_PURPOSE.search(asked):
            # 「出台《……规定》是为了什么」: the document's first article states its purpose —
            # not when the question asks why of something inside it (「为什么说……遵循……」).
            purpose = self._purpose(doc_ids[0], ranked[0])
            if purpose is not None:
                spans = [purpose] + [x for x in spans if not (x[0].passage.doc_id == doc_ids[0]
                                                              and x[1] <= purpose[0].start < x[2])]
        if intent is Intent.DEFINITION:
            # An article that defines an asked term comes before those that only use it.
            spans.sort(key=lambda x: not any(t in asked for pattern in (_DEFINED, _DEFINED_AS)
                                             for t in pattern.findall(self._text(x[0], x[1], x[2]))))
        budget = _LIST_BUDGET
        picked: list[Sentence] = []
        lines: list[str] = []
        citations: list[Citation] = []
        locators: list[str] = []
        lead: Sentence | None = None  # the sentence the answer rests on: decided on, and its short form
        if intent is Intent.DEFINITION:
            spans = spans[:2]  # the definition and one article that applies it, no more
        if intent is Intent.PROCEDURE:
            # Steps in the order the text gives them (收到申请的时间 before 答复期限).
            first_doc = spans[0][0].passage.doc_id
            spans.sort(key=lambda x: (x[0].passage.doc_id != first_doc, x[0].passage.doc_id, x[1]))
        best = spans[0][0]
        if intent in (Intent.PROCEDURE, Intent.MEASURES, Intent.PROBLEMS):
            # Steps and items in the order the text gives them (收到申请的时间 before 答复期限,
            # （一） before （三）), the best-matching document first.
            first_doc = best.passage.doc_id
            spans.sort(key=lambda x: (x[0].passage.doc_id != first_doc, x[0].passage.doc_id, x[1]))
        # The best article keeps half the budget; the others share the rest.
        rest = max(_LIST_BUDGET // 2 // max(len(spans) - 1, 1), _MIN_SHARE)
        for anchor, start, end in spans:
            share = (_LIST_BUDGET // 2 if anchor is best else rest) if gathering and len(spans) > 1 else None
            unit = self._unit_sentences(anchor, share, (start, end), asked)
            if not unit:
                continue
            own = next((u for u in unit if u.start <= anchor.start < u.end), None)
            if intent is Intent.YESNO and not picked:
                # The clause that decides (不得/可以/应当 …) comes first, as the user asked yes or
                # no: the sentence it was chosen for — unless that is the exception (「但是，……
                # 可以收取信息处理费」): then the rule it qualifies (「不收取费用」) decides.
                rules = [u for u in unit if _DECIDES.search(u.text) and not _EXCEPTION.match(u.text)]
                deciding = own if own is not None and not _EXCEPTION.match(own.text) else (rules[0] if rules else own)
                if head and deciding is not None and not supports(fold_for_search(deciding.text), head):
                    # 「能不能收“进场费”」: the rule that names the fee decides, not the article's opening duty.
                    deciding = next((u for u in rules if supports(fold_for_search(u.text), head)), deciding)
                if deciding is not None:
                    unit.remove(deciding)
                    unit.insert(0, deciding)
                    lead = deciding
            kept = []
            for u in unit:
                if kept and len(u.text) > budget:
                    break
                kept.append(u)
                budget -= len(u.text)
            if own is not None and own not in kept and kept:
                kept.append(own)  # past the budget, the sentence it was chosen for still shows
                kept.sort(key=lambda u: (u is not lead, u.start))
            if not kept or (picked and budget < 0):
                break
            if anchor is best and lead is None:
                lead = own or kept[0]
            locators.append(self._locator(kept[0]))
            # A unit of another document than the head names says whose it is.
            other = bool(picked) and kept[0].passage.doc_id != picked[0].passage.doc_id
            for i, u in enumerate(kept):
                u.group = locators[-1]
                picked.append(u)
                citations.append(citation_of(len(citations) + 1, u))
                said = with_marker(u.text, len(citations))
                lines.append(f"《{u.passage.title}》：{said}" if other and i == 0 else said)
            if budget <= 0:
                break
        if not picked:
            return None
        lead = lead or picked[0]
        where = locators[0] + ("等" if len(set(locators)) > 1 else "")
        head = _UNIT_HEAD.get(intent, "{where}：").format(where=where)
        text = head + "\n" + "\n".join(lines)
        # The refusal decision reads the first sentence as the one the answer rests on.
        ordered = [lead, *(u for u in picked if u is not lead)]
        return Draft(strip_item(lead.text), ordered, citations, text, top.score, top.coverage, True, kind=intent.value)

    def _aspects(self, asked: str, spans: list[tuple[Sentence, int, int]]) -> list[tuple[Sentence, int, int]]:
        """「在资金、金融、税费这些方面」 names the aspects the answer must cover: for each one no
        chosen unit mentions, the first unit of the best document that does."""
        m = _ASPECTS.search(asked)
        if m is None:
            return []
        doc_id = spans[0][0].passage.doc_id
        doc = self.index.docs.document(doc_id)
        if doc is None:
            return []
        # The aspects are Chinese words and the cleaned text is Simplified: found as written,
        # so that offsets are the document's own.
        text = doc.text
        shown = [text[a:b] for x, a, b in spans if x.passage.doc_id == doc_id]
        added: list[tuple[Sentence, int, int]] = []
        like = spans[0][0]
        for aspect in re.split(r"[、，,和及与或]|以及", m.group(1)):
            aspect = aspect.strip()
            if len(aspect) < 2 or any(aspect in x for x in shown):
                continue
            at = text.find(aspect)
            if at < 0:
                continue
            # The sentence it is in: from the last 。 or line break before it to the next.
            start = max(text.rfind("。", 0, at), text.rfind("\n", 0, at)) + 1
            stops = [i for i in (text.find("。", at) + 1, text.find("\n", at)) if i > 0]
            end = min(stops, default=len(text))
            passage = Passage(_chunk_at(self.index, doc_id, start), doc_id, doc.meta.title, like.passage.section, "",
                              0.0, start, end, meta=doc.meta.to_dict())
            found = Sentence(passage, start, end, doc.text[start:end], coverage=like.coverage, score=like.score,
                             cosine=like.cosine)
            span = self._unit_of(found)
            if span is None or any(x[0].passage.doc_id == doc_id and x[1] <= start < x[2] for x in spans + added):
                continue
            added.append((found, *span))
            shown.append(text[span[0]:span[1]])
        return added

    def _unit_sentences(
        self, anchor: Sentence, budget: int | None, span: tuple[int, int] | None = None, asked: str = "",
    ) -> list[Sentence]:
        """The sentences of the anchor's unit in order, each citable on its own; with a
        ``budget``, as many as fit from the start, the anchor's own sentence always among
        them. In an article of definitions only the terms ``asked`` (the folded question)
        names are kept."""
        span = span or self._unit_of(anchor)
        doc = self.index.docs.document(anchor.passage.doc_id)
        if span is None or doc is None:
            return []
        start, end = span
        whole = doc.text[start:end]
        out = []
        # 「本法下列用语的含义：」 defines eight terms; the asked ones (公共数据, not also 数据
        # when 公共数据 is asked) are the answer, without the other items of the list.
        terms = _DEFINED.findall(whole)
        named = [t for t in terms if t in asked]
        wanted = {t for t in named if not any(t != u and t in u for u in named)}
        only_asked = bool(asked) and len(terms) > 2 and bool(wanted)
        skipped = False
        for a, b in split_sentences(whole, offset=start):
            text = doc.text[a:b]
            if not text.strip("。；：，、 ") or not re.search(r"[，。；：、,;:]", text):
                continue  # a title or heading line is no finding
            defined = _DEFINED.match(text)
            if only_asked and (defined.group(1) not in wanted if defined else _ENUMERATED.match(text)):
                skipped = True
                continue
            passage = Passage(_chunk_at(self.index, doc.meta.doc_id, a), doc.meta.doc_id, doc.meta.title,
                              anchor.passage.section, text, 0.0, a, b, meta=anchor.passage.meta)
            out.append(Sentence(passage, a, b, text, whole, coverage=anchor.coverage, score=anchor.score,
                                cosine=anchor.cosine))
        if all(u.text.rstrip().endswith(("：", ":")) for u in out):
            return []  # nothing left but the article's lead-in
        if skipped:
            # The lead-in announced the whole list; with one term of it shown, it only repeats the article.
            out = [u for u in out if not u.text.rstrip().endswith(("：", ":"))]
        if budget is None:
            return out
        kept, used = [], 0
        for u in out:
            if kept and used + len(u.text) > budget:
                break
            kept.append(u)
            used += len(u.text)
        own = next((u for u in out if u.start <= anchor.start < u.end), None)
        if own is not None and own not in kept:
            kept = [*kept[:-1], own] if len(kept) > 1 else [own]  # the sentence it was chosen for stays
        return kept

    def _definition(self, asked: str, doc_ids: tuple[str, ...], like: Sentence) -> Sentence | None:
        """The clause that defines the longest term of ``asked`` (重要数据 over 数据), in the
        first of ``doc_ids`` that defines one."""
        for doc_id in doc_ids[:3]:
            doc = self.index.docs.document(doc_id)
            if doc is None:
                continue
            found = [m for pattern in (_DEFINED, _DEFINED_AS) for m in pattern.finditer(doc.text)
                     if len(m.group(1)) >= 2 and m.group(1) in asked]
            if not found:
                continue
            m = max(found, key=lambda m: len(m.group(1)))
            end = doc.text.find("。", m.end())
            end = len(doc.text) if end < 0 else end + 1
            passage = Passage(_chunk_at(self.index, doc_id, m.start()), doc_id, doc.meta.title, "", "", 0.0,
                              m.start(), end, meta=doc.meta.to_dict())
            return Sentence(passage, m.start(), end, doc.text[m.start():end], coverage=like.coverage,
                            score=like.score, cosine=like.cosine)
        return None

    def _definitions_of(self, terms: list[str], doc_ids: tuple[str, ...], like: Sentence) -> Draft | None:
        """One line per asked term: the term, then the clause that defines it, cited — when
        at least two of the terms are defined in the documents found."""
        found: list[tuple[str, Sentence]] = []
        for term in dict.fromkeys(t for t in terms if len(t) >= 2):
            s = self._definition(term, doc_ids, like)
            if s is not None and not any(x.start == s.start and x.passage.doc_id == s.passage.doc_id for _, x in found):
                found.append((term, s))
        if len(found) < 2:
            return None
        return _one_line_each([(f"“{term}”", s) for term, s in found], "个用语的界定", "definition", like)

    def _purposes(self, doc_ids: tuple[str, ...], like: Sentence) -> Draft | None:
        """Each named document's purpose article, one line each under its locator."""
        found = [f for f in (self._purpose(d, like) for d in doc_ids) if f is not None]
        if len(found) < 2:
            return None
        return _one_line_each([(self._locator(s), s) for s, _, _ in found], "份文件各自的立法目的", "per_document", like)

    def _purpose(self, doc_id: str, like: Sentence) -> tuple[Sentence, int, int] | None:
        """The document's purpose clause (「第一条 为了……，制定本规定。」) and its unit."""
        doc = self.index.docs.document(doc_id)
        m = _PURPOSE.search(doc.text) if doc is not None else None
        if doc is None or m is None:
            return None
        passage = Passage(_chunk_at(self.index, doc_id, m.start()), doc_id, doc.meta.title, "", m.group(), 0.0,
                          m.start(), m.end(), meta=doc.meta.to_dict())
        s = Sentence(passage, m.start(), m.end(), m.group(), coverage=like.coverage, score=like.score, cosine=like.cosine)
        span = self._unit_of(s)
        return (s, *span) if span is not None else None

    def _text(self, s: Sentence, start: int, end: int) -> str:
        doc = self.index.docs.document(s.passage.doc_id)
        return doc.text[start:end] if doc is not None else ""

    def _unit_of(self, s: Sentence) -> tuple[int, int] | None:
        """The span of the article, outline item or paragraph that holds the sentence."""
        doc = self.index.docs.document(s.passage.doc_id)
        if doc is None:
            return None
        st = structure(doc.text)
        path = st.path_at(s.start)
        own = [st.nodes[i] for i in path if st.nodes[i].kind in ("article", "item")]
        if own:
            return own[-1].start, own[-1].end
        block = st.block_at(s.start)
        return (block.start, block.end) if block is not None and block.start <= s.start < block.end else (s.start, s.end)

    def _heading_list(
        self, question: str, passages: list[Passage], weights: dict[str, float], sentence_coverage: float,
        sections: tuple[str, ...] = (), ranked: list[Sentence] | None = None,
    ) -> Draft | None:
        """Answer «有哪些问题/建议» with the sub-headings of the section that matches.

        A document's own outline is the best list it has: «主要存在哪些问题» is answered
        by the six headings under 「二、…主要问题」, each cited at its exact offsets.
        """
        doc = self.index.docs.document(passages[0].doc_id) if passages else None
        if doc is None:
            return None
        heads = structure(doc.text).nodes
        # Words of the document's own title, and the question's fillers, tell none of its
        # sections apart.
        title = fold_for_search(doc.meta.title)
        text = fold_for_search(doc.text)
        # Nor do words the document never writes (「这一块」「眼下」): they lower every
        # heading's match alike, and would sink a heading that matches all the rest.
        # The intent's own words (任务 of 「哪几方面的任务」) name the items, not a section,
        # and the question's filler words none.
        fillers = _LIST_FILLERS | generic_words() | set(intent_words(intent_of(question)))
        weights = {t: w for t, w in weights.items()
                   if (t not in title and t not in fillers and t in text) or any(t in x or x in t for x in sections)
                   } or weights
        total = sum(weights.values()) or 1.0
        best: tuple[float, int] | None = None
        for i, h in enumerate(heads):
            if h.kind != "heading":
                continue
            children = _named_children(heads, i) or _articles_under(heads, i)
            if len(children) < 2:
                continue
            folded = fold_for_search(h.title)
            cov = sum(w for t, w in weights.items() if t in folded) / total
            if sections and any(w in folded for w in sections):
                # 「文章提出了哪些对策建议？」 asks for the whole list, and 「三、……政策建议」 holds it.
                cov += _SECTION_BONUS
            if best is None or cov > best[0]:
                best = (cov, i)
        # The outline must match the question well, about as well as the best sentence does
        # — unless the question asks for nothing but such a list: then a sentence that
        # merely repeats its words (「……提出对策建议。」) is no rival. A chapter of bare
        # articles (「第六章 浦东新区数据改革」) must match at least as well as the best
        # sentence: its list replaces that sentence's article.
        if best is None:
            return None
        children = _named_children(heads, best[1])
        articles = not children
        floor = 0.45 if sections else max(0.45, sentence_coverage - (0.0 if articles else 0.2))
        if best[0] < floor:
            return None
        parent = heads[best[1]]
        children = children or _articles_under(heads, best[1])
        # How close the list is to the question, as the model says: its closest sentence
        # that the retrieval found inside the section.
        cosine = max((s.cosine for s in ranked or () if s.passage.doc_id == doc.meta.doc_id
                      and parent.start <= s.start < parent.end), default=0.0)
        meta = passages[0].meta
        citations: list[Citation] = []
        lines: list[str] = []
        sentences: list[Sentence] = []
        budget = _LIST_BUDGET
        for c in children:
            section = f"{parent.title} > {c.title}"
            body = _first_sentence(doc.text, c, heads)
            if articles:
                # An article has no name to list: its first sentence is the item, cited.
                if body is None or (lines and len(body[2]) > budget):
                    continue
                start, end, said = body
                bp = Passage(_chunk_at(self.index, doc.meta.doc_id, start), doc.meta.doc_id, doc.meta.title,
                             f"{parent.title} > {c.label}", said, 0.0, start, end, meta=meta)
                b = Sentence(bp, start, end, said, said, coverage=best[0], score=best[0], cosine=cosine)
                sentences.append(b)
                citations.append(citation_of(len(citations) + 1, b))
                line = f"{c.label}：" + with_marker(said, len(citations))
                budget -= len(line)
                lines.append(line)
                continue
            passage = Passage(_chunk_at(self.index, doc.meta.doc_id, c.title_start), doc.meta.doc_id, doc.meta.title,
                              section, c.title, 0.0, c.title_start, c.title_end, meta=meta)
            s = Sentence(passage, c.title_start, c.title_end, c.title, c.title, coverage=best[0], score=best[0], cosine=cosine)
            sentences.append(s)
            citations.append(citation_of(len(citations) + 1, s))
            line = f"{c.title}[{len(citations)}]"
            # The item's first sentence says what the heading means, while the answer stays short.
            if body is not None and len(body[2]) <= budget // 3:
                start, end, said = body
                bp = Passage(_chunk_at(self.index, doc.meta.doc_id, start), doc.meta.doc_id, doc.meta.title, section,
                             said, 0.0, start, end, meta=meta)
                b = Sentence(bp, start, end, said, said, coverage=best[0], score=best[0], cosine=cosine)
                sentences.append(b)
                citations.append(citation_of(len(citations) + 1, b))
                line += "：" + with_marker(said, len(citations))
            budget -= len(line)
            lines.append(line)
        if not lines:
            return None
        direct = "；".join(strip_item(x.text) for x in sentences) if articles else "；".join(c.title for c in children)
        what = f"共{len(children)}条" if articles else f"共{len(children)}项"
        if articles and len(lines) < len(children):
            what += f"（以下列出{len(lines)}条）"
        text = f"{parent.title}{what}：\n" + "\n".join(lines)
        return Draft(direct, sentences, citations, text, best[0], best[0], True, kind="list")


def _one_line_each(labelled: list[tuple[str, Sentence]], what: str, kind: str, like: Sentence) -> Draft:
    """One cited line per labelled sentence (「“中枢”：……[1]」, 「《……》第一条：……[2]」) under a
    head that counts them (「资料中这两个用语的界定：」)."""
    lines, picked, citations = [], [], []
    for label, s in labelled:
        s.group = label.strip("“”")
        picked.append(s)
        citations.append(citation_of(len(citations) + 1, s))
        lines.append(f"{label}：{with_marker(strip_item(s.text), len(citations))}")
    n = len(picked)
    head = f"资料中这{'两' if n == 2 else int_to_cn(n) if n < 10 else n}{what}："
    return Draft(lines[0], picked, citations, head + "\n" + "\n".join(lines), like.score, like.coverage, True, kind=kind)


def _grouped(
    groups: Iterable[tuple[str, list[Sentence]]], empty: Callable[[str], str] | None = None,
) -> tuple[list[str], list[Sentence], list[Citation]]:
    """One line per group, 「label：sentence[1]sentence[2]」, numbered across groups; an
    empty group gets ``empty(label)`` when given, else no line."""
    lines: list[str] = []
    picked: list[Sentence] = []
    citations: list[Citation] = []
    for label, mine in groups:
        if not mine:
            if empty is not None:
                lines.append(f"{label}：{empty(label)}")
            continue
        said = []
        for c in mine:
            picked.append(c)
            citations.append(citation_of(len(citations) + 1, c))
            said.append(with_marker(c.text, len(citations)))
        lines.append(f"{label}：" + "".join(said))
    return lines, picked, citations


def _domain_of(text: str) -> str:
    """The service domain a section path or sentence names (`rag/text/domains.toml`)."""
    folded = fold_for_search(text)
    return next((d for d, words in _service_domains() if any(w in folded for w in words)), "")


@lru_cache(maxsize=1)
def _service_domains() -> tuple[tuple[str, tuple[str, ...]], ...]:
    data = tomllib.loads(resources.files("rag.text").joinpath("domains.toml").read_text(encoding="utf-8"))
    return tuple((d, tuple(fold_for_search(w) for w in words)) for d, words in data["words"].items()
                 if d in _PRACTICE_DOMAINS)


# The public-service domains a place's practice is grouped by.
_PRACTICE_DOMAINS = ("就业", "教育", "卫生", "养老", "政务", "无障碍", "数字素养")


def _about_place(c: Sentence, core: str) -> bool:
    """The sentence names the place, or continues a paragraph that does from before it
    (「其中，上海“拍家园”项目……。“拍家园”通过……」)."""
    named = places_in(fold_for_search(c.text))
    if core in fold_for_search(c.text):
        # 「北京、上海、深圳和杭州等地」 lists places; it says nothing one of them did.
        return len(named) < 3
    if any(not n.startswith(core) and not core.startswith(n.rstrip("省市县区")) for n in named):
        return False  # 「杭州市提出……」 after a sentence about 深圳 is 杭州's
    before = fold_for_search(c.paragraph[: max(c.paragraph.find(c.text), 0)])
    lead = [x for x in re.split(r"[。！？]", before) if core in x]
    return bool(lead) and len(places_in(lead[-1])) < 3


def _content_besides(weights: dict[str, float], words: tuple[str, ...], asked: str, title: str = "") -> bool:
    """Whether the question asks about something besides ``words`` (its intent's words).
    The synonyms a Chinese question was expanded with are not what it asks, and the words
    of the document's title (「数字技术赋能城市公共服务」 in a question about that paper)
    name the document, not a narrower topic."""
    folded = fold_for_search(asked)
    own = [t for t in weights if t in folded] if re.search(r"[\u4e00-\u9fff]", folded) else list(weights)
    return any(not any(t in w or w in t for w in words) and t not in _LIST_FILLERS and t not in title for t in own)


# A question about a document's purpose (「是为了什么」「目的是什么」「为什么要制定」), not
# about why it says something (「为什么说……遵循……」).
_ASKS_PURPOSE = re.compile(r"目的|为了什么|宗旨|为什么要?(?:制定|出台|颁布|发布|印发|搞|推出|立)|(?:出台|制定|颁布|印发).{0,12}(?:为了|为啥|原因)")
# Words of a question that asks for a document's list and nothing more.
_LIST_FILLERS = frozenset("文章 本文 文中 作者 认为 提出 提到 给出 存在 面临 目前 当前 主要 突出 还 有 哪些 什么 几条 几点 哪几 方面 "
                          "针对 关于 paper article".split())
# Words every passage of this corpus is about: they name no topic of a place's practice.
_CORPUS_SUBJECT = frozenset({"服务", "公共服务", "数字", "数字化", "数字技术", "智慧", "城市", "政府", "公共", "社会",
                             "信息化", "治理"})
# A heading of the asked kind (建议 for 「有哪些对策建议」) counts as this much coverage more.
_SECTION_BONUS = 0.3
# About this many characters for a listed answer's items with their first sentences.
_LIST_BUDGET = 600
# Intents answered with whole units (articles, items, paragraphs), and how the answer opens.
_UNIT_INTENTS = frozenset({Intent.DEFINITION, Intent.YESNO, Intent.PROCEDURE, Intent.EXPLANATION, Intent.MEASURES,
                           Intent.PROBLEMS, Intent.COMPARISON, Intent.PRACTICE})
_UNIT_HEAD = {
    Intent.DEFINITION: "{where}这样规定：",
    Intent.YESNO: "{where}这样规定：",
    Intent.PROCEDURE: "按{where}，步骤和要求如下：",
    Intent.EXPLANATION: "{where}这样说明：",
    Intent.MEASURES: "{where}提出：",
    Intent.PROBLEMS: "{where}指出：",
    Intent.COMPARISON: "资料中的相关内容（{where}）：",
    Intent.PRACTICE: "{where}：",
}
# How much two documents' sentences saying alike counts when they are set side by side.
_PARALLEL_WEIGHT = 0.5
# 「在资金、金融、税费这些方面」「在政务服务、教育、医疗等领域」: the aspects a question lists.
_ASPECTS = re.compile(r"在([\u4e00-\u9fff]{2,12}?(?:[、,，和及与][\u4e00-\u9fff]{2,12}?){1,6})(?:这些|这几个|等)?(?:方面|领域)")
# What a sentence that lists the asked items after its lead-in counts for more.
_ENUMERATION_BONUS = 0.2
# A chapter of at most this many articles can be answered as a list, one sentence each.
_MAX_LISTED_ARTICLES = 8
# A unit joins the answer when its best sentence scores this share of the best one's.
_UNIT_FLOOR = 0.8
_MAX_UNITS = 3
# Intents whose answer gathers several articles, each within an even share of the budget
# (at least _MIN_SHARE characters), the anchor's own sentence always shown.
_GATHERING = frozenset({Intent.MEASURES, Intent.PRACTICE})
_GATHER_FLOOR = 0.7
_MAX_GATHERED = 5
_MIN_SHARE = 120
# The term a definition defines: 「（三）去标识化，是指……」「本法所称数据，是指……」.
_DEFINED = re.compile(r"(?m)^(?:第[一二三四五六七八九十百零〇\d]+条\s*)?(?:[（(][一二三四五六七八九十\d]+[)）])?"
                      r"(?:本法|本条例|本规定|本办法)?(?:所称|中的)?(?:的)?([\u4e00-\u9fff“”]{2,16}?)[，,]\s*是指")
# Words of a comparison that ask nothing narrower than the documents themselves.
_SHAPE_WORDS = re.compile(r"有什么|有何|有哪些|什么|区别|不同|异同|差别|差异|比较|相比|分别|两者|二者|和|与|及|的|吗|呢|[？?，,。]")
# A law's or a regulation's purpose clause.
_PURPOSE = re.compile(r"(?m)^第一条\s*为了?[^。\n]+。")
# An article that opens by saying what a term is: 「第四条 个人信息是以电子或者其他方式记录的……」.
_DEFINED_AS = re.compile(r"(?m)^(?:第[一二三四五六七八九十百零〇\d]+条\s*)?(?:本法|本条例|本规定)?(?:所称)?([\u4e00-\u9fff]{2,12}?)是(?!指)")
# An enumerated item of an article: 「（二）数据处理，包括……」.
_ENUMERATED = re.compile(r"^[（(][一二三四五六七八九十\d]+[)）]")
# A sentence that qualifies the rule before it.
_EXCEPTION = re.compile(r"^(?:但是|但|除|不过|然而)")
# The clause that settles a yes/no question.
_DECIDES = re.compile(r"不得|禁止|严禁|可以|有权|应当|需要|无需|不需要|必须|须|不收取|免费")


def _topics(words: tuple[str, ...]) -> set[str]:
    """The distinct topics among a question's words: 数字养老 and 智慧养老 are one (养老)."""
    return {_domain_of(w) or w for w in words}


def _alike(a: str, b: str) -> float:
    """Character-bigram overlap (Jaccard) of two sentences: how parallel they are."""
    x = {a[i:i + 2] for i in range(len(a) - 1)}
    y = {b[i:i + 2] for i in range(len(b) - 1)}
    return len(x & y) / len(x | y) if x and y else 0.0


def _enumerates(sentence: str, paragraph: str, words: tuple[str, ...]) -> bool:
    """Whether ``sentence`` is a lead-in naming one of ``words`` whose items follow it in
    ``paragraph`` (「……面临一些问题和挑战：关键领域创新能力不足……；……；……。」 — the
    splitter cuts at 「；」, so the items are the sentences after it)."""
    folded = fold_for_search(sentence)
    lead, colon, _ = folded.partition(":")
    if not colon or len(lead) > 60 or not any(w in lead for w in words):
        return False
    rest = fold_for_search(paragraph)
    at = rest.find(lead)
    body = rest[at + len(lead):] if at >= 0 else folded[len(lead):]
    return len(re.split(r"[;]", body.split("。", 1)[0])) >= 3


def strip_item(text: str) -> str:
    """A sentence without its article label (「第十六条 」) for the short answer."""
    return re.sub(r"^第[一二三四五六七八九十百零〇\d]+条\s*", "", text)


def _first_sentence(text: str, item: Node, nodes: list[Node]) -> tuple[int, int, str] | None:
    """The first sentence of an outline item's own body, before any sub-item: the sentence
    that carries the item. None when the item has no body of its own."""
    sub = [n.start for n in nodes if n.parent is not None and nodes[n.parent] is item]
    end = min([item.end, *sub])
    spans = split_sentences(text[item.title_end:end], item.title_end)
    if not spans:
        return None
    start, stop = spans[0]
    said = text[start:stop]
    return (start, stop, said) if said.strip("。；：，、 \n") else None


def _named_children(nodes: list[Node], index: int) -> list[Node]:
    """Sub-units of a heading that have a name to list (not bare article numbers)."""
    return [n for n in nodes if n.parent == index and n.kind != "article" and n.title != n.label]


def _articles_under(nodes: list[Node], index: int) -> list[Node]:
    """The articles right under a chapter or section heading, when there are few enough
    to list one sentence each."""
    found = [n for n in nodes if n.parent == index and n.kind == "article"]
    return found if 2 <= len(found) <= _MAX_LISTED_ARTICLES else []


def _chunk_at(index: Index, doc_id: str, offset: int) -> str:
    """Id of the chunk that holds ``offset``, else of the first one after it: an item's name
    is inside its own chunk, a heading line sits just before its body's first chunk."""
    spans = index.docs.chunk_spans(doc_id)
    holding = next((cid for cid, s, e in spans if s <= offset < e), None)
    return holding or next((cid for cid, s, _ in spans if s >= offset), "")




def _type_match(qtype: QType, text: str, units: frozenset[str] = frozenset()) -> float:
    if qtype is QType.COUNT:
        if units == {"次"} and FREQUENCY_SPAN.search(text):
            return 1.0
        return 1.0 if any(fits_units(text, m, units) for m in NUMBER.finditer(text) if m.group().strip()) else 0.0
    if qtype is QType.WHEN:
        return 1.0 if DATE.search(text) else 0.0
    if qtype is QType.WHERE:
        return 1.0 if _PLACE.search(text) else 0.0
    if qtype is QType.WHO:
        return 1.0 if _ORG.search(text) else 0.0
    if qtype is QType.LIST:
        return 1.0 if text.count("、") >= 2 else 0.0
    return 0.0


# 「……的文号是什么」「是国务院令第几号」
# When a document took effect (group 1) or was adopted, issued, published (group 2).
_DATING = re.compile(r"(施行|实施|生效|起效|开始执行)|(通过|发布|印发|公布|出台|颁布|签发|发的|落款|成文)")
_DATING_WORDS = re.compile(r"\d{4}\s*年(?!\s*\d)|施行|实施|生效|起效|开始执行|通过|发布|印发|公布|出台|颁布|签发|发的|落款|成文|什么时候|啥时候|何时|"
                           r"哪一?天|哪一?年|几月几[日号]|是从|开始|从|起|的|那版|这版|年版|版|是|了|正式|日期|时间|当时|现在|已经|具体|目前|吗|是否")
_DATING_EN = re.compile(r"\b(take effect|took effect|come into (?:force|effect)|came into (?:force|effect)|in force|effective|"
                        r"enter(?:ed)? into force)\b|\b(adopted|passed|issued|promulgated|published|released|enacted)\b")
# What an English when-question says besides the date asked: nothing else may be left.
_DATING_EN_OTHER = re.compile(r"\b(?:when|what|which|on|date|day|year|was|were|is|did|does|do|will|it|the|this|that|"
                              r"by|first|originally|officially|npc|standing committee|state council|national people's congress|"
                              r"of|its|version)\b")
_IN_FORCE = re.compile(r"自\s*(?:\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日|公布之日|发布之日|印发之日)起施行")
_ADOPTED = re.compile(r"(?m)\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日[^\n。]{0,60}?(?:通过|发布|公布|印发)"
                      r"|^\s*\d{4}\s*年\s*\d{1,2}\s*月\s*\d{1,2}\s*日\s*$")
_ASKS_NUMBER = re.compile(r"文号|发文字号|文件编号|发文编号|几号文|第几号|哪一?号")
# An article asked for by name is shown whole up to this many sentences (most are shorter).
_REFERENCE_SENTENCES = 10
# Words that say nothing once a document or article is named: 「第二十一条规定了什么」.
_REFERENCE_FILLERS = frozenset("规定 内容 条款 条文 原文 全文 主要 具体 讲 说 写 提到 本条 这条 这一条 一下 了 的 是 什么 哪些 有 说明".split())


# 「是个什么文件」「是哪个文件」「what document is」: the question asks which document a
# number or a short name stands for.
_ASKS_IDENTITY = re.compile(
    r"(?:这|那)?(?:是|指)(?:个|一个)?(?:哪个|哪一个|哪份|哪一份|什么|啥)?(?:样的)?(?:文件|文|规定|通知|政策)|"
    r"(?:what|which) (?:document|notice|policy) is (?:this|that|it)"
)
# Words a question uses to point at a document it names by number: 「国办那个……方案」.
_POINTING = frozenset("那个 这个 那份 这份 那部 这部 那篇 这篇 国办 国务院办公厅 关于 文件 通知 的".split())


def _without_title(residual: str, title: str) -> str:
    """The residual without the words of the document's own title and pointing words
    (a document named by its number is often described too: 「45号那个老年人方案」)."""
    folded = fold_for_search(title)
    return " ".join(t for t in tokenize_query(residual) if t not in _POINTING and not (folded and t in folded))


def _has_content(residual: str) -> bool:
    """Whether a question still asks something once its document names are cut out."""
    terms = [t for t in tokenize_query(residual) if t not in _REFERENCE_FILLERS and not t.isdigit()]
    return bool(terms or expand(residual))


_ASKS_DEFINITION = re.compile(r"定义|是指|含义|什么是|指什么|什么意思|界定|概念|\bdefin|\bmeaning\b|\bwhat is\b")


def _defines(sentence: str, weights: dict[str, float]) -> bool:
    """Whether the sentence defines one of the question's terms (「（四）公共数据，是指……」,
    「本法所称数据，是指……」), not a narrower thing (「无条件开放的公共数据，是指……」)."""
    folded = "\n" + fold_for_search(sentence)
    return any(len(t) > 1 and definition_pattern(t).search(folded) for t in weights)


def _novelty(text: str, folded_question: str) -> float:
    """Share of the text's Chinese characters that the question does not already contain."""
    chars = [c for c in fold_for_search(text) if "\u4e00" <= c <= "\u9fff"]
    return sum(c not in folded_question for c in chars) / len(chars) if chars else 0.0


def _about_other_place(sentence: str, places: list[str]) -> bool:
    named = places_in(sentence)
    return bool(named) and not any(p in named for p in places)


def direct_answer(qtype: QType, sentence: str, weights: dict[str, float], question: str) -> str:
    """The span that answers a factoid question, or '' when the sentence has none.

    Candidates are the numbers (of the asked unit), dates, places or organisations in the
    sentence; the one whose neighbourhood shares most of the question's terms wins
    (「产业数字化领域就业岗位1.78亿个」 beats 「数字产业化领域就业岗位1220万个」 for a question
    about 产业数字化). A question asking two quantities gets both.
    """
    folded_q = fold_for_search(question)
    if qtype is QType.COUNT and (asks_frequency(question) or expected_units(question) == {"次"}):
        m = FREQUENCY_SPAN.search(sentence)
        if m:
            return m.group()
    if qtype is QType.COUNT:
        picks = []
        for units in count_asks(question):
            found = [m for m in NUMBER.finditer(sentence) if m.group().strip() and fits_units(sentence, m, units)]
            found = [m for m in found if m not in picks]
            if found:
                picks.append(max(found, key=lambda m: _context_score(sentence, m, weights)))
        if not picks:
            return ""
        picks.sort(key=lambda m: m.start())
        start, end = picks[0].start(), _extend_with_counted_noun(sentence, _extend_range(sentence, picks[-1].end()), weights)
        # 「提高2-3个百分点」: the span is the whole range, not its upper end.
        lower = _RANGE_FROM.search(sentence, 0, start)
        start = lower.start() if lower else start
        if end - start <= 24:
            return sentence[start:end].strip()
        return "，".join(sentence[m.start() : _extend_with_counted_noun(sentence, m.end(), weights)].strip() for m in picks)
    if qtype is QType.WHEN:
        found = [m for m in DATE.finditer(sentence) if any(ch.isdigit() for ch in m.group()) or m.group().startswith("自")]
    elif qtype is QType.WHERE:
        # The place the question names is not where the thing is (「Shenzhen's data exchange」).
        named = set(places_in(folded_q))
        found = [m for m in _PLACE_RUN.finditer(sentence)
                 if _place_core(m.group()) not in folded_q and _place_core(m.group()) not in named]
    elif qtype is QType.WHO:
        found = [m for m in (*_ORG.finditer(sentence), *_ROLE.finditer(sentence))
                 if fold_for_search(m.group()) not in folded_q and _ORG_LEAD.sub("", m.group()) not in _GENERIC_ORG]
        agent = _agent_of(sentence, folded_q, found)
        if agent:
            return agent
        subjects = [m for m in _DEPT.finditer(sentence)
                    if m.group(1) not in _VAGUE_BODY and fold_for_search(m.group(1)) not in folded_q]
        if subjects and re.search(r"哪(?:个|一|些)?部门|which department", folded_q):
            return subjects[0].group(1)
        specific = [m for m in found if _ORG_LEAD.sub("", m.group()) not in _VAGUE_BODY]
        if specific:
            return _ORG_LEAD.sub("", max(specific, key=lambda m: _context_score(sentence, m, weights)).group().strip())
    else:
        return ""
    if not found:
        return ""
    return max(found, key=lambda m: _context_score(sentence, m, weights)).group().strip()


_CLAUSE_END = re.compile(r"[，,；;。！？!?]")
_RANGE_FROM = re.compile(r"\d+(?:\.\d+)?\s*[-—–~至到]\s*$")
_ITEM_END = re.compile(r"[、]|和(?=[\d一二三四五六七八九十两])|\d")
_WHO_VERB = re.compile(r"(?:由|需要|要|须|应当|经)?(?:谁|哪(?:些|个|一)?(?:部门|机构|单位|组织))(?:来|去)?([\u4e00-\u9fff]{2})")


def _agent_of(sentence: str, folded_q: str, found: list[re.Match[str]]) -> str:
    """For 「需要谁同意」「由谁负责」: the candidate right before the asked verb in the
    sentence (「……父母或者其他监护人的同意」), not the one whose clause repeats the question."""
    m = _WHO_VERB.search(folded_q)
    if not m or not found:
        return ""
    verb = m.group(1)
    at = fold_for_search(sentence).find(verb)
    if at < 0:
        return ""
    before = [c for c in found if c.end() <= at and re.fullmatch(r"的?", sentence[c.end():at].strip())
              and _ORG_LEAD.sub("", c.group()) not in _VAGUE_BODY]  # 「会同有关部门定期发布」: not who publishes
    if not before:
        return ""
    last = max(before, key=lambda c: (c.end(), -c.start()))
    # 「国家发展改革委、国家卫生健康委牵头」: the agents listed together, each named once.
    run = [last]
    while True:
        prev = [c for c in found if c.end() == run[0].start() - 1 and sentence[c.end()] in "、和及与"]
        if not prev:
            break
        run.insert(0, max(prev, key=lambda c: c.end() - c.start()))
    return _ORG_LEAD.sub("", sentence[run[0].start() : last.end()].strip())


def _extend_range(sentence: str, end: int) -> int:
    """The end of the whole amount when a lower bound opens a range (「五万元以上五十万元以下」)
    or an alternative follows (「五千万元以下或者上一年度营业额百分之五以下」)."""
    if sentence[:end].rstrip().endswith("以上"):
        m = _RANGE_REST.match(sentence, end)
        if m:
            end = m.end()
    m = _OR_REST.match(sentence, end)
    if m and re.search(r"[\d一二三四五六七八九十百千万]", m.group()):
        end = m.end()
    return end


def _place_core(name: str) -> str:
    """«常德市» → «常德»: the asked place with its suffix is not an answer to where."""
    return fold_for_search(name).rstrip("省市区县")


def _extend_with_counted_noun(sentence: str, end: int, weights: dict[str, float]) -> int:
    """«2000多名» + «医师» when the question asks about 医师: the answer names what it counts."""
    rest = fold_for_search(sentence[end : end + 8])
    # Only a whole noun: «2000多名医师，» yes, «13家线下智能养老服务站点» no (线下 is not what is counted).
    fits = [t for t in weights if rest.startswith(t) and not re.match(r"[\u4e00-\u9fff]", rest[len(t) : len(t) + 1].replace("的", ""))]
    return end + len(max(fits, key=len, default=""))


def _context_score(sentence: str, m: re.Match[str], weights: dict[str, float]) -> float:
    """Question-term weight in the clause around a candidate span, minus a little for distance.

    The clause, not a fixed window: in 「数字产业化领域就业岗位1220万个，产业数字化领域…」 the
    words after the comma describe the next number, not this one.
    """
    left = max((x.end() for x in _CLAUSE_END.finditer(sentence, 0, m.start())), default=0)
    right = next((x.start() for x in _CLAUSE_END.finditer(sentence, m.end())), len(sentence))
    window = fold_for_search(sentence[left:right])
    near = sum(w for t, w in weights.items() if t in window)
    # In an enumeration (「建设1个……中心、3个……中心和400个左右……集训基地」) one clause holds
    # every number; the words between this span and the next item say what it counts.
    if len([x for x in NUMBER.finditer(sentence, left, right) if x.group().strip()]) > 1:
        after = _ITEM_END.search(sentence, m.end(), right)
        own = fold_for_search(sentence[m.end() : after.start() if after else right])
        near += sum(w for t, w in weights.items() if t in own)
    return near - 0.001 * m.start()


def with_marker(sentence: str, n: int) -> str:
    """Put [n] before the closing punctuation, as Chinese citation style does."""
    m = re.search(r"[。！？；!?;…]+[”’」』）》)]*$", sentence)
    if m and not re.search(r"[”’」』）》)]", m.group()):
        return f"{sentence[: m.start()]}[{n}]{m.group()}"
    return f"{sentence}[{n}]"


def citation_of(n: int, s: Sentence) -> Citation:
    p = s.passage
    return Citation(
        n=n, doc_id=p.doc_id, chunk_id=p.chunk_id, title=p.title, section=p.section, quote=s.text,
        start=s.start, end=s.end, issuer=str(p.meta.get("issuer", "")), date=str(p.meta.get("date", "")),
    )
