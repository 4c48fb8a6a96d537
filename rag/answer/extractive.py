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
from dataclasses import dataclass

import numpy as np

from rag.answer.question import DATE, NUMBER, QType, question_type
from rag.index.index import Index
from rag.text.normalize import fold_for_search
from rag.text.sentences import split_sentences
from rag.text.synonyms import expand
from rag.text.tokenize import tokenize_query
from rag.types import Citation, Passage

_PLACE = re.compile(r"[\u4e00-\u9fff]{1,6}(?:省|市|区|县|镇|街道)|北京|上海|深圳|杭州|常德|株洲|常州|邯郸|徐汇|杨浦|朝阳")
_ORG = re.compile(r"[\u4e00-\u9fff]{2,20}(?:部|局|委|委员会|中心|办公室|政府|厅|院|平台|企业|集团|公司)")
_CLAUSE = re.compile(r"[^，,；;。！？!?]+[，,；;。！？!?]?")


@dataclass
class Sentence:
    """A candidate sentence: its span in the document and how well it answers."""

    passage: Passage
    start: int
    end: int
    text: str
    coverage: float = 0.0
    dense: float = 0.0
    typed: float = 0.0
    prior: float = 0.0
    score: float = 0.0


@dataclass
class Draft:
    """An extractive answer before script conversion: text pieces with their citations."""

    direct: str
    sentences: list[Sentence]
    citations: list[Citation]
    text: str
    support: float  # best sentence score in [0, 1]
    coverage: float  # idf-weighted share of the question's terms found in the best sentence


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
        terms = list(dict.fromkeys(tokenize_query(question)))
        syn = [t for t in dict.fromkeys(expand(question)) if t not in terms]
        lex = self.index.lexical
        n = max(len(lex.ids), 1)
        weights: dict[str, float] = {}
        for t in terms + syn:
            df = int(np.count_nonzero(lex.scores([t])))
            idf = math.log(1 + (n - df + 0.5) / (df + 0.5))
            weights[t] = idf * (0.5 if t in syn else 1.0)
        return weights

    # ---- scoring -------------------------------------------------------------------

    def candidates(self, passages: list[Passage], limit: int = 4) -> list[Sentence]:
        seen: set[tuple[str, int]] = set()
        out = []
        for rank, p in enumerate(passages[:limit]):
            for s, e in split_sentences(p.text, offset=p.start):
                if (p.doc_id, s) in seen:
                    continue
                seen.add((p.doc_id, s))
                out.append(Sentence(p, s, e, p.text[s - p.start : e - p.start], prior=1.0 / (1 + 0.5 * rank)))
        return out

    def score(self, question: str, sentences: list[Sentence], weights: dict[str, float]) -> None:
        qtype = question_type(question)
        main = {t: w for t, w in weights.items()}
        total = sum(w for t, w in main.items()) or 1.0
        for s in sentences:
            folded = fold_for_search(s.text)
            head = fold_for_search(s.passage.section.split(" > ")[-1]) if s.passage.section else ""
            got = 0.0
            for t, w in main.items():
                if t in folded:
                    got += w
                elif head and t in head:
                    got += 0.5 * w
            s.coverage = min(got / total, 1.0)
            s.typed = _type_match(qtype, s.text)
        if self.use_dense and sentences:
            q = np.asarray(self.index.embeddings.embed_query(fold_for_search(question)), dtype=np.float32)
            m = np.asarray(self.index.embeddings.embed_documents([s.text for s in sentences]), dtype=np.float32)
            sims = m @ q
            lo, hi = float(sims.min()), float(sims.max())
            for s, v in zip(sentences, sims):
                s.dense = (float(v) - lo) / (hi - lo) if hi > lo else 0.5
        for s in sentences:
            s.score = 0.5 * s.coverage + 0.25 * s.dense + 0.1 * s.typed + 0.15 * s.prior

    # ---- composing -----------------------------------------------------------------

    def answer(self, question: str, passages: list[Passage]) -> Draft | None:
        """The best-supported answer, or None when no passage has a usable sentence."""
        sentences = self.candidates(passages)
        if not sentences:
            return None
        weights = self.term_weights(question)
        self.score(question, sentences, weights)
        ranked = sorted(sentences, key=lambda s: -s.score)
        best = ranked[0]
        qtype = question_type(question)
        chosen = [best]
        for s in ranked[1:]:
            if len(chosen) >= self.max_sentences:
                break
            if s.score >= 0.75 * best.score and s.coverage > 0:
                chosen.append(s)
        # Read in document order within a passage, best passage first.
        chosen.sort(key=lambda s: (passages.index(s.passage) if s.passage in passages else 0, s.start))

        citations: list[Citation] = []
        numbered: dict[tuple[str, int, int], int] = {}
        lines = []
        for s in chosen:
            key = (s.passage.doc_id, s.start, s.end)
            if key not in numbered:
                numbered[key] = len(citations) + 1
                citations.append(_citation(numbered[key], s))
            lines.append(_with_marker(s.text, numbered[key]))
        direct = direct_answer(qtype, best.text, weights)
        n_best = numbered[(best.passage.doc_id, best.start, best.end)]
        text = "\n".join(lines)
        if direct:
            text = f"{direct}[{n_best}]。\n{text}"
        return Draft(direct or lines[0], chosen, citations, text, best.score, best.coverage)


def _type_match(qtype: QType, text: str) -> float:
    if qtype is QType.COUNT:
        return 1.0 if NUMBER.search(text) else 0.0
    if qtype is QType.WHEN:
        return 1.0 if DATE.search(text) else 0.0
    if qtype is QType.WHERE:
        return 1.0 if _PLACE.search(text) else 0.0
    if qtype is QType.WHO:
        return 1.0 if _ORG.search(text) else 0.0
    if qtype is QType.LIST:
        return 1.0 if text.count("、") >= 2 else 0.0
    return 0.0


def direct_answer(qtype: QType, sentence: str, weights: dict[str, float]) -> str:
    """The span that answers a factoid question: the number/date nearest the question's terms."""
    pattern = {QType.COUNT: NUMBER, QType.WHEN: DATE}.get(qtype)
    if pattern is None:
        return ""
    matches = [m for m in pattern.finditer(sentence) if any(ch.isdigit() for ch in m.group()) or qtype is QType.COUNT]
    matches = [m for m in matches if m.group().strip()]
    if not matches:
        return ""
    folded = fold_for_search(sentence)
    anchors = [i for t in weights for i in _positions(folded, t)]
    if not anchors:
        return matches[0].group().strip()

    def distance(m: re.Match[str]) -> float:
        return min(abs(m.start() - a) for a in anchors)

    return min(matches, key=distance).group().strip()


def _positions(text: str, term: str) -> list[int]:
    out, i = [], text.find(term)
    while i >= 0:
        out.append(i)
        i = text.find(term, i + 1)
    return out


def _with_marker(sentence: str, n: int) -> str:
    """Put [n] before the closing punctuation, as Chinese citation style does."""
    m = re.search(r"[。！？；!?;…]+[”’」』）》)]*$", sentence)
    if m and not re.search(r"[”’」』）》)]", m.group()):
        return f"{sentence[: m.start()]}[{n}]{m.group()}"
    return f"{sentence}[{n}]"


def _citation(n: int, s: Sentence) -> Citation:
    p = s.passage
    return Citation(
        n=n, doc_id=p.doc_id, chunk_id=p.chunk_id, title=p.title, section=p.section, quote=s.text,
        start=s.start, end=s.end, issuer=str(p.meta.get("issuer", "")), date=str(p.meta.get("date", "")),
    )
