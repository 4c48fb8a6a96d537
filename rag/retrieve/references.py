"""Which documents and articles a question names, and which it names that the corpus lacks.

Officials ask about documents by name: short titles and common aliases (数据安全法, 个保法,
数字经济规划, 45号文), 文号 (国办发〔2020〕45号, 国务院令第716号), a local regulation by
place and kind (上海和深圳的数据条例), articles (数据安全法第二十一条, 第31条). A question
that names a document is answered from it; one that names a document the corpus does
not hold (国发〔2022〕14号, 《广州市数据条例》, 民法典) or an article the document does not
have (个人信息保护法第八十条) is refused with a message that says what the corpus holds,
instead of being answered by whatever passage happens to match.

Aliases come from the documents' own metadata (title, subtitle, 文号, the manifest's
``aliases``), so an uploaded document is nameable the same way as a bundled one.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from rag.text.normalize import fold_for_search
from rag.text.numerals import CN_NUMERAL, cn_to_int, int_to_cn
from rag.text.outline import structure
from rag.text.places import PLACES, places_in
from rag.text.tokenize import QUESTION_WORDS
from rag.types import DocumentMeta

_QUOTES = re.compile(r"[“”‘’\"'「」『』]|(?<=[\u4e00-\u9fff])\s+|\s+(?=[\u4e00-\u9fff])")
_OPEN, _CLOSE = re.escape("〔[［(（【〖"), re.escape("〕]］)）】〗")
# 国办发〔2020〕45号 in any bracket style users type: 国办发[2020]45号, 国办发(2020)45号.
_DOC_NUMBER = re.compile(rf"([\u4e00-\u9fff]{{1,10}}?)[{_OPEN}](\d{{4}})[{_CLOSE}]\s*第?(\d{{1,4}})\s*号")
# 国务院令第716号, 主席令第九十一号.
_DECREE = re.compile(rf"(国务院令|主席令)\s*第?\s*([{CN_NUMERAL}\d]+)\s*号")
_ARTICLE = re.compile(rf"第\s*([{CN_NUMERAL}\d]+)\s*条")
_ARTICLE_EN = re.compile(r"\barticle\s+(\d{1,3})\b")
_BRACKETED = re.compile(r"《([^》]{2,60})》")
_NORMATIVE = re.compile(r"(?:法|法典|条例|规定|办法|细则|规则)$")
# What a bracketed name must end in to be a document of the kinds a policy corpus holds
# (a film or a book title in 《》 is not one).
_DOCUMENT_KIND = re.compile(r"(?:法|法典|条例|规定|规划|方案|意见|通知|办法|决定|指引|指南|纲要|细则|规则|标准|"
                            r"公约|条约|协定|报告|白皮书|计划|战略|议程|决议|批复|函)[）)]?$")
_PLACE_REGULATION = re.compile(
    "(" + "|".join(sorted(PLACES, key=len, reverse=True)) + r")(?:市|省)?(?:的)?(?:地方性法规|条例|法规)(?![\u4e00-\u9fff]*条例)")
_COUNTRY = "中华人民共和国"
# A place prefix of a local document's title: 上海市, 深圳经济特区, 浙江省, 杭州.
_PLACE_SUFFIX = ("经济特区", "特别行政区", "自治区", "市", "省", "区", "县")
# Words of a document-like name that are not documents (方法, 办法 …) or point back (该条例).
_NOT_A_LAW = ("方法", "办法", "做法", "想法", "看法", "说法", "算法", "用法", "合法", "非法", "违法", "依法",
              "守法", "立法", "执法", "司法", "无法", "设法", "语法", "手法", "写法", "疗法", "技法", "魔法", "书法")
_NOT_A_NAME = frozenset(
    "这个 那个 这部 那部 这项 该 本 此 哪个 哪部 哪 什么 有关 相关 根据 按照 依照 依据 关于 违反 适用 参照 按 依 "
    "的 和 与 及 或 在 是 有 对 中 请问 我 我们 你 问 想 知道 一下 了解 部 个 项 条".split()
)
# Where a typed law name ends: 法 or 法典 (not 法律, 法规, 法院 …), or 条例.
# 「电子签名法规定……」 is the law and 规定, not 法规.
_LAW_END = re.compile(r"法典|法(?![律院人定治制官令学务]|规(?!定))|条例")
MIN_ALIAS = 3  # shorter names match too much ordinary text
# How users point at "the paper" without naming it (「文章提出了哪些建议」): every document
# of kind ``paper`` is meant (with one paper in the corpus, that one).
_THE_PAPER = re.compile(r"这篇文章|这篇论文|该文章|本文|该文|此文|文章|文中|论文|\bthe (?:paper|article|study)\b")


_POSSESSIVE = re.compile(r"(?<=[a-z])['’]s\b")


def _bare(text: str) -> str:
    """Folded, without quotes and spaces: 「“十四五”数字经济发展规划」 and 「十四五数字经济发展规划」 agree."""
    # An English possessive goes before the quote marks do: "Beijing's … Regulations" is Beijing's.
    return _QUOTES.sub("", _POSSESSIVE.sub("", fold_for_search(text)))


# Characters that end the words before an issuer's abbreviation (「请问国发〔2022〕14号」).
_BEFORE_ISSUER = "的了是在和与及问请据照于对从按依关"


def _number_key(text: str) -> str:
    """A 文号 in one spelling: ``国办发〔2020〕45号``, ``国务院令第716号``; '' when it is none."""
    t = fold_for_search(text)
    m = _DECREE.search(t)
    if m:
        return f"{m.group(1)}第{cn_to_int(m.group(2))}号"
    m = _DOC_NUMBER.search(t)
    if not m:
        return ""
    issuer = m.group(1)
    cut = max(issuer.rfind(ch) for ch in _BEFORE_ISSUER)
    return f"{issuer[cut + 1:]}〔{m.group(2)}〕{int(m.group(3))}号"


# 文号 as English text spells them: "Guobanfa [2020] No. 45" is 国办发〔2020〕45号.
_PINYIN_ISSUERS = {"guobanfa": "国办发", "guofa": "国发", "guobanhan": "国办函", "guohan": "国函",
                   "renshebufa": "人社部发", "fagaijiuye": "发改就业", "fagaigaoji": "发改高技"}
_PINYIN_NUMBER = re.compile(rf"\b({'|'.join(_PINYIN_ISSUERS)})\s*[{_OPEN}]?\s*(\d{{4}})\s*[{_CLOSE}]?\s*"
                            r"(?:no\.?|number|#)?\s*(\d{1,4})\b(?:\s*号)?")


# A local regulation as English text names it: "the Shanghai and Shenzhen data regulations".
_EN_PLACE = {en: zh for zh, names in PLACES.items() for en in names}
_EN_KIND = {"data": "数据条例", "digital economy": "数字经济促进条例", "digital economy promotion": "数字经济促进条例",
            "city brain": "城市大脑"}
_EN_REGULATION = re.compile(
    rf"\b((?:{'|'.join(sorted(_EN_PLACE, key=len, reverse=True))})(?:(?:'s|’s)?\s*(?:,|and|&)\s*"
    rf"(?:{'|'.join(sorted(_EN_PLACE, key=len, reverse=True))}))*)(?:'s|’s)?\s+(?:municipal\s+|city\s+)?"
    rf"({'|'.join(sorted(_EN_KIND, key=len, reverse=True))})\s+(?:regulations?|rules?|ordinances?)\b")


# An English document title: capitalised words ending in a kind of document ("E-Commerce
# Law"), or a kind followed by what it is on ("Regulation on the Protection of Minors Online").
_EN_KINDS = r"(?:Law|Regulations?|Measures|Provisions|Rules|Guidelines|Ordinance)"
_EN_TITLE = re.compile(
    rf"\b((?:[A-Z][\w\-]*\s+){{1,6}}{_EN_KINDS}\b"
    rf"|{_EN_KINDS}\s+(?:on|for)\s+(?:the\s+)?[A-Z][\w\-]*(?:\s+(?:of\s+|and\s+)?[A-Z][\w\-]*){{0,5}})")
# Words of an English title that say what kind of document it is, not which.
# A capitalised question word before it ("What Law applies …", "Under Chinese Law …") names nothing.
_EN_TITLE_STOP = frozenset("law laws regulation regulations measures provisions rules guidelines ordinance on for of the and "
                           "china chinese prc people's republic national state council municipal city "
                           "what which who whose how when where why whether does do did is are was were can could may must "
                           "should would will under in according to if by as a an this that these those my our your their "
                           "i we you any some new current existing relevant".split())


def _pinyin_numbers(bare: str) -> str:
    """The folded question with pinyin 文号 and English names of local regulations
    written the Chinese way (the names the documents are resolved by)."""
    bare = _PINYIN_NUMBER.sub(lambda m: f"{_PINYIN_ISSUERS[m.group(1)]}〔{m.group(2)}〕{int(m.group(3))}号", bare)

    def local(m: re.Match[str]) -> str:
        places = re.findall("|".join(sorted(_EN_PLACE, key=len, reverse=True)), m.group(1))
        return "和".join(f"{_EN_PLACE[p]}{_EN_KIND[m.group(2)]}" for p in places)
    return _EN_REGULATION.sub(local, bare)


def find_number(meta: DocumentMeta, text: str) -> tuple[int, int] | None:
    """Where the document's own 文号 is written in its text (the line a citation of it quotes)."""
    key = _number_key(meta.doc_number) if meta.doc_number else ""
    if not key:
        return None
    for m in (*_DECREE.finditer(text), *_DOC_NUMBER.finditer(text)):
        if _number_key(m.group()) == key:
            start = m.start() + (len(m.group()) - len(m.group().lstrip(_BEFORE_ISSUER)))
            return start, m.end()
    return None


