"""Check a generated answer against its sources, sentence by sentence.

A model's answer is a claim, not evidence. Each sentence must name its sources with
[n] markers, and each cited source must hold a span that supports the sentence: most of
the sentence's character bigrams (in the folded, Simplified form) occur there, and every
number in the sentence occurs in it. A supported sentence keeps its wording and gets
citations quoting the exact supporting span of the document (``quote ==
document.text[start:end]``); a sentence with no marker, a marker pointing at no source,
or no supporting span is dropped. Spans that read like instructions to a model
(「忽略以上所有指令…」) never count as support, so a model that obeys text planted in a
document has that sentence removed.

The check runs *while* the answer streams (`Grounder.feed`): a sentence is released as
soon as it and its trailing markers are complete, so the user sees text early and never
sees a sentence that is later withdrawn. Citations are numbered 1..N in order of first
use and the markers are rewritten to match.

English answers over Chinese sources share no bigrams with them, and the multilingual
embedding alone cannot tell a supported English sentence from an invented one on the same
page (its cosines are bunched: see `MIN_COSINE`). An English (Latin-script) sentence is
therefore checked through the glossary (`rag.text.synonyms`): its content words must be
mostly known to it, and their Chinese terms found in the cited span; every number must
agree with the span (``30,000`` = 3万, ``191 million`` = 1.91亿, ``December`` = 12月);
names and codes the glossary does not know (WeChat, PIN, an account, a URL) must be in the
span as written; and the optional ``similarity`` (the embedding model) must clear a floor
calibrated for English against Chinese. What cannot be verified this way is dropped.

Whatever its markers, a sentence that is markup (``</source>``, ``<b>``), a bare token
(``pwned``) or carries no content word (「以上[1]。」, "Yes [1].") is dropped: it
says nothing a source could support.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from rag.answer.prompts import NO_ANSWER
from rag.text import synonyms
from rag.text.normalize import fold_for_search, has_cjk
from rag.text.numerals import cn_to_int
from rag.text.places import PLACES, places_in
from rag.text.sentences import split_sentences
from rag.text.tokenize import STOPWORDS, tokenize
from rag.types import Citation, Passage

# Share of an answer sentence's bigrams its sources must cover (bigrams found only in the
# passage's heading or elsewhere in the passage count half).
MIN_SUPPORT = 0.5
# Share one cited span must cover on its own to be kept as a citation of a sentence
# that cites several sources.
MIN_PART = 0.25
# Latin-script sentences (see the module docstring); figures from
# `python -m eval.grounding_bench --calibrate` on the bundled corpus.
# Share of an English sentence's content words the glossary (or the place list) must know:
# below it the sentence is mostly words nothing can check against Chinese, so unverifiable.
MIN_KNOWN = 0.5
# Share of the known words whose Chinese terms a span must contain (words found only in
# the passage's heading or elsewhere in the passage count half, as for Chinese).
MIN_GLOSSARY = 0.6
# Cosine floor, per language of the answer sentence, of the sentence against its best
# spans (query-prefixed sentence vs passage-prefixed span, as `Pipeline.similarity` gives;
# Chinese sentences are checked by bigrams, not by a cosine). Calibrated for
# multilingual-e5-small, English vs Chinese source sentences: 94 supported English
# sentences (three sets, one held out) score 0.781-0.889 against their source sentence
# (median 0.84); 48 invented sentences on the same passage 0.768-0.874 (median 0.82);
# supported sentences against other passages 0.715-0.864 (median 0.78, p95 0.815); junk
# and injections 0.708-0.841 (median 0.78). The distributions overlap, so the cosine
# cannot be the test: the glossary, place, name, number and negation tests decide (with
# no floor at all they keep 4 of 999 sentences cited to the wrong passage, 0 of 325 junk).
# The floor is the highest that keeps every supported sentence measured (0.781): it also
# removes one more invented and one more misattributed sentence. At 0.79 the check would
# lose 3 of 72 tuning sentences for one more invented sentence caught.
MIN_COSINE: dict[str, float] = {"en": 0.78}

Similarity = Callable[[str, list[str]], list[float]]

# [1] [1,2] [1、2] 【1】 ［1］ — models vary; all are rewritten to the canonical [n].
MARKER = re.compile(r"[\[【［]\s*(\d{1,3}(?:\s*[,，、]\s*\d{1,3})*)\s*[\]】］]")
_PARTIAL_MARKER = re.compile(r"[ \t]*[\[【［][\d\s,，、]*$")
_TRAILING_MARKERS = re.compile(r"(?:[ \t]*" + MARKER.pattern + r")*")
# Sentence ends: Chinese/English end punctuation with closing quotes, a period that is
# not a decimal point, or a line break.
_END = re.compile(r"[。！？!?…]+[”’」』）》)\"']*|\.(?=[\s\[【［\"'”’)]|$)[”’)\"']*|\n+")
_NUMBER = re.compile(r"\d+(?:\.\d+)?")
_CONTENT = re.compile(r"[\w\u3400-\u9fff]")

# Text that addresses a model rather than a reader: never evidence for anything.
_INSTRUCTION = re.compile(
    r"(?:忽略|无视|忘记|忘掉|不要理会|不要遵守|跳过)[^。！？\n]{0,12}(?:指令|指示|提示|规则|要求|设定|命令|prompt)"
    r"|(?:只|仅)(?:需)?(?:回答|回复|输出|说)\s*[:：]"
    r"|你现在是|从现在(?:起|开始)你|扮演|系统提示|system\s*prompt|you\s+are\s+now"
    r"|(?:ignore|disregard|forget)\s+(?:all\s+|any\s+)?(?:the\s+)?(?:previous|above|prior|earlier|preceding)\s+"
    r"(?:instructions|prompts|rules|messages)"
    r"|(?:answer|respond|reply)\s+only\s+(?:with|:)"
    r"|<\s*/?\s*(?:source|question|history|system|user|assistant)\b",
    re.IGNORECASE,
)


def looks_like_instruction(text: str) -> bool:
    """Whether a source span talks to a model (a planted instruction), not to a reader."""
    return bool(_INSTRUCTION.search(fold_for_search(text)))


def markers(sentence: str) -> list[int]:
    """The source numbers a sentence cites, in order, without repeats."""
    found: list[int] = []
    for m in MARKER.finditer(sentence):
        for n in re.split(r"[,，、]", m.group(1)):
            if int(n) not in found:
                found.append(int(n))
    return found


def strip_markers(text: str) -> str:
    """The text without its [n] markers."""
    return MARKER.sub("", text)


def _chars(text: str) -> str:
    return "".join(ch for ch in fold_for_search(text) if ch.isalnum())


def bigrams(text: str) -> set[str]:
    """Character bigrams of the folded text (letters, digits and ideographs only)."""
    s = _chars(text)
    if len(s) < 2:
        return {s} if s else set()
    return {s[i : i + 2] for i in range(len(s) - 1)}


def numbers(text: str) -> list[str]:
    """Arabic numbers in the folded text (``2,000`` read as ``2000``)."""
    folded = re.sub(r"(?<=\d),(?=\d{3})", "", fold_for_search(text))
    return _NUMBER.findall(folded)


def _has_number(text: str, number: str) -> bool:
    folded = re.sub(r"(?<=\d),(?=\d{3})", "", fold_for_search(text))
    return bool(re.search(rf"(?<![\d.]){re.escape(number)}(?!\d|\.\d)", folded))


def is_latin(body: str) -> bool:
    """Whether a sentence is written mostly in Latin script (checked as English)."""
    cjk = sum(1 for ch in body if has_cjk(ch))
    letters = sum(1 for ch in body if ch.isalpha())
    return cjk < 0.3 * max(letters, 1)


def is_no_answer(sentence: str) -> bool:
    """Whether the sentence is the fixed "the sources do not answer" phrase (any language)."""
    got = _chars(sentence)
    return any(_chars(p) and _chars(p) in got for p in NO_ANSWER.values())


# ---- sentences no source can support -----------------------------------------------

# Markup: our prompt's delimiters (with or without their closing bracket: 「</source」 is
# an echo of the prompt all the same), any HTML/XML tag, comments and CDATA. Checked on the
# folded, unescaped text, so ＜/source＞ and &lt;b&gt; count too. A tag needs a letter after
# the bracket, so 「<14岁」 and "a < b" are prose.
_MARKUP = re.compile(
    r"<\s*/?\s*(?:source|question|history|system|user|assistant)\b"
    r"|<\s*/?\s*[a-z][\w:-]*(?:\s[^<>]*)?/?\s*>|<!--|-->|<!\[cdata\[",
    re.IGNORECASE,
)

# Chinese words that frame an answer but assert nothing: a sentence made only of these
# (and numbers, stopwords, punctuation) has nothing a span could support. Modal words
# (可以, 不得, 应当) are not here: in a yes/no answer they are the content.
_FILLER_ZH: frozenset[str] = frozenset(
    "是的 好的 对 嗯 如下 如上 以上 以下 上述 所述 综上 综上所述 总之 总而言之 因此 所以 此外 另外 同时 其中 "
    "例如 比如 具体 具体来说 具体如下 主要 包括 主要包括 分别 答案 回答 根据 依据 资料 材料 来源 编号 显示 资料显示 内容 相关 有关".split()
)


# A sentence that stops where its answer should begin: 「……的文号是[1]。」, "The city … is [1]."
# (a small model that lost the fact): it states nothing a source could support.
# (A line ending in a colon introduces a list and is checked as such.)
_UNFINISHED = re.compile(r"(?:是|为|包括|\b(?:is|are|was|were|include|includes))\s*[。.!！?？]?\s*$", re.IGNORECASE)


def is_markup(text: str) -> bool:
    """Whether the text holds markup: a delimiter of our prompt or an HTML/XML tag."""
    return bool(_MARKUP.search(fold_for_search(html.unescape(text))))


def _has_chinese_content(body: str) -> bool:
    """A Chinese sentence says something: one word beyond fillers, stopwords and numbers."""
    return any(t not in _FILLER_ZH and not _NUMBER.fullmatch(t) for t in tokenize(body))


# ---- English (Latin-script) sentences --------------------------------------------------

# Function words, and light words that carry a sentence's structure but no fact the
# glossary could look for in Chinese (provide, include, such, several …). They are left
# out of the content words: counting them as unknown would drop honest sentences, and an
# invented sentence still needs its topic words in the span. Glossary words are looked up
# first, so a word that is both (keep, apply) is checked.
_FUNCTION_WORDS_EN: frozenset[str] = frozenset(
    """a an the this that these those there here it its they them their theirs he she his her him we us our
    you your i me my mine who whom whose which what when where why how whether if then than so as such
    and or nor but also too either neither both each every all any some no not none only just even still yet
    of in on at to for from by with without within into onto over under above below between among through
    throughout during before after since until upon about around across along against toward towards via per
    off out up down away back again further once ever never always often usually already
    is are was were be been being am do does did done doing have has had having will would shall should can
    could may might must need needs ought
    more most less least many much several various few other another own same certain main major key
    very quite rather well especially particularly mainly mostly largely generally specifically including
    include includes included namely e.g. i.e. etc like
    use uses used using make makes made making take takes took taken give gives gave given get gets got
    provide provides provided providing offer offers offered offering set sets help helps helped helping
    allow allows allowed allowing enable enables enabled let lets put puts become becomes became
    build builds built building establish establishes established create creates created
    carry carried achieve achieves achieved promote promotes promoted improve improves improved
    according accordance based regarding related relevant respectively currently now also however therefore
    thus moreover furthermore addition additionally overall total totally number numbers kind kinds type types
    way ways thing things part parts one's source sources passage passages document documents text paper
    article says said state states stated stating mention mentions mentioned note notes noted
    new able"""
    .split()
) | STOPWORDS

# Number words and months, read as the numbers a Chinese span writes (五, 5; 12月).
_UNITS_EN = {"zero": 0, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
             "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15,
             "sixteen": 16, "seventeen": 17, "eighteen": 18, "nineteen": 19, "twenty": 20, "thirty": 30,
             "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80, "ninety": 90}
_SCALES_EN = {"hundred": 1e2, "thousand": 1e3, "million": 1e6, "billion": 1e9}
_MONTHS_EN = {m: i for i, m in enumerate(
    "january february march april may june july august september october november december".split(), 1)}
_MONTHS_EN.update({m[:3]: i for m, i in list(_MONTHS_EN.items()) if m != "may"})

# One token of an English sentence: a URL, an e-mail address, a handle, a number (with its
# ordinal or percent sign), a word (apostrophes, dots, slashes and underscores inside; a
# hyphen separates words, so 「Guangdong-Hong Kong-Macao」 still names Hong Kong), or a run
# of Chinese characters quoted in the English.
_TOKEN_EN = re.compile(
    r"(?:https?://|www\.)\S+?(?=[\s)\]】,;]|[.!?](?:\s|$)|$)|[\w.+-]+@[\w-]+(?:\.[\w-]+)+|@\w+"
    r"|\d+(?:[.,]\d+)*(?:st|nd|rd|th)?%?(?![a-z])|[a-z0-9]+(?:['’._/][a-z0-9]+)*|[\u3400-\u9fff]+",
    re.IGNORECASE,
)
_VOWEL = re.compile(r"[aeiouy]")
# A number in a Chinese span, with the 万/亿 that scales it (3万多 = more than 30,000).
_SPAN_NUMBER = re.compile(r"(\d+(?:\.\d+)?)\s*(?:多|余)?\s*(万|亿)?")
_CN_NUMBER = re.compile(r"[零〇一二三四五六七八九十百千两]+(?:多|余)?(?:万|亿)?")
# Negation in English, and the Chinese that negates: a negated English sentence over a
# span that negates nothing says the opposite of it ("guide dogs are banned" over 「提供便利」).
_NEGATION_EN = re.compile(
    r"\b(?:no|not|never|none|nor|without|cannot|can't|won't|don't|doesn't|isn't|aren't|mustn't|shouldn't|"
    r"ban|bans|banned|prohibit|prohibits|prohibited|forbid|forbids|forbidden|refuse|refuses|refused)\b|n't\b",
    re.IGNORECASE,
)
_NEGATION_ZH = re.compile(r"[不没无未非勿禁免拒否]")


@lru_cache(maxsize=1)
def _glossary() -> tuple[dict[str, tuple[str, ...]], tuple[tuple[re.Pattern[str], tuple[str, ...], bool], ...]]:
    """The English glossary of ``synonyms.toml`` as the check reads it — the questions'
    table and the answers' (``[english_answers]``, which search does not read) — as
    one-word entries by word, and the entries and place spellings of several words as
    patterns, longest first, with their Chinese terms and whether they name a place.
    (`synonyms` offers its phrases as search results only; the check needs to know which
    words they cover.)"""
    words: dict[str, tuple[str, ...]] = {}
    phrases: list[tuple[re.Pattern[str], tuple[str, ...], bool]] = []
    data = synonyms._data()
    for en, zh in {**data.get("english", {}), **data.get("english_answers", {})}.items():
        key = fold_for_search(en)
        if _ONE_WORD.fullmatch(key):
            words[key] = tuple(zh)
        else:
            phrases.append((re.compile(rf"\b{re.escape(key)}\b"), tuple(zh), False))
    for zh, spellings in PLACES.items():
        phrases += [(re.compile(rf"\b{re.escape(sp)}\b"), (zh,), True) for sp in spellings if not _ONE_WORD.fullmatch(sp)]
    phrases.sort(key=lambda x: -len(x[0].pattern))
    return words, tuple(phrases)


_ONE_WORD = re.compile(r"[a-z0-9'’]+")


def _gloss(word: str) -> tuple[str, ...]:
    """The Chinese terms for one English word (lower case), trying its plain forms too."""
    words = _glossary()[0]
    return words.get(word) or next((words[lemma] for lemma in _lemmas(word) if lemma in words), ())


def _lemmas(word: str) -> list[str]:
    """Plain forms an inflected English word may be listed under (canteens → canteen)."""
    out: list[str] = []
    if word.endswith("ies") and len(word) > 4:
        out.append(word[:-3] + "y")
    if word.endswith("es") and len(word) > 3:
        out.append(word[:-2])
    if word.endswith("s") and not word.endswith("ss") and len(word) > 3:
        out.append(word[:-1])
    if word.endswith("ed") and len(word) > 4:
        out += [word[:-2], word[:-1]]
    if word.endswith("ing") and len(word) > 5:
        out += [word[:-3], word[:-3] + "e"]
    if not word.endswith("s"):
        out.append(word + "s")
    return out


def _looks_like_code(token: str) -> bool:
    """A name or code rather than a word: WeChat, PIN, pq-help, user_01, a.b, 5G."""
    if any(ch in token for ch in "_/@.") or (re.search(r"\d", token) and re.search(r"[a-z]", token, re.IGNORECASE)):
        return True
    parts = [p for p in re.split(r"['’-]", token) if p]
    for part in parts:
        if part.isupper() and len(part) >= 2:  # PIN, ID, SMS
            return True
        if re.search(r"[a-z][A-Z]", part):  # WeChat, iPhone
            return True
        if part.isalpha() and len(part) >= 2 and not _VOWEL.search(part.lower()):  # pq, wx
            return True
    return False


@dataclass(frozen=True)
class Word:
    """One content word of an English sentence and what the check needs of it."""

    text: str  # as written
    terms: tuple[str, ...] = ()  # Chinese terms that say it (glossary, place); empty: unknown
    place: bool = False  # a place: its name must be in the span or its heading
    literal: bool = False  # a name or code (or quoted Chinese): the span must hold it as written


@dataclass(frozen=True)
class Claim:
    """What an English sentence asserts, as far as its sources can be checked for it."""

    words: tuple[Word, ...]
    values: tuple[float, ...]  # every number it states
    tokens: int  # all tokens, function words included (one: a bare token)
    negated: bool = False  # it says no, not, never, banned …

    @property
    def known(self) -> list[Word]:
        return [w for w in self.words if w.terms]

    @property
    def says_something(self) -> bool:
        """More than a bare token, and at least one content word."""
        return self.tokens > 1 and bool(self.words)

    @property
    def verifiable(self) -> bool:
        """Enough of it is known to the glossary to look for in Chinese (see `MIN_KNOWN`)."""
        return self.tokens > 1 and bool(self.known) and len(self.known) >= MIN_KNOWN * len(self.words)


def read_claim(body: str) -> Claim:
    """The content words, names and numbers of an English sentence (markers stripped)."""
    raw = [(m.group(), m.start(), m.end()) for m in _TOKEN_EN.finditer(body)]
    low = [re.sub(r"['’]s$", "", t.lower()) for t, _, _ in raw]
    phrases: dict[int, Word] = {}
    # Glossary phrases and place names of several words first, longest first (internet of
    # things, public health, Hong Kong, elderly-care): their words say one concept together.
    lowered = "".join(ch.lower() if len(ch.lower()) == 1 else ch for ch in body)  # offsets stay
    for pattern, terms, place in _glossary()[1]:
        for m in pattern.finditer(lowered):
            inside = [j for j, (_, a, b) in enumerate(raw) if m.start() <= a and b <= m.end()]
            if inside and not any(j in phrases for j in inside):
                for j in inside:
                    phrases[j] = Word(raw[j][0], terms, place=place)
    words: list[Word] = []
    for i, ((text, _, _), word) in enumerate(zip(raw, low)):
        if i in phrases:
            if word not in _FUNCTION_WORDS_EN:
                words.append(phrases[i])
        elif has_cjk(word):
            words.append(Word(text, (fold_for_search(word),), literal=True))
        elif _is_number_word(word) or (i and _is_number_word(low[i - 1]) and word in _COUNTED):
            continue  # a number, or what it counts (3 years, 50 yuan): checked by value
        elif (w := _read_word(text, word)) is not None:
            words.append(w)
    return Claim(tuple(words), tuple(_english_values(low)), len(raw), bool(_NEGATION_EN.search(body)))


# What a number counts, said with the number in Chinese too (3年, 50元, 24小时): the
# number's agreement checks it.
_COUNTED = frozenset(
    "year years month months week weeks day days hour hours minute minutes yuan rmb percent times time people "
    "persons person items kinds categories".split()
)


def _is_number_word(word: str) -> bool:
    return word[:1].isdigit() or word in _UNITS_EN or word in _SCALES_EN or word in _MONTHS_EN or word == "percent"


def _read_word(text: str, word: str) -> Word | None:
    """One word no phrase covers: a glossary word, a place, a name or code, an unknown
    content word, or (None) a function word."""
    found = _gloss(word)
    if _looks_like_code(text) and not found:
        return Word(text, literal=True)  # PIN, WeChat, IT, pq: names, never function words
    if found:
        return Word(text, found)
    places = places_in(word)
    if len(places) == 1:
        return Word(text, (places[0],), place=True)
    if word in _FUNCTION_WORDS_EN:
        return None
    return Word(text)


def _english_values(tokens: list[str]) -> list[float]:
    """The numbers of an English sentence: 30,000; 4.2 million; five; 24.6%; 14th; December."""
    out: list[float] = []
    i = 0
    while i < len(tokens):
        t = tokens[i]
        value: float | None = None
        m = re.fullmatch(r"(\d+(?:,\d{3})*(?:\.\d+)?)(?:st|nd|rd|th)?%?", t)
        if m:
            value = float(m.group(1).replace(",", ""))
        elif t in _UNITS_EN:
            value = float(_UNITS_EN[t])
            if i + 1 < len(tokens) and tokens[i + 1] in _UNITS_EN and _UNITS_EN[t] >= 20 and _UNITS_EN[tokens[i + 1]] < 10:
                i += 1  # twenty five
                value += _UNITS_EN[tokens[i]]
        elif t in _MONTHS_EN and (t != "may" or (i + 1 < len(tokens) and tokens[i + 1][:1].isdigit())):
            out.append(float(_MONTHS_EN[t]))
        if value is not None:
            while i + 1 < len(tokens) and tokens[i + 1] in _SCALES_EN:
                i += 1
                value *= _SCALES_EN[tokens[i]]
            out.append(value)
        i += 1
    return out


def _span_values(text: str) -> set[float]:
    """Every number a Chinese span states, as written and scaled by 万/亿 (3万 → 3, 30000)."""
    folded = re.sub(r"(?<=\d),(?=\d{3})", "", fold_for_search(text))
    out: set[float] = set()
    for m in _SPAN_NUMBER.finditer(folded):
        v = float(m.group(1))
        out.add(v)
        if m.group(2):
            out.add(v * (1e4 if m.group(2) == "万" else 1e8))
    for m in _CN_NUMBER.finditer(folded):
        core = m.group().rstrip("万亿")
        v = cn_to_int(core) if core else None
        if v is not None:
            out.add(float(v))
            if m.group().endswith(("万", "亿")):
                out.add(v * (1e4 if m.group().endswith("万") else 1e8))
    return {round(v, 6) for v in out}


def _literal_in(token: str, folded: str) -> bool:
    """A name or code occurs in the folded text as a whole token (PIN not inside SPINE)."""
    t = fold_for_search(token)
    return bool(re.search(rf"(?<![a-z0-9]){re.escape(t)}(?![a-z0-9])", folded))


@dataclass(frozen=True)
class Span:
    """A candidate supporting span of one passage, in document offsets."""

    passage: Passage
    start: int
    end: int

    @property
    def text(self) -> str:
        return self.passage.text[self.start - self.passage.start : self.end - self.passage.start]


@dataclass
class Support:
    """The best span of one cited passage for one answer sentence."""

    span: Span
    covered: set[str]
    score: float


@dataclass(frozen=True)
class Check:
    """The decision on one generated sentence: what evaluation and logs read.

    ``reason`` is ``kept``, ``no_answer``, or why it was dropped: ``markup``,
    ``no_content``, ``unsupported`` (a Chinese sentence, or no cited source), and for an
    English sentence the first test it failed: ``unverifiable``, ``glossary``,
    ``place``, ``name``, ``number``, ``negation``, ``similarity``.
    """

    sentence: str  # as generated, markers included
    shown: str  # as released, markers renumbered; '' when not shown
    reason: str
    markers: tuple[int, ...]  # the source numbers it cited, as generated
    sources: tuple[int, ...] = ()  # the cited sources that support it (numbers as generated)
    inherited: bool = False  # written without markers; checked against the next sentence's


@dataclass
class Grounded:
    """A checked answer: the kept sentences with renumbered markers and their citations."""

    pieces: list[str] = field(default_factory=list)  # released text, in order; joined = the answer
    citations: list[Citation] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # kept sentences, rewritten
    dropped: list[str] = field(default_factory=list)  # dropped sentences, as generated
    no_answer: bool = False  # the model said its sources do not answer
    checks: list[Check] = field(default_factory=list)  # every sentence with content, in order

    @property
    def text(self) -> str:
        return "".join(self.pieces)

    @property
    def direct(self) -> str:
        """The first kept sentence without markers: the short answer."""
        return strip_markers(self.kept[0]).strip() if self.kept else ""

    def status(self) -> str:
        """``ok`` or ``ok; dropped N unsupported sentence(s)``."""
        n = len(self.dropped)
        return "ok" if not n else f"ok; dropped {n} unsupported sentence{'s' if n > 1 else ''}"


class Grounder:
    """Checks an answer as it streams in; see the module docstring.

    ``feed`` each delta and show the pieces it returns; call ``finish`` at the end of the
    stream for the rest; ``result`` holds everything released and the citations.
    """

    def __init__(self, passages: Sequence[Passage], similarity: Similarity | None = None) -> None:
        self.passages = list(passages)
        self.similarity = similarity
        self.result = Grounded()
        self._pending = ""
        self._numbers: dict[tuple[str, int, int], int] = {}
        self._spans: dict[int, list[Span]] = {}
        self._bigrams: dict[tuple[int, int, int], set[str]] = {}  # folding is slow: once per span
        self._folded: dict[tuple[int, int, int], str] = {}
        self._reason = ""  # why the sentence being checked lacks support
        self._held: list[str] = []  # sentences without markers, waiting for the paragraph's
        self._inherited = False  # whether the sentence being checked took a later one's markers

    # ---- streaming -----------------------------------------------------------------

    def feed(self, delta: str) -> list[str]:
        """Take more answer text; return the pieces (checked sentences) now ready to show."""
        self._pending += delta
        return self._release(final=False)

    def finish(self) -> list[str]:
        """The stream ended: check what is left; return the last pieces."""
        return self._release(final=True)

    def _release(self, final: bool) -> list[str]:
        out: list[str] = []
        while True:
            cut = self._next_cut(final)
            if cut is None:
                break
            raw, self._pending = self._pending[:cut], self._pending[cut:]
            out += [piece for piece in self._take(raw) if piece]
            if not self._pending:
                break
        if final:
            out += [piece for piece in self._settle_held() if piece]
        self.result.pieces.extend(out)
        return out

    # Small models often cite once per paragraph: 「甲。乙。丙。[1][2]」. A sentence without
    # markers is held until the paragraph's next cited sentence and checked against the
    # sources that one cites (shown with the markers of those that support it); at a
    # paragraph break or the end with none to follow, it has no source and is dropped.

    def _take(self, raw: str) -> list[str]:
        """The pieces released by one complete sentence (held ones first)."""
        sentence = raw.strip()
        out: list[str] = []
        if self._held and "\n" in raw[: len(raw) - len(raw.lstrip())] and not _cites_only(sentence):
            # A new paragraph: the held sentences found no markers. (A line that only cites,
            # 「- 依据资料：[1][2]」, still belongs to the paragraph above it.)
            out += self._settle_held()
        if _CONTENT.search(strip_markers(sentence)) and not markers(sentence) and not is_markup(sentence) \
                and not is_no_answer(sentence):
            self._held.append(raw)
            return out
        cited = markers(sentence)
        if cited and self._held:
            given = "".join(f"[{n}]" for n in dict.fromkeys(cited))
            held, self._held = self._held, []
            self._inherited = True
            try:
                out += [self._check(_with_markers(h, given)) for h in held]
            finally:
                self._inherited = False
        out.append(self._check(raw))
        return out

    def _settle_held(self) -> list[str]:
        held, self._held = self._held, []
        return [self._check(h) for h in held]

    def _next_cut(self, final: bool) -> int | None:
        """Where the first complete sentence of the pending text ends (with its markers)."""
        text = self._pending
        for m in _END.finditer(text):
            if not text[: m.start()].strip():
                continue  # leading line breaks: the separator of the sentence that follows
            if m.group().startswith("\n"):
                return m.start()
            # Markers may follow the end punctuation ("… sites. [1]"): they belong here.
            tail = _TRAILING_MARKERS.match(text, m.end())
            end = tail.end() if tail else m.end()
            rest = text[end:]
            if final or (rest.strip(" \t") and not _PARTIAL_MARKER.fullmatch(rest)):
                return end
            return None  # need more text to know whether markers follow
        return len(text) if final and text else None

    # ---- checking one sentence -----------------------------------------------------

    def _check(self, raw: str) -> str:
        """The sentence as released (leading separator + rewritten text), or '' if dropped."""
        sentence = raw.strip()
        body = strip_markers(sentence)
        if not _CONTENT.search(body):
            return ""  # blank lines, rules, bare bullets: nothing to check or drop
        if is_markup(sentence):
            return self._drop(sentence, "markup")  # an echo of the prompt or a tag, whatever it cites
        if is_no_answer(sentence):
            self.result.no_answer = True
            self.result.checks.append(Check(sentence, "", "no_answer", tuple(markers(sentence))))
            return ""
        says = _has_chinese_content(body) if not is_latin(body) else read_claim(body).says_something
        if not says or _UNFINISHED.search(body):
            return self._drop(sentence, "no_content")
        self._reason = "unsupported"
        mapping = self._support(sentence)
        if not mapping:
            return self._drop(sentence, self._reason)
        text = MARKER.sub(lambda m: "".join(f"[{k}]" for k in self._renumber(m, mapping)), sentence)
        self.result.kept.append(text)
        self.result.checks.append(Check(sentence, text, "kept", tuple(markers(sentence)), tuple(mapping),
                                        inherited=self._inherited))
        if len(self.result.kept) == 1:
            return text
        # Keep the model's layout between kept sentences: a line break, a space, or nothing.
        lead = raw[: len(raw) - len(raw.lstrip())]
        return ("\n" if "\n" in lead else " " if lead else "") + text

    def _drop(self, sentence: str, reason: str) -> str:
        self.result.dropped.append(sentence)
        self.result.checks.append(Check(sentence, "", reason, tuple(markers(sentence)), inherited=self._inherited))
        return ""

    def _fail(self, reason: str) -> dict[int, Span]:
        """No support, and the test that said so (for `Check.reason`)."""
        self._reason = reason
        return {}

    def _renumber(self, m: re.Match[str], mapping: dict[int, Span]) -> list[int]:
        out: list[int] = []
        for n in re.split(r"[,，、]", m.group(1)):
            span = mapping.get(int(n))
            if span is None:
                continue
            key = (span.passage.doc_id, span.start, span.end)
            if key not in self._numbers:
                self._numbers[key] = len(self.result.citations) + 1
                self.result.citations.append(_citation(self._numbers[key], span))
            if self._numbers[key] not in out:
                out.append(self._numbers[key])
        return out

    def _support(self, sentence: str) -> dict[int, Span]:
        """Cited source number → its supporting span, for the sources that support it."""
        cited = [n for n in markers(sentence) if 1 <= n <= len(self.passages)]
        body = strip_markers(sentence)
        if not cited:
            return {}
        if is_latin(body):
            return self._support_latin(read_claim(body), body, cited)
        want = bigrams(body)
        if not want:
            return {}
        best = {n: s for n in cited if (s := self._best_span(want, self.passages[n - 1])) is not None}
        kept = {n: s for n, s in best.items() if s.score >= MIN_PART or len(best) == 1}
        covered = set().union(*(s.covered for s in kept.values())) if kept else set()
        context = set().union(*(bigrams(self._context(s.span.passage)) for s in kept.values())) if kept else set()
        score = (len(covered) + 0.5 * len((want - covered) & context)) / len(want)
        # Numbers may come from the heading or the document's own record as well: 「第24条」
        # is the section 第二十四条, 「国务院令第716号」 the document's number.
        texts = [s.span.text for s in kept.values()]
        headings = [_heading(s.span.passage) for s in kept.values()]
        if score < MIN_SUPPORT or not _numbers_in(body, texts + headings):
            return {}
        # Most words shared is not enough when the place differs: 「深圳建立了……体系」 over
        # 「北京市朝阳区建成了……体系」 is another city's fact.
        where = "\n".join(texts + headings)
        context_text = "\n".join(self._context(s.span.passage) for s in kept.values())
        if not _places_agree([(pl,) for pl in places_in(body)], texts, where, context_text):
            return self._fail("place")
        return {n: s.span for n, s in kept.items()}

    def _support_latin(self, claim: Claim, body: str, cited: list[int]) -> dict[int, Span]:
        """The spans supporting an English sentence, when every test passes (see the module
        docstring): glossary words found, places in the spans or their headings, names and
        codes in the spans as written, numbers agreeing, negation matched, and the cosine
        above its floor."""
        if self.similarity is None or not claim.verifiable:
            return self._fail("unverifiable")
        known = claim.known
        best: dict[int, list[tuple[float, Span, set[int]]]] = {}
        for n in cited:
            ranked = [self._match(claim, span) for span in self._candidates(self.passages[n - 1], pairs=True)]
            # Most of the sentence first; of equal matches, the shorter span (quotes stay short).
            ranked.sort(key=lambda r: (-r[0], r[1].end - r[1].start))
            if ranked and ranked[0][0] > 0:
                best[n] = ranked[:3]
        kept = {n: r for n, r in best.items() if r[0][0] >= MIN_PART or len(best) == 1}
        if not kept:
            return self._fail("glossary")
        spans = {n: r[0][1] for n, r in kept.items()}
        texts = [s.text for s in spans.values()]
        headings = [f"{s.passage.title}\n{s.passage.section}" for s in spans.values()]
        covered = set().union(*(r[0][2] for r in kept.values()))
        context = fold_for_search("\n".join(self._context(s.passage) for s in spans.values()))
        nearby = {i for i, w in enumerate(known) if i not in covered and any(t in context for t in w.terms)}
        if (len(covered) + 0.5 * len(nearby)) / len(known) < MIN_GLOSSARY:
            return self._fail("glossary")
        said = fold_for_search("\n".join(texts))
        where = fold_for_search("\n".join(texts + headings))
        if not _places_agree([w.terms for w in known if w.place], texts, where, context):
            return self._fail("place")
        if not all(_literal_in(w.text, said) for w in claim.words if w.literal and not w.terms):
            return self._fail("name")  # a name, code or address the sources never wrote
        if not all(w.terms[0] in said for w in claim.words if w.literal and w.terms):
            return self._fail("name")  # Chinese quoted in the English must be the sources' own
        stated = set().union(*(_span_values(t) for t in texts + headings))
        if not all(round(v, 6) in stated for v in claim.values):
            return self._fail("number")
        if claim.negated and not _NEGATION_ZH.search(said):
            return self._fail("negation")
        candidates = [s for r in kept.values() for _, s, _ in r]
        # The sentence as written without its markers: "sites [1]." must embed as "sites."
        plain = re.sub(r"\s+(?=[.,;:!?])", "", " ".join(body.split()))
        if max(self.similarity(plain, [s.text for s in candidates])) < MIN_COSINE["en"]:
            return self._fail("similarity")
        return spans

    def _match(self, claim: Claim, span: Span) -> tuple[float, Span, set[int]]:
        """How much of an English claim one span states: the share of its known words,
        numbers and names found there, and which known words (by index) it covers."""
        text = self._fold(span)
        known = claim.known
        covered = {i for i, w in enumerate(known) if any(t in text for t in w.terms)}
        values = _span_values(span.text) if claim.values else set()
        agreed = sum(round(v, 6) in values for v in claim.values)
        names = [w for w in claim.words if w.literal and not w.terms]
        found = sum(_literal_in(w.text, text) for w in names)
        return (len(covered) + agreed + found) / (len(known) + len(claim.values) + len(names)), span, covered

    def _fold(self, span: Span) -> str:
        key = (id(span.passage), span.start, span.end)
        if key not in self._folded:
            self._folded[key] = fold_for_search(span.text)
        return self._folded[key]

    def _best_span(self, want: set[str], passage: Passage) -> Support | None:
        best: Support | None = None
        for span in self._candidates(passage, pairs=True):
            key = (id(passage), span.start, span.end)
            if key not in self._bigrams:
                self._bigrams[key] = bigrams(span.text)
            covered = want & self._bigrams[key]
            score = len(covered) / len(want)
            # A two-sentence window must beat the single sentences clearly: quotes stay short.
            if best is None or score > best.score + (0.05 if span.end - span.start > best.span.end - best.span.start else 0):
                best = Support(span, covered, score)
        return best

    def _context(self, passage: Passage) -> str:
        """Where a detail may come from besides the span: headings and the passage's other
        sentences (planted instructions excluded, as everywhere)."""
        spans = self._candidates(passage, pairs=False)
        return "\n".join([_heading(passage), *(s.text for s in spans)])

    def _candidates(self, passage: Passage, pairs: bool) -> list[Span]:
        """Sentence spans of a passage (and adjacent pairs), planted instructions left out."""
        key = id(passage)
        if key not in self._spans:
            self._spans[key] = [
                Span(passage, s, e)
                for s, e in split_sentences(passage.text, offset=passage.start)
                if not looks_like_instruction(passage.text[s - passage.start : e - passage.start])
            ]
        singles = self._spans[key]
        if not pairs:
            return singles
        joined = [Span(passage, a.start, b.end) for a, b in zip(singles, singles[1:]) if _adjacent(passage, a, b)]
        return singles + joined


def _cites_only(sentence: str) -> bool:
    """A line that gives markers and says nothing else: 「依据资料编号：[1][2]」."""
    body = strip_markers(sentence)
    return bool(markers(sentence)) and not (read_claim(body).says_something if is_latin(body)
                                            else _has_chinese_content(body))


def _places_agree(asked: list[tuple[str, ...]], spans: list[str], where: str, context: str) -> bool:
    """Each place a sentence names (as its Chinese names) is in the spans or their
    headings, or — when the spans name no other place — elsewhere in the passage (a
    passage often names its place once, a sentence or two before the figure)."""
    if all(any(t in where for t in terms) for terms in asked):
        return True
    others = set(places_in("\n".join(spans))) - {t for terms in asked for t in terms}
    return not others and all(any(t in context for t in terms) for terms in asked)


def _with_markers(raw: str, given: str) -> str:
    """A sentence without markers with ``given`` placed before its end punctuation
    (「……站点。」 → 「……站点[1]。」, "… sites." → "… sites [1].")."""
    end = re.search(r"(?:[。！？!?…；;.]+[”’」』）》)\"']*)?\s*$", raw)
    cut = end.start() if end else len(raw)
    return raw[:cut] + (" " if is_latin(raw) else "") + given + raw[cut:]


def _adjacent(passage: Passage, a: Span, b: Span) -> bool:
    """Consecutive sentences of one paragraph (nothing but spaces between them)."""
    between = passage.text[a.end - passage.start : b.start - passage.start]
    return not between.strip() and "\n" not in between


def _numbers_in(body: str, spans: list[str]) -> bool:
    """Every Arabic number of the sentence is in one of the texts, in digits or in Chinese
    numerals (24 = 二十四)."""
    return all(any(_has_number(s, num) or float(num) in _cn_values(s) for s in spans) for num in numbers(body))


# Chinese numerals that are a number, not part of a word (统一, 一体化): with 十/百/千, or
# followed by what they count.
_CN_COUNT = re.compile(
    r"[零〇一二三四五六七八九两]*[十百千][零〇一二三四五六七八九十百千两]*"
    r"|[零〇一二三四五六七八九两]+(?=[条项款章节年月日个家名人次种类倍岁周])"
)


def _cn_values(text: str) -> set[float]:
    return {float(v) for m in _CN_COUNT.finditer(text) if (v := cn_to_int(m.group())) is not None}


def _heading(passage: Passage) -> str:
    """What a reader sees above a quote: title, section, and the document's number and date."""
    meta = passage.meta or {}
    return "\n".join([passage.title, passage.section, str(meta.get("doc_number", "")), str(meta.get("date", ""))])


def _citation(n: int, span: Span) -> Citation:
    p = span.passage
    return Citation(
        n=n, doc_id=p.doc_id, chunk_id=p.chunk_id, title=p.title, section=p.section, quote=span.text,
        start=span.start, end=span.end, issuer=str(p.meta.get("issuer", "")), date=str(p.meta.get("date", "")),
    )


def ground(answer: str, passages: Sequence[Passage], similarity: Similarity | None = None) -> Grounded:
    """Check a whole answer at once (the streaming `Grounder` in one call)."""
    g = Grounder(passages, similarity)
    g.feed(answer)
    g.finish()
    return g.result
