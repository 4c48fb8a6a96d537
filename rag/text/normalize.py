"""Character-level normalisation shared by documents and questions.

Two different jobs live here:

* ``clean_punctuation`` / ``fold_width`` make the *canonical* document text: what
  users see and what citation offsets point into. They only touch what is wrong in
  Chinese prose (half-width ``,`` between Chinese characters, full-width ``ＡＢＣ１２３``).
* ``fold_for_search`` is the *matching* form: NFKC, Simplified script, lower case. It is
  applied to both documents and questions before lexical matching, never shown to users.
"""

from __future__ import annotations

import re
import unicodedata

from rag.text.script import to_simplified

CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_CJK_RE = re.compile(f"[{CJK}]")
# Chinese punctuation that may sit on either side of an ASCII mark we widen.
_CJK_OR_PUNCT = f"[{CJK}\u3000-\u303f\uff00-\uffef“”‘’《》]"

_HALF_TO_FULL = {",": "，", ";": "；", ":": "：", "?": "？", "!": "！"}


# Lone UTF-16 surrogates (JSON "\\ud800" decodes to one), noncharacters and control
# characters other than tab and line breaks: no reader typed them, and a tokenizer or an
# embedding model given them fails with an error the user cannot act on.
_INVALID = re.compile("[\ud800-\udfff\ufffe\uffff\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def repair_input(text: str) -> str:
    """User-typed text made safe for every model: NFC, invalid code points removed."""
    return unicodedata.normalize("NFC", _INVALID.sub("", text)) if text else text


def has_cjk(text: str) -> bool:
    """Whether the text contains any CJK ideograph."""
    return bool(_CJK_RE.search(text))


def fold_width(text: str) -> str:
    """Full-width ASCII letters, digits and space → half-width; Chinese punctuation stays."""
    out = []
    for ch in text:
        code = ord(ch)
        if ch == "\u3000":
            out.append(" ")
        elif 0xFF10 <= code <= 0xFF19 or 0xFF21 <= code <= 0xFF3A or 0xFF41 <= code <= 0xFF5A:
            out.append(chr(code - 0xFEE0))
        else:
            out.append(ch)
    return "".join(out)


_ASCII_PUNCT_NEAR_CJK = re.compile(rf"(?<={_CJK_OR_PUNCT})([,;:?!])|([,;:?!])(?={_CJK_OR_PUNCT})")
# "(一)" "(PPP)" "(中心)" inside Chinese prose: parentheses touching CJK on the inside or outside.
_PARENS_NEAR_CJK = re.compile(rf"\(([^()\n]{{1,40}})\)")


def clean_punctuation(text: str) -> str:
    """Half-width punctuation inside Chinese prose → the full-width forms Chinese uses.

    ``1,000`` and ``a, b`` stay as they are: only marks touching Chinese text change.
    """

    def widen(m: re.Match[str]) -> str:
        return _HALF_TO_FULL[m.group(1) or m.group(2)]

    text = _ASCII_PUNCT_NEAR_CJK.sub(widen, text)

    def parens(m: re.Match[str]) -> str:
        inner = m.group(1)
        before = text_at(m.string, m.start() - 1)
        after = text_at(m.string, m.end())
        if has_cjk(inner) or _CJK_RE.match(before) or _CJK_RE.match(after) or (m.start() == 0 or before == "\n"):
            return f"（{inner}）"
        return m.group(0)

    return _PARENS_NEAR_CJK.sub(parens, text)


def text_at(s: str, i: int) -> str:
    """The character at ``i`` or '' when out of range."""
    return s[i] if 0 <= i < len(s) else ""


def fold_for_search(text: str) -> str:
    """Matching form: NFKC (widths, compatibility forms), Simplified script, lower case."""
    return to_simplified(unicodedata.normalize("NFKC", text)).lower()
