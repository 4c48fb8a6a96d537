"""The name an uploaded file is shown under: its title, its document id's stem, messages.

A browser sends whatever the user's file system (or a crafted request) calls the file:
a Windows path (``..\\..\\..\\PWNED3.txt``), a NUL byte, a right-to-left override that
makes ``\\u202etxt.exe.md`` display as ``md.exe.txt``, zero-width characters. Nothing of
that is written outside ``uploads/`` (stored files are named by document id), but the
name is what officials read in the corpus list and in citations, so it is made plain
here, once, for every place that names the file.
"""

from __future__ import annotations

import re
import unicodedata

UNNAMED = "未命名文件"
MAX_NAME_CHARS = 120

# Both separators whatever the server's OS: a name from Windows arrives with backslashes.
_DIRECTORIES = re.compile(r"^.*[\\/]", re.DOTALL)
# Control (C0, DEL, C1), format (bidi embeddings, overrides and isolates, zero-width
# characters, soft hyphen, BOM), lone surrogates, line and paragraph separators.
_DROPPED = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_WHITESPACE = re.compile(r"\s+")
# A file type is a short ASCII ending; the rest of the name is its stem.
_SUFFIX = re.compile(r"(\.[A-Za-z0-9]{1,10})$")


def safe_filename(filename: str, max_chars: int = MAX_NAME_CHARS) -> str:
    """``filename`` as a plain display name: no directories, no control or invisible
    characters, NFC, no leading or trailing dots and spaces, at most ``max_chars``
    characters with the file type kept; 未命名文件 (plus the type) when nothing is left.

    >>> safe_filename("..\\\\..\\\\..\\\\PWNED3.txt")
    'PWNED3.txt'
    >>> safe_filename("\\u202etxt.exe.md")
    'txt.exe.md'
    """
    name = _DIRECTORIES.sub("", filename)
    # Tabs and newlines are gaps between words; every other control character goes.
    name = "".join(" " if ch.isspace() else ch for ch in name if ch.isspace() or unicodedata.category(ch) not in _DROPPED)
    name = unicodedata.normalize("NFC", _WHITESPACE.sub(" ", name))
    # Trailing dots and spaces go before the type is read (Windows drops them too: «报告.docx.»).
    name = name.rstrip(" .")
    match = _SUFFIX.search(name)
    suffix = match.group(1) if match else ""
    stem = name[: len(name) - len(suffix)].strip(" .")
    stem = stem[: max(max_chars - len(suffix), 1)].rstrip(" .")
    return (stem or UNNAMED) + suffix


__all__ = ["safe_filename", "UNNAMED", "MAX_NAME_CHARS"]
