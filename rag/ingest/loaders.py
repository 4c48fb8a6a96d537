"""Turn an uploaded or on-disk file into raw text: one loader per format, picked by suffix.

Every loader returns a :class:`LoadedText` whose ``text`` uses ``'\\n'`` line ends and marks
headings as Markdown lines (``# ``, ``## `` ...) where the format has headings, so the chunker
can build a heading tree without knowing where the text came from.

Anything a user can fix (wrong type, encrypted, damaged, scanned, unknown encoding) is raised as
:class:`~rag.errors.LoadError` with a one-line reason that says what to do.

Every loader enforces the limits of ``settings.ingest`` (paragraphs, characters, pages, unpacked
size, time) *while* it reads, so a hostile file is refused at the first limit it passes, before
its content is in memory; the reason names the setting that raises the limit.
"""

from __future__ import annotations

import copy
import io
import os
import posixpath
import re
import time
import zipfile
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePath
from typing import NoReturn

import charset_normalizer
import docx
import lxml.html
import pypdf
import trafilatura
from docx.document import Document as WordDocument
from docx.oxml.parser import element_class_lookup
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

from rag.config import IngestSettings, get_settings
from rag.errors import LoadError

__all__ = [
    "SUPPORTED_SUFFIXES",
    "LoadedText",
    "decode_text",
    "load_bytes",
    "load_file",
]


@dataclass(frozen=True)
class LoadedText:
    """The raw text of one document, before cleaning and chunking."""

    text: str
    """The document's text: ``'\\n'`` line ends, headings as Markdown lines where marked."""
    title: str | None
    """A title the file states (HTML ``<title>``/``<h1>``, DOCX title, Markdown ``# ``)."""
    source_format: str
    """One of ``"txt"``, ``"md"``, ``"html"``, ``"pdf"``, ``"docx"``."""


# --------------------------------------------------------------------------------------------
# Limits
# --------------------------------------------------------------------------------------------

# Read unit of streamed parts: small enough that the deadline is looked at often, large enough
# that the per-chunk cost is noise.
_CHUNK_BYTES = 64 * 1024
# lxml keeps 120-160 bytes per element, so this many in one tree is already a few hundred MB.
# It bounds what no user-facing limit does: one Word table (or a .docx's other parts together,
# or one HTML page) made of millions of empty elements. A real paragraph has tens of elements,
# a 5,000-row table under a million. In .docx parts it is applied to the count of "<", which
# no element lacks, as counting bytes runs at C speed and counting parsed elements does not.
_MAX_ELEMENTS = 2_000_000
_MB = 1024 * 1024
_RAISE = "split the document or raise the limit"


class _Budget:
    """What one file may still use, counted while it is read: paragraphs, characters, time.

    python-docx, pypdf, lxml and trafilatura run in the caller's thread (the admin API reads
    uploads in a worker thread), where nothing can stop them from outside; so the loaders
    look at the deadline between chunks, blocks and pages, and no single step they take
    between two looks can grow with the file beyond the other limits.
    """

    def __init__(self, name: str, limits: IngestSettings) -> None:
        self.name = name
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.paragraphs = 0
        self.chars = 0
        self.unpacked = 0

    def refuse(self, reason: str) -> NoReturn:
        raise LoadError(self.name, reason)

    def add_paragraphs(self, n: int = 1) -> None:
        self.paragraphs += n
        if self.paragraphs > self.limits.max_paragraphs:
            self.refuse(
                f"more than the {self.limits.max_paragraphs:,}-paragraph limit "
                f"(POLICY_QA_INGEST_MAX_PARAGRAPHS); {_RAISE}"
            )

    def add_chars(self, n: int) -> None:
        self.chars += n
        if self.chars > self.limits.max_chars:
            self.refuse_chars()

    def refuse_chars(self) -> NoReturn:
        self.refuse(f"more than the {self.limits.max_chars:,}-character limit (POLICY_QA_INGEST_MAX_CHARS); {_RAISE}")

    def check_pages(self, pages: int) -> None:
        if pages > self.limits.max_pages:
            self.refuse(
                f"{pages:,} pages, more than the {self.limits.max_pages:,}-page limit "
                "(POLICY_QA_INGEST_MAX_PAGES); split the PDF or raise the limit"
            )

    def add_unpacked(self, n: int) -> None:
        self.unpacked += n
        if self.unpacked > self.limits.max_unpacked_mb * _MB:
            self.refuse_unpacked()

    def refuse_unpacked(self) -> NoReturn:
        self.refuse(
            f"unpacks to more than the {self.limits.max_unpacked_mb:,} MB limit (POLICY_QA_INGEST_MAX_UNPACKED_MB); "
            "a zip bomb, or re-save it in Word"
        )

    def check_time(self) -> None:
        if time.monotonic() > self.deadline:
            self.refuse(
                f"not read within the {self.limits.max_seconds:g}-second limit (POLICY_QA_INGEST_MAX_SECONDS); {_RAISE}"
            )


# --------------------------------------------------------------------------------------------
# Text decoding
# --------------------------------------------------------------------------------------------