def _without_place(name: str, cities: Iterable[str]) -> str:
    """「上海市数据条例」 → 「数据条例」: the kind of document, for 「上海和深圳的数据条例」."""
    for city in cities:
        c = _bare(city).removesuffix("市")
        if name.startswith(c):
            rest = name[len(c):]
            for suffix in _PLACE_SUFFIX:
                rest = rest.removeprefix(suffix)
            return rest
    return ""


@dataclass(frozen=True)
class References:
    """What a question names. ``docs`` are corpus documents, in order of mention;
    ``missing`` are names of documents the corpus does not hold, as the user wrote them;
    ``missing_articles`` are articles the named document does not have (in words)."""

    docs: tuple[str, ...] = ()
    articles: tuple[int, ...] = ()
    missing: tuple[str, ...] = ()
    missing_articles: tuple[str, ...] = ()
    residual: str = ""  # the folded question with the names cut out (for term coverage)
    explicit: bool = False  # a document was named, not only inferred from 「数据条例」
    # Missing documents the corpus's texts mention (《上海市教育数字化转型实施方案（2021—
    # 2023）》 is cited by the paper): asked about, they are answered from what the corpus
    # says of them, saying the document itself is not held.
    mentioned: tuple[str, ...] = ()

    @property
    def any(self) -> bool:
        return bool(self.docs or self.missing or self.missing_articles)


