"""Turn an uploaded or on-disk file into raw text: one loader per format, picked by suffix.

Every loader returns a :class:`LoadedText` whose ``text`` uses ``'\\n'`` line ends and marks
headings as Markdown lines (``# ``, ``## `` ...) where the format has headings, so the chunker
can build a heading tree without knowing where the text came from.

Anything a user can fix (wrong type, encrypted, damaged, scanned, unknown encoding) is raised as
:class:`~rag.errors.LoadError` with a one-line reason that says what to do.
"""

from __future__ import annotations

import copy
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePath

import charset_normalizer
import docx
import lxml.html
import pypdf
import trafilatura
from docx.table import Table
from docx.text.paragraph import Paragraph
from lxml import etree

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


def _load_txt(data: bytes, name: str) -> LoadedText:
    return LoadedText(text=decode_text(data, name=name), title=None, source_format="txt")


def _load_markdown(data: bytes, name: str) -> LoadedText:
    text = decode_text(data, name=name)
    match = _MARKDOWN_H1.search(text)
    return LoadedText(text=text, title=match.group(1) if match else None, source_format="md")


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


def _load_html(data: bytes, name: str) -> LoadedText:
    tree = _parse_html(_decode_html(data, name))
    if tree is None:
        return LoadedText(text="", title=None, source_format="html")
    title = _html_title(tree)
    # Drop page furniture ourselves first: with favor_recall, trafilatura keeps <header> text
    # of long pages and whole <nav> bars of short ones.
    _drop_boilerplate(tree)
    text = trafilatura.extract(
        copy.deepcopy(tree),  # trafilatura prunes the tree it is given; keep ours for the fallback
        output_format="markdown",
        include_tables=True,
        include_comments=False,  # reader comments under an article are not the policy text
        favor_recall=True,
    )
    if not text or not text.strip():
        # trafilatura gives up on some short pages (a notice with one paragraph).
        text = _plain_html_text(tree)
    return LoadedText(text=_normalize_newlines(text).strip(), title=title, source_format="html")


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


def _load_pdf(data: bytes, name: str) -> LoadedText:
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
        pages = [_normalize_newlines(page.extract_text() or "").strip() for page in reader.pages]
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


def _load_docx(data: bytes, name: str) -> LoadedText:
    if data.startswith(_OLE_SIGNATURE):
        # Old binary Word files and password-protected .docx both live in an OLE container.
        raise LoadError(name, _DOCX_OLE)
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception:  # noqa: BLE001 - python-docx raises zip, KeyError, XML, ValueError ...
        raise LoadError(name, _DOCX_DAMAGED) from None

    lines: list[str] = []
    first_heading: str | None = None
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            lines.extend(_table_lines(block))
            continue
        text = block.text.strip()
        if not text:
            continue
        level = _heading_level(block)
        if level is None:
            lines.append(text)
        else:
            heading = _squash(text)
            lines.append(f"{'#' * level} {heading}")
            if level == 1 and first_heading is None:
                first_heading = heading
    title = _squash(document.core_properties.title or "") or first_heading
    return LoadedText(text=_normalize_newlines("\n".join(lines)), title=title, source_format="docx")


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

Loader = Callable[[bytes, str], LoadedText]

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


def load_bytes(data: bytes, filename: str) -> LoadedText:
    """Load an upload (or file contents) by the suffix of ``filename``.

    ``filename`` also names the file in error messages.

    Raises:
        LoadError: unsupported type, empty, damaged, encrypted, or unreadable text.
    """
    suffix = PurePath(filename).suffix.lower()
    loader = _LOADERS.get(suffix)
    if loader is None:
        raise LoadError(filename, _unsupported_reason(suffix))
    if not data.strip():
        raise LoadError(filename, "the file is empty")
    loaded = loader(data, filename)
    if not loaded.text.strip():
        raise LoadError(filename, "the file is empty (no readable text found)")
    return loaded


def load_file(path: Path) -> LoadedText:
    """Read ``path`` and load it with :func:`load_bytes`; errors name the full path."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError:
        raise LoadError(path, "file not found") from None
    except IsADirectoryError:
        raise LoadError(path, "this is a folder, not a file") from None
    except OSError as err:
        raise LoadError(path, f"cannot read the file: {err.strerror or err}") from None
    return load_bytes(data, str(path))


def _unsupported_reason(suffix: str) -> str:
    if suffix == ".doc":
        return "old Word .doc files are not supported; save it as .docx and upload again"
    supported = ", ".join(sorted(SUPPORTED_SUFFIXES))
    return f"unsupported file type '{suffix or '(none)'}'; use one of {supported}"
