"""Simplified/Traditional script: folding for search, conversion for display.

OpenCC converters are built lazily (they load dictionaries) and shared.
"""

from __future__ import annotations

from functools import lru_cache

import opencc


@lru_cache(maxsize=4)
def _converter(config: str) -> opencc.OpenCC:
    return opencc.OpenCC(config)


@lru_cache(maxsize=4)
def _changing_chars(config: str) -> frozenset[str]:
    """Every character some entry of ``config``'s dictionaries would rewrite.

    The OpenCC package here is pure Python and walks every segment through each
    dictionary: about 1.4 ms per passage, most of a first start's indexing time, spent
    mostly on text that is already in the target script. A text with none of these
    characters is left unchanged by every entry (an entry changes its key only where a
    key character differs from the value's), so it can be returned as it is."""
    found: set[str] = set()

    def walk(chain: object) -> None:
        if isinstance(chain, list):
            for item in chain:
                walk(item)
            return
        _max, _min, table = chain  # type: ignore[misc]
        for key, value in table.items():
            for candidate in value.split(" "):
                if candidate == key:
                    continue
                if len(candidate) == len(key):
                    found.update(k for k, v in zip(key, candidate) if k != v)
                else:
                    found.update(key)

    walk(_converter(config)._dict_chain_data)
    return frozenset(found)


def _convert(config: str, text: str) -> str:
    if not text:
        return text
    changing = _changing_chars(config)
    if not any(ch in changing for ch in text):
        return text
    return _converter(config).convert(text)


def to_simplified(text: str) -> str:
    """Traditional → Simplified (phrase-aware OpenCC ``t2s``); Simplified text is unchanged."""
    return fix_simplified(_convert("t2s", text)) if text else text


def to_mainland(text: str) -> str:
    """A Traditional question in the corpus's words: Simplified script *and* mainland
    vocabulary (OpenCC ``tw2sp``: 網路資訊→网络信息, 軟體→软件, 演算法→算法, 數位→数字), so
    a reader in Taipei or Hong Kong finds what the documents call it. Questions only: the
    documents are not rewritten, and plain ``t2s`` keeps offsets for them."""
    if not text:
        return text
    # Words the phrase table maps to another sense: 程序 (a procedure, in Taipei as in
    # Beijing) is not 进程 (a running program). They go through untouched.
    kept = text
    for n, word in enumerate(_KEEP_WORDS):
        kept = kept.replace(word, chr(0xE000 + n))
    out = fix_simplified(_convert("tw2sp", kept))
    for n, word in enumerate(_KEEP_WORDS):
        out = out.replace(chr(0xE000 + n), word)
    return out


_KEEP_WORDS: tuple[str, ...] = ("程序",)


def to_traditional(text: str) -> str:
    """Simplified → Traditional, for answering a Traditional-script question.

    OpenCC ``s2tw``: characters in the forms readers expect (為, 著, 內 — plain ``s2t``
    gives the dictionary forms 爲, 着, 内), words left as written (软件 stays 軟件: the
    answer quotes the document, it does not localise its vocabulary)."""
    return _convert("s2tw", text)


def is_traditional(text: str) -> bool:
    """True when the text is written in Traditional script.

    Counts characters that change under t2s against those that change under s2t;
    characters shared by both scripts say nothing, so text with neither is Simplified.
    """
    if not text:
        return False
    simp = to_simplified(text)
    trad = to_traditional(text)
    trad_only = sum(a != b for a, b in zip(text, simp))
    simp_only = sum(a != b for a, b in zip(text, trad))
    return trad_only > simp_only


# Phrases the character-level t2s table gets wrong in Simplified prose (著 → 着 where
# it is the aspect particle or 着力). Applied after conversion.
_T2S_FIXES: tuple[tuple[str, str], ...] = (
    ("随著", "随着"),
    ("著力", "着力"),
    ("意味著", "意味着"),
    ("接著", "接着"),
    ("围绕著", "围绕着"),
    ("有著", "有着"),
)


def fix_simplified(text: str) -> str:
    """Correct the few phrases OpenCC's t2s leaves in their Traditional form."""
    for wrong, right in _T2S_FIXES:
        text = text.replace(wrong, right)
    return text
