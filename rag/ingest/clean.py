"""From raw extracted text to the canonical document text.

Every document — bundled or uploaded — goes through `clean_text`; the canonical text
is what users read and what citation offsets point into, so it is computed once, here,
before chunking. Steps, in order (order matters: repairs match the raw bytes' reading,
pinyin annotations must go before script conversion touches the neighbouring text):

1. ``repair``: reviewed fixes of the received file: spans garbled by a wrong encoding
   round trip, trailing text that is not the document (see ``corpus/repairs/``).
2. ``control``: BOMs, NULs and other control characters out; line ends to ``\\n``.
3. ``pinyin``: ``數(shù)`` → ``數`` (annotations after a character, with tone marks).
4. ``script``: Traditional → Simplified, the canonical script.
5. ``width``: full-width letters/digits → half-width; ASCII punctuation inside Chinese
   prose → full-width Chinese punctuation.
6. ``spaces``: runs of blanks collapsed, blank lines squeezed.
"""

from __future__ import annotations

import re
import tomllib
import unicodedata
from dataclasses import dataclass
from pathlib import Path

from rag.text.normalize import CJK, clean_punctuation, fold_width
from rag.text.script import to_simplified

# Bump when cleaning changes: the version is part of each document's content hash,
# so the next ingest re-processes every document.
CLEANING_VERSION = "3"

UNCERTAIN_OPEN, UNCERTAIN_CLOSE = "〔存疑：", "〕"

_TONED = "āáǎàēéěèīíǐìōóǒòūúǔùǖǘǚǜńňǹḿ"
_PINYIN = re.compile(
    rf"(?<=[{CJK}])[(（](?=[a-zü]*[{_TONED}])[a-zü{_TONED}]{{1,7}}[)）]"
)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufeff\u200b-\u200d]")
_BLANKS = re.compile(r"[ \t\u00a0]+")
_MANY_NEWLINES = re.compile(r"\n{3,}")
# Signs of text garbled by a wrong encoding round trip: '?' or U+FFFD between CJK.
_GARBLED = re.compile(rf"[{CJK}][?\ufffd]+[{CJK}!]|[?\ufffd][{CJK}]{{2}}|\ufffd")


@dataclass(frozen=True)
class Repair:
    """One reviewed replacement of a garbled span."""

    garbled: str
    repaired: str
    confidence: str  # "high" | "low"
    note: str = ""


@dataclass(frozen=True)
class SourceFixes:
    """Reviewed fixes for one received source file."""

    repairs: tuple[Repair, ...] = ()
    truncate_at: str = ""  # text from this marker on is not part of the document (e.g. an advert)


def load_fixes(path: Path) -> SourceFixes:
    """Read a repairs TOML file (``truncate_at`` and ``[[repair]]`` tables)."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    repairs = tuple(
        Repair(r["garbled"], r["repaired"], r.get("confidence", "high"), r.get("note", ""))
        for r in data.get("repair", [])
    )
    return SourceFixes(repairs, data.get("truncate_at", ""))


def apply_fixes(text: str, fixes: SourceFixes) -> str:
    """Cut the trailing non-document text, then replace each garbled span.

    A fix that no longer matches the source is an error, not a silent no-op: it means
    the source changed and the fixes need another review.
    """
    if fixes.truncate_at:
        cut = text.find(fixes.truncate_at)
        if cut < 0:
            raise ValueError(f"truncate_at marker not found in the source: {fixes.truncate_at!r}")
        text = text[:cut]
    for r in fixes.repairs:
        if r.garbled not in text:
            raise ValueError(f"repair does not match the source any more: {r.garbled!r}")
        text = text.replace(r.garbled, r.repaired)
    return text


def strip_pinyin(text: str) -> str:
    """Drop pinyin annotations such as ``(shù)`` that follow a Chinese character."""
    return _PINYIN.sub("", text)


def clean_text(raw: str, fixes: SourceFixes | None = None) -> str:
    """Canonical text of a document (see the module docstring for the steps)."""
    text = apply_fixes(raw, fixes) if fixes else raw
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    text = _CONTROL.sub("", text)
    text = strip_pinyin(text)
    text = to_simplified(text)
    text = clean_punctuation(fold_width(text))
    text = _BLANKS.sub(" ", text)
    text = "\n".join(line.strip() for line in text.split("\n"))
    return _MANY_NEWLINES.sub("\n\n", text).strip() + "\n"


def find_garbled(text: str) -> list[tuple[int, str]]:
    """Places that look garbled (offset, excerpt), for warnings and tests."""
    return [(m.start(), text[max(0, m.start() - 8) : m.end() + 8]) for m in _GARBLED.finditer(text)]