_UNKNOWN_ENCODING = "cannot tell the text encoding; save the file as UTF-8 and upload it again"
_NOT_TEXT = "this is not a text file (binary content); upload the original PDF, Word or text file"

# Byte-order marks, longest first: the UTF-32 LE mark starts with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (b"\xef\xbb\xbf", "utf-8"),
    (b"\xff\xfe\x00\x00", "utf-32-le"),
    (b"\x00\x00\xfe\xff", "utf-32-be"),
    (b"\xff\xfe", "utf-16-le"),
    (b"\xfe\xff", "utf-16-be"),
)

# Leading bytes of common binary formats that people rename to .txt or upload by mistake.
_BINARY_SIGNATURES: tuple[bytes, ...] = (
    b"%PDF-",
    b"PK\x03\x04",  # zip: docx, xlsx, pptx, odt ...
    b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",  # OLE: .doc, .xls, encrypted Office files
    b"\x7fELF",
    b"\x89PNG",
    b"\xff\xd8\xff",  # JPEG
    b"GIF8",
    b"\x1f\x8b",  # gzip
    b"7z\xbc\xaf\x27\x1c",
    b"Rar!",
)

_SNIFF_BYTES = 4096
# charset-normalizer keeps guesses up to 0.2 "chaos" (share of odd characters); a wrong guess
# silently indexes mojibake, so demand more than it does and ask the user for UTF-8 instead.
_MAX_CHAOS = 0.1


def decode_text(data: bytes, *, name: str = "<bytes>") -> str:
    """Decode bytes of unknown encoding to text with ``'\\n'`` line ends.

    Tried in order, each strictly (no replacement characters): a byte-order mark; UTF-16 without
    a mark, recognised by NUL bytes on every other position; UTF-8; GB18030 (a superset of
    GBK/GB2312) or Big5, whichever reads as more common characters; charset-normalizer.

    Raises:
        LoadError: the data is binary, or no encoding decodes it with confidence.
    """
    text = _decode(data, name)
    # A file decoded under the wrong guess is full of control characters; refuse rather than
    # index garbage.
    if not _looks_like_text(text):
        raise LoadError(name, _NOT_TEXT)
    return _normalize_newlines(text)


def _decode(data: bytes, name: str) -> str:
    for bom, encoding in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom) :].decode(encoding)
            except UnicodeDecodeError:
                break  # a damaged file with a mark; let the checks below name the problem

    utf16 = _utf16_by_nul_pattern(data)
    if utf16 is not None:
        try:
            return data.decode(utf16)
        except UnicodeDecodeError:
            pass

    if _is_binary(data):
        raise LoadError(name, _NOT_TEXT)

    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass

    chinese = _decode_chinese_legacy(data)
    if chinese is not None:
        return chinese

    # Last resort for other legacy encodings (Shift-JIS, cp1252 ...).
    best = charset_normalizer.from_bytes(data).best()
    if best is not None and best.chaos <= _MAX_CHAOS:
        return str(best)
    raise LoadError(name, _UNKNOWN_ENCODING)


def _utf16_by_nul_pattern(data: bytes) -> str | None:
    """Guess UTF-16 without a BOM: ASCII characters (digits, newlines) put NULs on one parity.

    Text that is all CJK has no NUL bytes and is not recognised here; such files are rare
    without a BOM (Windows Notepad always writes one).
    """
    sample = data[:_SNIFF_BYTES]
    if len(data) % 2 or b"\x00" not in sample:
        return None
    even = sum(1 for i in range(0, len(sample), 2) if sample[i] == 0)
    odd = sum(1 for i in range(1, len(sample), 2) if sample[i] == 0)
    # The high byte of ASCII characters is zero: at odd offsets in LE, even offsets in BE.
    # Binary files have NULs on both parities; one stray NUL proves nothing.
    if odd >= 2 and even <= odd * 0.05:
        return "utf-16-le"
    if even >= 2 and odd <= even * 0.05:
        return "utf-16-be"
    return None


def _is_binary(data: bytes) -> bool:
    """True for known binary signatures, or NUL bytes that are not a UTF-16 pattern."""
    if data.startswith(_BINARY_SIGNATURES):
        return True
    sample = data[:_SNIFF_BYTES]
    # "MZ" (Windows executables) is too short to trust alone: a text file may start with it.
    if sample.startswith(b"MZ") and b"\x00" in sample[:64]:
        return True
    return b"\x00" in sample


def _decode_chinese_legacy(data: bytes) -> str | None:
    """Decode GB18030/GBK or Big5; None if neither decodes strictly into plausible Chinese.

    Their byte ranges overlap, so almost any Big5 file also decodes as GB18030 without an error
    (into rare characters, kana and Greek letters), and so do Shift-JIS files. Each standard
    sorts its common characters into a known range (GB2312 level 1; Big5 "frequent"
    characters): pick the reading in which more characters are common ones, and accept it only
    if at least half are. GB18030 wins ties, as the more frequent encoding here.
    """
    best_score, best_text = 0.0, None
    for encoding in ("gb18030", "big5"):
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        score = _common_char_share(text, encoding)
        if encoding == "gb18030" and score >= 0.9:
            return text  # clearly Simplified Chinese; skip the second decoding
        if score > best_score:
            best_score, best_text = score, text
    # Real Chinese prose scores above 0.8 even for Traditional text saved as GB18030;
    # text in another encoding read as Chinese scores near 0.
    return best_text if best_score >= 0.5 else None


