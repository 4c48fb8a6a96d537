"""The nouns that flow through the library: documents, chunks, passages, answers, events."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

LIST_FIELDS: frozenset[str] = frozenset({"cities", "domains", "aliases"})

# How binding a document is, highest first (manifest ``legal_level``).
LEGAL_LEVELS: tuple[str, ...] = ("法律", "行政法规", "地方性法规", "国务院文件", "部门文件", "研究文章")
# Whether a text is the one in force (manifest ``status``). 未核实: nobody checked, so
# nothing is claimed; 现行有效 is only ever set with a source in ``status_note``.
STATUSES: tuple[str, ...] = ("现行有效", "已修订", "已废止", "未核实")
UNCHECKED = "未核实"


@dataclass(frozen=True)
class DocumentMeta:
    """What the manifest says about one document."""

    doc_id: str
    title: str
    kind: str = "policy"  # paper | policy | law | report | web | other
    issuer: str = ""
    date: str = ""  # issued or adopted: ISO date or year, as precise as known
    doc_number: str = ""  # 文号
    source_url: str = ""
    cities: tuple[str, ...] = ()
    domains: tuple[str, ...] = ()
    language: str = "zh-Hans"
    path: str = ""  # source file, relative to the manifest when bundled
    subtitle: str = ""  # the enclosed document's title, for a 印发…的通知
    legal_level: str = ""  # one of LEGAL_LEVELS, '' when unknown
    date_published: str = ""
    date_effective: str = ""
    status: str = UNCHECKED  # one of STATUSES
    status_note: str = ""  # the source of the status
    complete: bool = True  # False: parts of the official text are missing here
    notice: str = ""  # what a reader must know before quoting it (shown on citation cards)
    aliases: tuple[str, ...] = ()  # short titles and common names users type
    where_found: str = ""  # the stored source the text was copied from

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        for key in LIST_FIELDS:
            d[key] = list(getattr(self, key))
        return d


# Document metadata keys (manifest fields), also stored on every chunk.
DOC_FIELDS: tuple[str, ...] = tuple(DocumentMeta.__dataclass_fields__)


@dataclass(frozen=True)
class Document:
    """A cleaned document: canonical text (Simplified script) plus metadata."""

    meta: DocumentMeta
    text: str
    content_hash: str  # hash of the source bytes and cleaning version: drives incremental ingest


@dataclass(frozen=True)
class Chunk:
    """A span of a document's cleaned text; ``text == document.text[start:end]``."""

    chunk_id: str
    doc_id: str
    start: int
    end: int
    text: str
    section: str  # heading path, e.g. "二、主要问题 > （四）数字鸿沟"
    ordinal: int


@dataclass
class Passage:
    """A retrieved chunk with its scores and the document metadata it belongs to."""

    chunk_id: str
    doc_id: str
    title: str
    section: str
    text: str
    score: float
    start: int
    end: int
    meta: dict[str, Any] = field(default_factory=dict)
    dense_score: float | None = None
    lexical_score: float | None = None
    locator: str = ""  # where the passage starts, as a reader cites it (see `Citation.locator`)

    def public(self) -> dict[str, Any]:
        """The JSON shape of the CLI/HTTP contract."""
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "title": self.title,
            "section": self.section,
            "text": self.text,
            "score": round(float(self.score), 4),
            "issuer": self.meta.get("issuer", ""),
            "date": self.meta.get("date", ""),
            "locator": self.locator,
        }


@dataclass
class Citation:
    """A numbered reference: ``quote == document.text[start:end]``."""

    n: int
    doc_id: str
    chunk_id: str
    title: str
    section: str
    quote: str
    start: int
    end: int
    issuer: str = ""
    date: str = ""
    # How a reader cites the spot: 《中华人民共和国数据安全法》第二十一条, 国办发〔2020〕45号 二、（七）16．
    locator: str = ""
    legal_level: str = ""
    status: str = ""
    notice: str = ""  # the document's caveat (incomplete text, amended since …), '' when none

    def public(self) -> dict[str, Any]:
        return asdict(self)


Mode = Literal["extractive", "llm"]


@dataclass
class Answer:
    """The final answer of one turn."""

    answer: str
    refused: bool
    mode: Mode
    citations: list[Citation]
    passages: list[Passage]
    question: str = ""  # the standalone question actually answered (after follow-up handling)
    status: str = "ok"  # "ok" | "llm_fallback: <reason>" | "refused: <check>: <detail>"
    direct: str = ""  # the short direct answer (first line), for evaluation and display
    # Why it was refused: {"check": "focus" | "place" | "year" | "document" | …, "term": what
    # failed, "message": the reason in the user's words}; None for an answer.
    reason: dict[str, str] | None = None

    def public(self) -> dict[str, Any]:
        return {
            "answer": self.answer,
            "refused": self.refused,
            "mode": self.mode,
            "status": self.status,
            "question": self.question,
            "direct": self.direct,
            "reason": self.reason,
            "citations": [c.public() for c in self.citations],
            "passages": [p.public() for p in self.passages],
        }


# ---- pipeline events -------------------------------------------------------------


@dataclass
class Event:
    """Base of everything the pipeline yields."""

    type: str = field(init=False, default="event")

    def public(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class StatusEvent(Event):
    """A named step started, with what a front end needs to say it in its own language
    (`rag.answer.messages.status_line`): ``condense`` carries the rewritten ``question``,
    ``compose`` the ``mode`` and ``intent``, ``fallback`` the ``reason``."""

    step: str = ""
    data: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.type = "status"


@dataclass
class PassagesEvent(Event):
    """Retrieval finished: the passages the answer will draw on."""

    passages: list[Passage] = field(default_factory=list)
    question: str = ""

    def __post_init__(self) -> None:
        self.type = "passages"

    def public(self) -> dict[str, Any]:
        return {"type": self.type, "question": self.question, "passages": [p.public() for p in self.passages]}


@dataclass
class TokenEvent(Event):
    """A piece of answer text, in order; concatenated they give the answer."""

    text: str = ""

    def __post_init__(self) -> None:
        self.type = "token"


@dataclass
class AnswerEvent(Event):
    """The final answer with verified citations; always the last event."""

    answer: Answer | None = None

    def __post_init__(self) -> None:
        self.type = "answer"

    def public(self) -> dict[str, Any]:
        return {"type": self.type, **(self.answer.public() if self.answer else {})}
