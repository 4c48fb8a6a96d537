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

English answers over Chinese sources share no bigrams with them; for those sentences an
optional cross-lingual ``similarity`` function (the embedding model) stands in for the
bigram overlap, with the same number check.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rag.answer.prompts import NO_ANSWER
from rag.text.normalize import fold_for_search, has_cjk
from rag.text.sentences import split_sentences
from rag.text.synonyms import expand
from rag.types import Citation, Passage

# Share of an answer sentence's bigrams its sources must cover (bigrams found only in the
# passage's heading or elsewhere in the passage count half).
MIN_SUPPORT = 0.5
# Share one cited span must cover on its own to be kept as a citation of a sentence
# that cites several sources.
MIN_PART = 0.25
# Cosine (answer sentence vs. source sentence) for sentences checked by embeddings. The
# multilingual e5 cosines are compressed (unrelated English/Chinese pairs reach ~0.7), so
# the glossary check below does most of the work for English sentences.
MIN_SIMILARITY = 0.78
# Share of the glossary's Chinese terms for an English sentence that a span must contain.
MIN_GLOSSARY = 0.5

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


def is_no_answer(sentence: str) -> bool:
    """Whether the sentence is the fixed "the sources do not answer" phrase (any language)."""
    got = _chars(sentence)
    return any(_chars(p) and _chars(p) in got for p in NO_ANSWER.values())


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


@dataclass
class Grounded:
    """A checked answer: the kept sentences with renumbered markers and their citations."""

    pieces: list[str] = field(default_factory=list)  # released text, in order; joined = the answer
    citations: list[Citation] = field(default_factory=list)
    kept: list[str] = field(default_factory=list)  # kept sentences, rewritten
    dropped: list[str] = field(default_factory=list)  # dropped sentences, as generated
    no_answer: bool = False  # the model said its sources do not answer

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
            piece = self._check(raw)
            if piece:
                out.append(piece)
            if not self._pending:
                break
        self.result.pieces.extend(out)
        return out

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
        if not _CONTENT.search(strip_markers(sentence)):
            return ""  # blank lines, rules, bare bullets: nothing to check or drop
        if is_no_answer(sentence):
            self.result.no_answer = True
            return ""
        mapping = self._support(sentence)
        if not mapping:
            self.result.dropped.append(sentence)
            return ""
        text = MARKER.sub(lambda m: "".join(f"[{k}]" for k in self._renumber(m, mapping)), sentence)
        self.result.kept.append(text)
        if len(self.result.kept) == 1:
            return text
        # Keep the model's layout between kept sentences: a line break, a space, or nothing.
        lead = raw[: len(raw) - len(raw.lstrip())]
        return ("\n" if "\n" in lead else " " if lead else "") + text

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
        cjk = sum(1 for ch in body if has_cjk(ch))
        letters = sum(1 for ch in body if ch.isalpha())
        if cjk < 0.3 * max(letters, 1):
            return self._support_by_similarity(body, cited)
        want = bigrams(body)
        if not want:
            return {}
        best = {n: s for n in cited if (s := self._best_span(want, self.passages[n - 1])) is not None}
        kept = {n: s for n, s in best.items() if s.score >= MIN_PART or len(best) == 1}
        covered = set().union(*(s.covered for s in kept.values())) if kept else set()
        context = set().union(*(bigrams(self._context(s.span.passage)) for s in kept.values())) if kept else set()
        score = (len(covered) + 0.5 * len((want - covered) & context)) / len(want)
        if score < MIN_SUPPORT or not _numbers_in(body, [s.span.text for s in kept.values()]):
            return {}
        return {n: s.span for n, s in kept.items()}

    def _support_by_similarity(self, body: str, cited: list[int]) -> dict[int, Span]:
        if self.similarity is None:
            return {}
        out: dict[int, Span] = {}
        terms = list(dict.fromkeys(expand(body)))
        for n in cited:
            spans = self._candidates(self.passages[n - 1], pairs=False)
            if terms:  # the sentence's known terms (glossary: English → Chinese) must be there
                spans = [s for s in spans if _share(terms, s.text) >= MIN_GLOSSARY]
            if not spans:
                continue
            sims = self.similarity(body, [s.text for s in spans])
            i = max(range(len(spans)), key=lambda j: sims[j])
            if sims[i] >= MIN_SIMILARITY:
                out[n] = spans[i]
        if not out or not _numbers_in(body, [s.text for s in out.values()]):
            return {}
        return out

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
        return "\n".join([passage.title, passage.section, *(s.text for s in spans)])

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


def _adjacent(passage: Passage, a: Span, b: Span) -> bool:
    """Consecutive sentences of one paragraph (nothing but spaces between them)."""
    between = passage.text[a.end - passage.start : b.start - passage.start]
    return not between.strip() and "\n" not in between


def _share(terms: list[str], text: str) -> float:
    folded = fold_for_search(text)
    return sum(t in folded for t in terms) / len(terms)


def _numbers_in(body: str, spans: list[str]) -> bool:
    return all(any(_has_number(s, num) for s in spans) for num in numbers(body))


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