@dataclass
class DocumentNames:
    """Every name of every document of one index revision, for `resolve`."""

    metas: dict[str, DocumentMeta]
    text_of: Callable[[str], str]  # doc_id → cleaned text, for article checks (lazy)
    _aliases: list[tuple[str, str]] = field(default_factory=list)  # (bare alias, doc_id), longest first
    _alias_doc: dict[str, str] = field(default_factory=dict)
    _alias_re: re.Pattern[str] | None = None
    _numbers: dict[str, str] = field(default_factory=dict)  # 文号 key → doc_id
    _kinds: dict[str, list[str]] = field(default_factory=dict)  # place-less kind → local doc ids
    _articles: dict[str, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        pairs: dict[str, str] = {}
        for doc_id, m in self.metas.items():
            names = {m.title, m.subtitle, *m.aliases}
            names |= {n.removeprefix(_COUNTRY) for n in names}
            for name in names:
                bare = _bare(name)
                if len(bare) >= MIN_ALIAS and bare not in pairs:
                    pairs[bare] = doc_id
                kind = _without_place(bare, m.cities) if m.cities else ""
                if len(kind) >= 4:
                    self._kinds.setdefault(kind, [])
                    if doc_id not in self._kinds[kind]:
                        self._kinds[kind].append(doc_id)
            key = _number_key(m.doc_number) if m.doc_number else ""
            if key:
                self._numbers[key] = doc_id
        self._aliases = sorted(pairs.items(), key=lambda kv: -len(kv[0]))
        # One alternation, longest names first, so a question is scanned once however many
        # documents there are (a regex alternation takes the first alternative that fits).
        self._alias_doc = dict(self._aliases)
        self._alias_re = re.compile("|".join(re.escape(a) for a, _ in self._aliases)) if self._aliases else None

    def mentions(self, bracketed: str) -> bool:
        """Whether some corpus text cites this bracketed title."""
        inner = _bare(bracketed).strip("《》")
        return any(inner in _bare(self.text_of(d)) for d in self.metas)

    def title(self, doc_id: str) -> str:
        return self.metas[doc_id].title

    def articles(self, doc_id: str) -> list[int]:
        """Article numbers of a document (parsed on first need)."""
        if doc_id not in self._articles:
            self._articles[doc_id] = structure(self.text_of(doc_id)).article_numbers()
        return self._articles[doc_id]

    def same_kind(self, name: str) -> list[str]:
        """Corpus documents of the kind a missing name is (for 「资料库收录的数据条例有……」)."""
        bare = _bare(name).strip("《》")
        for kind, ids in sorted(self._kinds.items(), key=lambda kv: -len(kv[0])):
            if bare.endswith(kind):
                return ids
        level = guess_level(name)
        return [d for d, m in self.metas.items() if level and m.legal_level == level]

    # ---- resolving a question ------------------------------------------------------

    def resolve(self, question: str, tokens: Callable[[str], list[str]] | None = None) -> References:
        """The documents, articles and missing names in ``question``.

        ``tokens`` (jieba) finds unbracketed law names such as 民法典 that no corpus
        document matches; without it only bracketed titles and 文号 are checked.
        """
        bare = _pinyin_numbers(_bare(question))
        taken = [False] * len(bare)
        docs: list[tuple[int, str]] = []
        missing: list[tuple[int, str]] = []
        explicit = False

        def claim(start: int, end: int) -> bool:
            if any(taken[start:end]):
                return False
            taken[start:end] = [True] * (end - start)
            return True

        for m in list(_DECREE.finditer(bare)) + list(_DOC_NUMBER.finditer(bare)):
            if not claim(m.start(), m.end()):
                continue
            doc = self._numbers.get(_number_key(m.group()))
            (docs if doc else missing).append((m.start(), doc or _number_key(m.group())))
            explicit = explicit or bool(doc)
        for m in self._alias_re.finditer(bare) if self._alias_re is not None else ():
            if claim(m.start(), m.end()):
                docs.append((m.start(), self._alias_doc[m.group()]))
                explicit = True
        papers = [d for d, m in self.metas.items() if m.kind == "paper"]
        for m in _THE_PAPER.finditer(bare) if papers else ():
            if claim(m.start(), m.end()):
                docs.extend((m.start(), d) for d in papers)
        places = places_in(bare)
        for kind, ids in sorted(self._kinds.items(), key=lambda kv: -len(kv[0])):
            for m in re.finditer(re.escape(kind), bare):
                if not claim(m.start(), m.end()):
                    continue
                named = [d for d in ids if places and any(_covers(self.metas[d], p) for p in places)]
                if named or not places:
                    docs.extend((m.start(), d) for d in (named or ids))
                # A place the question pairs with this kind that no document covers:
                # 「广州市数据条例」, or 「北京和上海的数据条例」 for 北京.
                for p in places:
                    if not any(_covers(self.metas[d], p) for d in ids):
                        missing.append((m.start(), _written(bare, p, kind)))
        # 「按北京条例……」: a place's regulation by shorthand, when the corpus holds its
        # local regulations (all of them, if it holds several).
        for m in _PLACE_REGULATION.finditer(bare):
            local = [d for d, meta in self.metas.items() if meta.legal_level == "地方性法规"
                     and any(c.removesuffix("市") == m.group(1) for c in meta.cities)]
            if local and claim(m.start(), m.end()):
                docs.extend((m.start(), d) for d in local)
                explicit = True
        # Documents the corpus lacks can only be told in a corpus whose documents have
        # names: a set of untitled passages (a reading-comprehension set) names none, and
        # 《宇宙奇兵》 there is a topic, not a document.
        titled = any(m.title for m in self.metas.values())
        for m in _BRACKETED.finditer(bare) if titled else ():
            title = m.group(1)
            kind = _DOCUMENT_KIND.search(re.sub(r"[（(][^）)]*[）)]$", "", title))  # 「实施方案（2021—2023）」
            if not self._known(title) and kind and claim(m.start(), m.end()):
                missing.append((m.start(), f"《{title}》"))
        if tokens is not None and titled:
            missing += [(bare.find(n), n) for n in self._unbracketed(bare, taken, tokens)]
        for m in _EN_TITLE.finditer(question) if titled and not docs else ():
            # "When did China's E-Commerce Law come into force?": an English title no corpus
            # document goes by (its words are in none of the English names).
            name = m.group(1).strip()
            if not self._known_english(name):
                missing.append((max(bare.find(name.lower()), 0), name))

        articles = [n for n in (cn_to_int(x) for x in _ARTICLE.findall(bare)) if n]
        articles += [int(x) for x in _ARTICLE_EN.findall(bare)]
        doc_ids = list(dict.fromkeys(d for _, d in sorted(docs)))
        missing_articles = self._missing_articles(doc_ids, articles)

        residual = "".join(" " if t else ch for ch, t in zip(bare, taken))
        residual = _ARTICLE.sub(" ", residual)
        names = tuple(dict.fromkeys(n for _, n in sorted(missing)))
        # Leniency for what is only cited, not held, applies to plans and reports; what a
        # law or a regulation says is only ever answered from the law itself.
        mentioned = tuple(n for n in names if n.startswith("《") and not _NORMATIVE.search(n.rstrip("》"))
                          and self.mentions(n))
        return References(
            docs=tuple(doc_ids),
            articles=tuple(dict.fromkeys(articles)),
            missing=names,
            missing_articles=tuple(missing_articles),
            mentioned=mentioned,
            residual=re.sub(r"\s+", " ", residual).strip(),
            explicit=explicit,
        )

    def _known_english(self, name: str) -> bool:
        """Whether an English title names a corpus document: one of its English names holds
        the title, or every content word of it ("Information Disclosure Regulations")."""
        folded = name.lower()
        english = [a for a, _ in self._aliases if not re.search(r"[\u4e00-\u9fff]", a)]
        if any(a in folded or folded in a for a in english):
            return True
        words = set(re.findall(r"[a-z][a-z\-]+", folded)) - _EN_TITLE_STOP
        return not words or any(all(w in a for w in words) for a in english)

    def _known(self, title: str) -> bool:
        """Whether a bracketed title names a corpus document (exactly, or as its tail:
        《个人信息保护法》 is 《中华人民共和国个人信息保护法》)."""
        title = title.removeprefix(_COUNTRY)
        return any(alias == title or (len(title) >= 4 and alias.endswith(title)) for alias, _ in self._aliases)

    def _missing_articles(self, doc_ids: list[str], articles: list[int]) -> list[str]:
        if not articles:
            return []
        out = []
        law_docs = [d for d in doc_ids if self.articles(d)]
        if law_docs:
            for d in law_docs:
                have = self.articles(d)
                for n in articles:
                    if n not in have:
                        out.append(f"《{self.title(d)}》第{int_to_cn(n)}条（该文件共{int_to_cn(max(have))}条）")
        elif not doc_ids:
            # No document named: an article no document has cannot be answered by any.
            every = {n for d in self.metas for n in self.articles(d)}
            out = [f"第{int_to_cn(n)}条" for n in articles if n not in every]
        return out

    def _unbracketed(self, bare: str, taken: list[bool], cut: Callable[[str], list[str]]) -> list[str]:
        """Law names typed without 《》 that no corpus document matches: 民法典, 电子商务法.

        The name ends at 法/法典/条例 (not 法律, 法规 …) and starts where the words before it
        stop being part of a name (根据, 的, question words).
        """
        out: list[str] = []
        for m in _LAW_END.finditer(bare):
            if any(taken[m.start() : m.end()]):
                continue
            name_words: list[str] = []
            for w in reversed(cut(bare[: m.start()])):
                if (not re.fullmatch(r"[\u4e00-\u9fff]+", w) or w in _NOT_A_NAME or w in QUESTION_WORDS
                        or w.startswith(("怎么", "如何", "什么")) or len("".join(name_words)) + len(w) > 10):
                    break
                name_words.insert(0, w)
                if len(name_words) == 3:
                    break
            name = "".join(name_words) + m.group()
            start = m.start() - len(name) + len(m.group())
            if start < 0 or any(taken[start : m.end()]) or len(name) < 3 or name.endswith(_NOT_A_LAW):
                continue
            # A law is named by a noun (公司法, 电子商务法), not a verb (「怎么个评法」).
            if not name_words or (len(name_words[-1]) < 2 and m.group() != "法典"):
                continue
            if m.group() == "条例" and len(name) < 4:
                continue
            if not self._known(name) and not _is_place(name):
                out.append(name)
                # A document the question names is its scope, not what it asks about.
                taken[start : m.end()] = [True] * (m.end() - start)
        return out


def _covers(meta: DocumentMeta, place: str) -> bool:
    return any(c.removesuffix("市") == place for c in meta.cities)


def _is_place(name: str) -> bool:
    return name.rstrip("省市") in PLACES


def _written(bare: str, place: str, kind: str) -> str:
    """How the question wrote a missing local document: 「广州市数据条例」, else 「广州数据条例」."""
    m = re.search(rf"{re.escape(place)}(?:{'|'.join(_PLACE_SUFFIX)})?{re.escape(kind)}", bare)
    return m.group() if m else place + kind


def guess_level(name: str) -> str:
    """The legal level a document name suggests (法 → 法律, 国发 → 国务院文件 …), '' if unclear."""
    bare = _bare(name)
    if re.search(r"^国(?:办)?(?:发|函)", bare):
        return "国务院文件"
    if _DOC_NUMBER.search(bare):
        return "部门文件"
    if "国务院令" in bare:
        return "行政法规"
    if bare.endswith(("法", "法典", "法》")):
        return "法律"
    if places_in(bare) and bare.endswith(("条例", "条例》", "规定", "决定")):
        return "地方性法规"
    if bare.endswith(("条例", "条例》")):
        return "行政法规"
    return ""