# Lead-byte ranges of each encoding's common characters; rows 0xA1-0xA3 hold punctuation.
_COMMON_LEAD_BYTES = {"gb18030": range(0xB0, 0xD8), "big5": range(0xA4, 0xC7)}


def _common_char_share(text: str, encoding: str) -> float:
    """Share of non-ASCII characters (in a sample) that are punctuation or common hanzi."""
    common_leads = _COMMON_LEAD_BYTES[encoding]
    common = total = 0
    for char in text[:20_000]:
        if char < "\x80":
            continue
        total += 1
        encoded = char.encode(encoding)
        if len(encoded) == 2 and (encoded[0] in common_leads or 0xA1 <= encoded[0] <= 0xA3):
            common += 1
    return common / total if total else 1.0


def _looks_like_text(text: str) -> bool:
    """False when control characters (other than tab, newlines, form feed) exceed 1%."""
    sample = text[:_SNIFF_BYTES]
    controls = sum(1 for c in sample if (c < " " and c not in "\t\n\r\f") or c == "\x7f")
    return controls <= len(sample) * 0.01


def _normalize_newlines(text: str) -> str:
    return text.replace("\r\n", "\n").replace("\r", "\n")


# --------------------------------------------------------------------------------------------
# Plain text and Markdown
# --------------------------------------------------------------------------------------------

_MARKDOWN_H1 = re.compile(r"^#[ \t]+(.+?)[ \t]*#*[ \t]*$", re.MULTILINE)


def _load_txt(data: bytes, name: str, budget: _Budget) -> LoadedText:
    return LoadedText(text=_decode_counted(data, name, budget), title=None, source_format="txt")


def _load_markdown(data: bytes, name: str, budget: _Budget) -> LoadedText:
    text = _decode_counted(data, name, budget)
    match = _MARKDOWN_H1.search(text)
    return LoadedText(text=text, title=match.group(1) if match else None, source_format="md")


def _decode_counted(data: bytes, name: str, budget: _Budget) -> str:
    """`decode_text`, refused past the character or paragraph (non-empty line) limit."""
    # No encoding read here takes more than 4 bytes a character, and "\r\n" becomes one: past
    # 8 bytes per allowed character the text is too long in any encoding, so skip decoding it.
    if len(data) > 8 * budget.limits.max_chars:
        budget.refuse_chars()
    text = decode_text(data, name=name)
    budget.add_chars(len(text))
    budget.check_time()
    lines = text.count("\n") + 1
    if lines > budget.limits.max_paragraphs:
        # Only then count exactly: blank lines separate paragraphs, they are not ones.
        lines = sum(1 for line in text.split("\n") if line.strip())
    budget.add_paragraphs(lines)
    return text


# --------------------------------------------------------------------------------------------
# HTML
# --------------------------------------------------------------------------------------------

_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([-\w.:]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>")
# Page furniture that is never the document; <header>/<footer> only outside the article,
# since HTML5 articles often put their own title in a <header>.
_BOILERPLATE_XPATH = (
    "//script|//style|//noscript|//template|//nav|//aside|//form|//iframe|//svg"
    "|//header[not(ancestor::article or ancestor::main)]"
    "|//footer[not(ancestor::article or ancestor::main)]"
)
_BLOCK_TAGS = frozenset(
    "address article blockquote br dd div dl dt figcaption figure h1 h2 h3 h4 h5 h6 hr li main "
    "ol p pre section table tbody thead tfoot tr ul".split()
)


# trafilatura's time grows faster than the page, in one call the deadline cannot interrupt
# (measured on 2 cores): 2.7 s for 20,000 paragraphs, 13 s for 50,000; 2.2 s for a law of
# 3,700 paragraphs in 26,000 elements (Word's HTML, a <span> per run), 59 s for 1,000
# paragraphs of 100 <span>s each. A page past these bounds is a document saved as HTML, not
# an article among page furniture, and its plain text is the reading.
_TRAFILATURA_MAX_BLOCKS = 20_000
_TRAFILATURA_MAX_TAGS = 60_000  # "<" in the page: about 30,000 elements


def _load_html(data: bytes, name: str, budget: _Budget) -> LoadedText:
    html = _decode_html(data, name)
    blocks, tags = _count_html_blocks(html, budget)
    tree = _parse_html(html)
    if tree is None:
        return LoadedText(text="", title=None, source_format="html")
    title = _html_title(tree)
    # Drop page furniture ourselves first: with favor_recall, trafilatura keeps <header> text
    # of long pages and whole <nav> bars of short ones.
    _drop_boilerplate(tree)
    text = None
    if blocks <= _TRAFILATURA_MAX_BLOCKS and tags <= _TRAFILATURA_MAX_TAGS:
        text = trafilatura.extract(
            copy.deepcopy(tree),  # trafilatura prunes the tree it is given; keep ours for the fallback
            output_format="markdown",
            include_tables=True,
            include_comments=False,  # reader comments under an article are not the policy text
            favor_recall=True,
        )
        budget.check_time()
    if not text or not text.strip():
        # trafilatura gives up on some short pages (a notice with one paragraph).
        text = _plain_html_text(tree)
    return LoadedText(text=_normalize_newlines(text).strip(), title=title, source_format="html")


def _count_html_blocks(html: str, budget: _Budget) -> tuple[int, int]:
    """Stream the page once, counting its blocks as paragraphs and its tags; (blocks, tags).

    lxml.html builds the whole tree in one call nothing can interrupt, so this pass refuses
    an oversized page first. lxml hands over only the ends of block elements (filtered in C)
    and each is freed when read; the tags ("<", which no element lacks) are counted in the
    raw bytes before they are parsed, which bounds what the tree holds between two blocks.
    Text is counted only where a block starts; `load_bytes` counts all of it once read.
    """
    # Explicit UTF-8: the page is decoded already, and a stale <meta charset> must not re-decode it.
    parser = etree.HTMLPullParser(events=("end",), tag=_BLOCK_TAGS, encoding="utf-8", no_network=True)
    data = html.encode("utf-8")
    blocks = tags = 0
    for offset in range(0, len(data), _CHUNK_BYTES):
        chunk = data[offset : offset + _CHUNK_BYTES]
        tags += chunk.count(b"<")
        if tags > _MAX_ELEMENTS:
            budget.refuse(f"more than {_MAX_ELEMENTS:,} HTML tags, not a readable page; save its text as .txt")
        parser.feed(chunk)
        found = chars = 0
        for _, element in parser.read_events():
            found += 1
            if element.text:
                chars += len(element.text.strip())
            _drop_finished(element)
        blocks += found
        budget.add_paragraphs(found)
        budget.add_chars(chars)
        budget.check_time()
    try:
        parser.close()
    except etree.XMLSyntaxError:
        pass  # an empty page; _parse_html says so
    return blocks, tags


def _drop_finished(element: etree._Element) -> None:
    """Free an element whose end tag was read, and its earlier siblings (lxml's iterparse idiom)."""
    element.clear(keep_tail=True)
    parent = element.getparent()
    if parent is not None:
        while element.getprevious() is not None:
            del parent[0]


def _decode_html(data: bytes, name: str) -> str:
    """Decode a page: BOM, else valid UTF-8, else the declared charset, else by sniffing.

    Valid UTF-8 wins over the declaration because pages still labelled GB2312 are often saved
    as UTF-8 by newer editors, and legacy-encoded Chinese is almost never valid UTF-8.
    GB2312/GBK declarations are read as GB18030, their superset, because such pages routinely
    contain GBK-only characters.
    """
    if not data.startswith(tuple(bom for bom, _ in _BOMS)):
        try:
            return _normalize_newlines(data.decode("utf-8"))
        except UnicodeDecodeError:
            pass
        match = _META_CHARSET.search(data[:_SNIFF_BYTES])
        if match:
            declared = match.group(1).decode("ascii", "ignore").lower()
            if declared in {"gb2312", "gbk", "x-gbk", "cp936"}:
                declared = "gb18030"
            try:
                return _normalize_newlines(data.decode(declared))
            except (LookupError, UnicodeDecodeError):
                pass  # unknown or wrong label: sniff instead
    return decode_text(data, name=name)


def _parse_html(html: str) -> lxml.html.HtmlElement | None:
    # lxml refuses str input that carries an XML encoding declaration (XHTML pages).
    html = _XML_DECLARATION.sub("", html, count=1)
    if not html.strip():
        return None
    try:
        return lxml.html.document_fromstring(html)
    except (etree.ParserError, ValueError):
        return None


def _html_title(tree: lxml.html.HtmlElement) -> str | None:
    """The <title>, or the first <h1> when the <title> is that heading plus a site name."""
    title = _squash(tree.findtext(".//title") or "")
    h1_elements = tree.xpath("//h1")
    h1 = _squash(h1_elements[0].text_content()) if h1_elements else ""
    if h1 and (not title or h1 in title):
        return h1
    return title or None


def _drop_boilerplate(tree: lxml.html.HtmlElement) -> None:
    for element in tree.xpath(_BOILERPLATE_XPATH):
        element.drop_tree()


def _plain_html_text(tree: lxml.html.HtmlElement) -> str:
    """Text of <body> (furniture already dropped); block elements on their own lines."""
    body = tree.find("body")
    if body is None:
        body = tree
    for element in body.iter():
        if not isinstance(element.tag, str):
            continue  # comments and processing instructions
        tag = element.tag.lower()
        if tag != "pre":
            # Source line breaks inside a paragraph are just spaces in HTML (as in trafilatura).
            element.text = _collapse_spaces(element.text)
        element.tail = _collapse_spaces(element.tail)
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            heading = _squash(element.text_content())
            for child in list(element):
                element.remove(child)
            element.text = f"\n{'#' * int(tag[1])} {heading}\n" if heading else ""
        elif tag in {"td", "th"}:
            element.tail = " | " + (element.tail or "")
        if tag in _BLOCK_TAGS:
            element.tail = "\n" + (element.tail or "")
    lines = (line.strip().rstrip("|").strip() for line in body.text_content().split("\n"))
    return "\n".join(line for line in lines if line)


def _collapse_spaces(text: str | None) -> str | None:
    return re.sub(r"\s+", " ", text) if text else text


def _squash(text: str) -> str:
    """Collapse runs of whitespace (incl. line breaks inside a heading) to one space."""
    return " ".join(text.split())


# --------------------------------------------------------------------------------------------
# PDF
# --------------------------------------------------------------------------------------------

_PDF_ENCRYPTED = "encrypted PDF: remove the password and upload it again"
_PDF_DAMAGED = "damaged or not a PDF; export or download it again and re-upload"
_PDF_NEEDS_AES = "encrypted PDF (AES) needs the 'cryptography' package; remove the password"
_PDF_NO_TEXT = "the PDF has no text layer (scanned images?); run OCR on it and upload the result"


def _load_pdf(data: bytes, name: str, budget: _Budget) -> LoadedText:
    # Viewers accept a header within the first 1024 bytes and %%EOF within the last 1024;
    # without the end marker the file was cut off (a failed download), even if the first
    # pages still parse, and a partial document must not be indexed as if complete.
    if b"%PDF-" not in data[:1024] or b"%%EOF" not in data[-1024:]:
        raise LoadError(name, _PDF_DAMAGED)
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            # Files with only an owner password (printing/copy limits) open with "".
            raise LoadError(name, _PDF_ENCRYPTED)
        pages = list(_pdf_page_texts(reader, budget))
        title = _pdf_title(reader)
    except LoadError:
        raise
    except pypdf.errors.DependencyError:
        # AES-encrypted files need the 'cryptography' package even with an empty password.
        raise LoadError(name, _PDF_NEEDS_AES) from None
    except Exception:  # noqa: BLE001 - pypdf raises assorted built-in errors on malformed files
        raise LoadError(name, _PDF_DAMAGED) from None
    if not any(pages):
        raise LoadError(name, _PDF_NO_TEXT)
    text = "\n".join(page for page in _strip_running_lines(pages) if page)
    return LoadedText(text=text, title=title, source_format="pdf")


def _pdf_page_texts(reader: pypdf.PdfReader, budget: _Budget) -> Iterator[str]:
    """Each page's text, refused past the page, character or time limit as it goes."""
    # The page tree's stated count first: it costs nothing, where counting the pages means
    # walking the whole tree. The walk follows, as the stated count may be wrong.
    declared = reader.trailer["/Root"]["/Pages"].get("/Count")
    if declared is not None:
        declared = declared.get_object()  # "/Count 12 0 R" is legal, if odd
    if isinstance(declared, int):
        budget.check_pages(declared)
    budget.check_pages(len(reader.pages))
    for page in reader.pages:
        budget.check_time()
        text = _normalize_newlines(page.extract_text() or "").strip()
        budget.add_chars(len(text))
        yield text


def _pdf_title(reader: pypdf.PdfReader) -> str | None:
    """The document-info title, unless it is a converter's placeholder."""
    title = _squash((reader.metadata.title or "") if reader.metadata else "")
    title = title.removeprefix("Microsoft Word - ")
    return title or None


def _strip_running_lines(pages: list[str]) -> list[str]:
    """Drop a first or last line that repeats on most pages: running headers, footers, page numbers.

    Lines are compared with digits masked, so "第 3 页" and "第 4 页" count as the same line.
    Needs at least three pages; with fewer, a repeat is as likely to be content.
    """
    if len(pages) < 3:
        return pages
    split = [page.split("\n") for page in pages]
    for position in (0, -1):
        edge_lines = (lines[position] for lines in split if lines[position].strip())
        counts = Counter(_mask_digits(line) for line in edge_lines)
        running = {line for line, n in counts.items() if n >= max(3, 0.6 * len(pages))}
        for lines in split:
            if len(lines) > 1 and _mask_digits(lines[position]) in running:
                del lines[position]
    return ["\n".join(lines).strip() for lines in split]


def _mask_digits(line: str) -> str:
    return re.sub(r"\d+", "#", line.strip())


# --------------------------------------------------------------------------------------------
# Word .docx
# --------------------------------------------------------------------------------------------

_DOCX_DAMAGED = (
    "damaged or not a Word .docx file; open it in Word or WPS, save as .docx, upload again"
)
_DOCX_OLE = "old Word format or password-protected; save as an unprotected .docx and upload again"
_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# Built-in style names as python-docx reports them ("Heading 1"), plus the Chinese names some
# editors (WPS, localised templates) write into styles.xml.
_HEADING_STYLE = re.compile(r"^(?:heading|标题)\s*([1-6])$", re.IGNORECASE)
_TITLE_STYLES = frozenset({"title", "标题"})

_W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
_W_BODY, _W_P, _W_TBL, _W_T = (f"{{{_W}}}{tag}" for tag in ("body", "p", "tbl", "t"))
_PACKAGE_RELS = "_rels/.rels"
# What python-docx is given in place of the main part, whose body is streamed here instead.
_EMPTY_DOCUMENT = f'<w:document xmlns:w="{_W}"><w:body/></w:document>'.encode()
# However well a smaller part packs, unpacking it costs nothing worth refusing a file for.
_RATIO_MIN_BYTES = _MB
_DOCX_DTD = "an XML part in it declares a DTD, which Word files never have (an entity trick?); re-save it in Word"
_DOCX_BLOCK = f"a table or paragraph in it has over {_MAX_ELEMENTS:,} XML tags, not a normal Word file; re-save it"
_DOCX_PARTS = f"its styles and other parts have over {_MAX_ELEMENTS:,} XML tags, not a normal Word file; re-save it"


def _load_docx(data: bytes, name: str, budget: _Budget) -> LoadedText:
    """Paragraphs and tables in body order, headings marked: python-docx's reading, streamed.

    python-docx parses every XML part whole, in one call nothing can interrupt, and its
    proxies cost about 0.2 ms a paragraph: a 214 KB file of 1.8 million paragraphs took it
    over 11 minutes and 1.6 GB. So: the zip's directory is checked first; the body is parsed
    once as it unpacks, keeping nothing, to count it against the limits (`_census_body`);
    python-docx opens the package with an empty body, for the styles and core properties;
    and the body is parsed again, each paragraph or table handed to python-docx's proxies
    and freed once read.
    """
    if data.startswith(_OLE_SIGNATURE):
        # Old binary Word files and password-protected .docx both live in an OLE container.
        raise LoadError(name, _DOCX_OLE)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        _check_packed_sizes(archive, budget)
        main = _main_part(archive)
        _census_body(archive, main, budget)
        document = docx.Document(_package_without_body(archive, main, budget))
        lines, first_heading = _docx_lines(_body_blocks(archive, main, document, budget))
        title = _squash(document.core_properties.title or "") or first_heading
    except LoadError:
        raise
    except Exception:  # noqa: BLE001 - zip, KeyError, XML, ValueError ... from a file that is not a sound .docx
        raise LoadError(name, _DOCX_DAMAGED) from None
    return LoadedText(text=_normalize_newlines("\n".join(lines)), title=title, source_format="docx")


def _docx_lines(blocks: Iterator[Paragraph | Table]) -> tuple[list[str], str | None]:
    """One line per paragraph and table row, headings as Markdown; and the first level-1 heading."""
    lines: list[str] = []
    first_heading: str | None = None
    # A paragraph's level depends on its style id alone, and resolving a style searches the
    # whole styles part (about 0.4 ms): once per style, not once per paragraph.
    levels: dict[str | None, int | None] = {}
    for block in blocks:
        if isinstance(block, Table):
            lines.extend(_table_lines(block))
            continue
        text = block.text.strip()
        if not text:
            continue
        style_id = block._p.style  # the <w:pStyle> value, read by python-docx's own element class
        if style_id not in levels:
            levels[style_id] = _heading_level(block)
        level = levels[style_id]
        if level is None:
            lines.append(text)
        else:
            heading = _squash(text)
            lines.append(f"{'#' * level} {heading}")
            if level == 1 and first_heading is None:
                first_heading = heading
    return lines, first_heading


def _check_packed_sizes(archive: zipfile.ZipFile, budget: _Budget) -> None:
    """Refuse a zip bomb from the zip's directory alone, before a byte is unpacked.

    Python's zipfile never unpacks a member beyond its stated size (and fails the CRC if it
    was cut), so the stated sizes bound what unpacking can produce; `_stream_part` counts
    the bytes actually unpacked on top.
    """
    members = archive.infolist()
    if sum(info.file_size for info in members) > budget.limits.max_unpacked_mb * _MB:
        budget.refuse_unpacked()
    limit = budget.limits.max_compression_ratio
    for info in members:
        packed = max(info.compress_size, 1)
        if info.file_size >= _RATIO_MIN_BYTES and info.file_size > limit * packed:
            budget.refuse(
                f"{info.filename} in it packs {info.file_size // packed:,}:1, over the {limit:,}:1 limit "
                "(POLICY_QA_INGEST_MAX_COMPRESSION_RATIO): a zip bomb?"
            )


def _main_part(archive: zipfile.ZipFile) -> str:
    """The zip member of the main document part, as the package relationships name it."""
    with archive.open(_PACKAGE_RELS) as stream:
        rels = stream.read(_MB + 1)
    if len(rels) > _MB:  # a few hundred bytes in any real file
        raise ValueError("oversized package relationships")
    root = etree.fromstring(rels, etree.XMLParser(resolve_entities=False, no_network=True))
    for rel in root:
        if str(rel.get("Type", "")).endswith("/officeDocument") and rel.get("TargetMode") != "External":
            return posixpath.normpath(str(rel.get("Target", ""))).lstrip("/")
    raise KeyError("no main document part")


def _package_without_body(archive: zipfile.ZipFile, main: str, budget: _Budget) -> io.BytesIO:
    """A copy of the package whose main part has an empty body, for python-docx to open.

    Every other part is unpacked as a stream and counted against the unpacked-size limit; in
    an XML part, a DTD is refused and the tags count against `_MAX_ELEMENTS`, as python-docx
    parses each of these parts into a whole tree.
    """
    out = io.BytesIO()
    tags = 0
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as copy_:  # stored: packing again costs time for nothing
        # A name twice in a zip: zipfile (so python-docx) reads the last one, so copy that one.
        for member in dict.fromkeys(archive.namelist()):
            info = archive.getinfo(member)
            if info.is_dir():
                continue
            if member == main:
                copy_.writestr(member, _EMPTY_DOCUMENT)
                continue
            chunks: list[bytes] = []
            xml = False
            for chunk in _stream_part(archive, info, budget):
                if not chunks:
                    xml = _looks_like_xml(chunk)
                    if xml:
                        _refuse_dtd(chunk, budget)
                chunks.append(chunk)
                if xml:
                    tags += chunk.count(b"<")
                    if tags > _MAX_ELEMENTS:
                        budget.refuse(_DOCX_PARTS)
            copy_.writestr(member, b"".join(chunks))
    out.seek(0)
    return out


def _looks_like_xml(head: bytes) -> bool:
    # By content, not name: [Content_Types].xml may give any part name an XML type.
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<" or head.startswith((b"\xff\xfe<", b"\xfe\xff\x00<"))


# A DOCTYPE after the XML declaration, comments and processing instructions, if any. One
# whitespace character per step: "\s+" under "*" backtracks exponentially on a miss.
_PROLOG_DOCTYPE = re.compile(rb"(?:\s|<\?.*?\?>|<!--.*?-->)*<!DOCTYPE", re.DOTALL)


def _refuse_dtd(head: bytes, budget: _Budget) -> None:
    """Refuse a part whose first chunk declares a DTD.

    The OPC standard (ECMA-376 Part 2) forbids DTDs in package parts, so one is there for
    entity expansion ("billion laughs") or external fetches, never for Word. libxml2 stops
    the worst expansions itself, but only as a parse error a user reads as "damaged".
    """
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):  # UTF-16: look at it as UTF-8
        head = head[: len(head) // 2 * 2].decode("utf-16", "ignore").encode("utf-8")
    if _PROLOG_DOCTYPE.match(head.removeprefix(b"\xef\xbb\xbf")):
        budget.refuse(_DOCX_DTD)


def _stream_part(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, budget: _Budget, *, count: bool = True
) -> Iterator[bytes]:
    """A member's bytes in chunks, each checked against the deadline and (``count``) counted
    against the unpacked-size limit."""
    with archive.open(info) as stream:
        while chunk := stream.read(_CHUNK_BYTES):
            if count:
                budget.add_unpacked(len(chunk))
            budget.check_time()
            yield chunk


def _census_body(archive: zipfile.ZipFile, main: str, budget: _Budget) -> None:
    """Parse the main part as it unpacks and count it against the limits: paragraphs (table
    cells too), characters of text, tags per body block, unpacked bytes, time.

    lxml hands over only the ends of paragraphs, tables and text runs (filtered in C; a
    Python step per element would cost seconds per million), and each finished paragraph or
    table is freed, so a file of 1.8 million paragraphs is refused at the paragraph limit in
    a second or two, before python-docx's slow proxies see any of it. The tags of the body
    block being read are counted in the raw bytes before they are parsed: that bounds the
    one block `_body_blocks` keeps in memory, and this pass's own tree, which holds no more
    than what lies between two frees.
    """
    parser = etree.XMLPullParser(events=("end",), tag=(_W_P, _W_T, _W_TBL), resolve_entities=False, no_network=True)
    block_tags = 0
    first = True
    for chunk in _stream_part(archive, archive.getinfo(main), budget):
        if first:
            _refuse_dtd(chunk, budget)
            first = False
        block_tags += chunk.count(b"<")  # a block ending in this chunk sets it back to 0 below
        if block_tags > _MAX_ELEMENTS:
            budget.refuse(_DOCX_BLOCK)
        parser.feed(chunk)
        # Counted here and handed to the budget once a chunk: this loop runs per paragraph,
        # and a 64 KB chunk can only overshoot a limit by a few thousand.
        paragraphs = chars = 0
        for _, element in parser.read_events():
            tag = element.tag
            if tag == _W_T:
                chars += len(element.text or "")
                continue
            if tag == _W_P:
                paragraphs += 1
            parent = element.getparent()
            if parent.tag == _W_BODY:
                block_tags = 0
            # _drop_finished, inline: the call alone would cost a tenth of this pass.
            element.clear(keep_tail=True)
            while element.getprevious() is not None:
                del parent[0]
        budget.add_paragraphs(paragraphs)
        budget.add_chars(chars)
    parser.close()  # raises on a body cut short


def _body_blocks(
    archive: zipfile.ZipFile, main: str, document: WordDocument, budget: _Budget
) -> Iterator[Paragraph | Table]:
    """The body's paragraphs and tables in order, each as soon as its end tag is read.

    The blocks of python-docx's ``document.iter_inner_content()`` (``w:p`` and ``w:tbl``
    children of ``w:body``), built with its element classes and parser options, on a tree
    that holds the block being read and what came since the last one: no more than
    `_census_body`, which has counted the part, let through.
    """
    parser = etree.XMLPullParser(
        events=("end",), tag=(_W_P, _W_TBL), remove_blank_text=True, resolve_entities=False, no_network=True
    )
    parser.set_element_class_lookup(element_class_lookup)
    for chunk in _stream_part(archive, archive.getinfo(main), budget, count=False):
        parser.feed(chunk)
        for _, element in parser.read_events():
            parent = element.getparent()
            if parent is None or parent.tag != _W_BODY:
                continue  # inside a table (which needs all of its rows) or a content control
            if element.tag == _W_P:
                yield Paragraph(element, document)
            elif element.tag == _W_TBL:
                yield Table(element, document)
            _drop_finished(element)
    parser.close()


def _heading_level(paragraph: Paragraph) -> int | None:
    """1-6 for Title/Heading styles (or custom styles based on them), else None."""
    style = paragraph.style
    for _ in range(5):  # follow "based on" a few steps; style chains are short
        if style is None:
            return None
        style_name = (style.name or "").strip().lower()
        if style_name in _TITLE_STYLES:
            return 1
        match = _HEADING_STYLE.match(style_name)
        if match:
            return int(match.group(1))
        style = style.base_style
    return None


def _table_lines(table: Table) -> list[str]:
    """One line per row, cells joined by ' | '."""
    lines = []
    for row in table.rows:
        cells = []
        previous = None
        for cell in row.cells:
            # python-docx repeats a horizontally merged cell once per grid column.
            if previous is not None and cell._tc is previous._tc:
                continue
            previous = cell
            cells.append(_squash(cell.text))
        if any(cells):
            lines.append(" | ".join(cells))
    return lines


# --------------------------------------------------------------------------------------------
# Registry and entry points
# --------------------------------------------------------------------------------------------

Loader = Callable[[bytes, str, _Budget], LoadedText]

_LOADERS: dict[str, Loader] = {
    ".txt": _load_txt,
    ".md": _load_markdown,
    ".markdown": _load_markdown,
    ".html": _load_html,
    ".htm": _load_html,
    ".pdf": _load_pdf,
    ".docx": _load_docx,
}

SUPPORTED_SUFFIXES: frozenset[str] = frozenset(_LOADERS)


def load_bytes(data: bytes, filename: str, limits: IngestSettings | None = None) -> LoadedText:
    """Load an upload (or file contents) by the suffix of ``filename``.

    ``filename`` also names the file in error messages. ``limits`` (default: the
    environment's ``settings.ingest``) are enforced while the file is read.

    Raises:
        LoadError: unsupported type, empty, damaged, encrypted, unreadable text, or past a
            limit (the reason names its POLICY_QA_INGEST_* setting).
    """
    limits = limits or get_settings().ingest
    suffix = PurePath(filename).suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        raise LoadError(filename, _unsupported_reason(suffix))
    if len(data) > limits.max_file_mb * _MB:
        raise LoadError(filename, _too_large(limits))
    if not data.strip():
        raise LoadError(filename, "the file is empty")
    budget = _Budget(filename, limits)
    loaded = loader(data, filename, budget)
    if len(loaded.text) > limits.max_chars:
        # The loaders count as they read; markup they cannot see through (HTML tails) is
        # counted here, on what was read.
        budget.refuse_chars()
    if not loaded.text.strip():
        raise LoadError(filename, "the file is empty (no readable text found)")
    return loaded


def load_file(path: Path, limits: IngestSettings | None = None) -> LoadedText:
    """Read ``path`` and load it with :func:`load_bytes`; errors name the full path.

    A file over ``limits.max_file_mb`` is refused from its size, before it is read.
    """
    limits = limits or get_settings().ingest
    cap = limits.max_file_mb * _MB
    try:
        with Path(path).open("rb") as stream:
            if os.fstat(stream.fileno()).st_size > cap:
                raise LoadError(path, _too_large(limits))
            data = stream.read(cap + 1)  # a pipe or a growing file has no size to trust
    except FileNotFoundError:
        raise LoadError(path, "file not found") from None
    except IsADirectoryError:
        raise LoadError(path, "this is a folder, not a file") from None
    except OSError as err:
        raise LoadError(path, f"cannot read the file: {err.strerror or err}") from None
    if len(data) > cap:
        raise LoadError(path, _too_large(limits))
    return load_bytes(data, str(path), limits)


def _too_large(limits: IngestSettings) -> str:
    return f"larger than the {limits.max_file_mb:,} MB limit (POLICY_QA_INGEST_MAX_FILE_MB); {_RAISE}"


def _unsupported_reason(suffix: str) -> str:
    if suffix == ".doc":
        return "old Word .doc files are not supported; save it as .docx and upload again"
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    return f"unsupported file type '{suffix or '(none)'}'; use one of {supported}"
