"""Document limits: hostile files are refused while they are read, fast and in little memory,
with a reason naming the file, the limit and the setting that raises it; real documents pass.

Every file here is built in the test (zipfile, raw PDF syntax); the ones that hung or ate
memory before run in a child process with a timeout, so a regression fails instead of
hanging the suite.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import subprocess
import sys
import textwrap
import zipfile
from functools import lru_cache
from pathlib import Path

import docx
import pytest

# The module, not its names, so the tests of today's defaults also run against older code.
from rag import config
from rag.errors import LoadError
from rag.index.index import Index
from rag.ingest.indexer import Indexer
from rag.ingest.loaders import load_bytes, load_file
from rag.ingest.manifest import bundled_corpus_dir, read_manifest
from tests.conftest import SHARED, make_settings

REPO = Path(__file__).resolve().parents[2]
LAWREFBOOK = SHARED / "bench" / "lawrefbook.jsonl.gz"
W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
ONE_PARAGRAPH = "<w:p><w:r><w:t>正文。</w:t></w:r></w:p>".encode()
PARAGRAPHS_LIMIT = "more than the 200,000-paragraph limit (POLICY_QA_INGEST_MAX_PARAGRAPHS)"

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/word/document.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/>'
    "</Types>"
)
PACKAGE_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Target="word/document.xml" Type='
    '"http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"/>'
    "</Relationships>"
)


# ------------------------------------------------------------------------------------------
# Builders
# ------------------------------------------------------------------------------------------


def word_package(body: bytes | list[bytes], *, prolog: bytes = b"", extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal .docx written with zipfile: ``body`` (or its pieces, streamed) inside <w:body>."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("_rels/.rels", PACKAGE_RELS)
        with archive.open("word/document.xml", "w", force_zip64=True) as part:
            part.write(b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>' + prolog)
            part.write(f'<w:document xmlns:w="{W}"><w:body>'.encode())
            for piece in [body] if isinstance(body, bytes) else body:
                part.write(piece)
            part.write(b"</w:body></w:document>")
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def million_paragraphs_docx() -> bytes:
    """The finding's file: 1.8 million one-digit paragraphs, about 260 KB packed (the reported
    one was 214 KB), 229:1 - below the compression-ratio limit, so the paragraphs count."""
    return word_package(b"".join(b"<w:p><w:r><w:t>%d</w:t></w:r></w:p>" % (i % 10) for i in range(1_800_000)))


def padded_docx(padding_mib: int) -> bytes:
    """A zip bomb: a real paragraph, then ``padding_mib`` MiB of blanks inside the body (~1030:1)."""
    blanks = b" " * (1 << 20)
    return word_package([ONE_PARAGRAPH] + [blanks] * padding_mib)


def many_pages_pdf(pages: int, *, stated: int | None = None) -> bytes:
    """A valid PDF of ``pages`` pages sharing one content stream; ``stated`` overrides /Count."""
    stream = b"BT /F1 12 Tf 72 720 Td (Page text of a long report.) Tj ET"
    first_page = 5
    kids = " ".join(f"{first_page + i} 0 R" for i in range(pages))
    objects = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: f"<< /Type /Pages /Count {pages if stated is None else stated} /Kids [{kids}] >>".encode(),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        4: f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream",
    }
    for i in range(pages):
        objects[first_page + i] = (
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents 4 0 R >>"
        )
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offsets[n]:010d} 00000 n \n".encode() for n in sorted(objects))
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    return bytes(out)


def load_in_child(path: Path, timeout: float = 60) -> dict[str, object]:
    """`load_file(path)` in a fresh interpreter: its outcome, CPU seconds and memory growth.

    A child, so the old behaviour (minutes at full CPU, then gigabytes) shows as a timeout
    instead of a hung suite, and the memory figure is this file's alone.
    """
    code = textwrap.dedent(
        f"""
        import json, resource, sys, time
        sys.path.insert(0, {str(REPO)!r})
        from rag.ingest.loaders import load_file
        from rag.errors import LoadError
        def rss_mb():
            return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        before, started = rss_mb(), time.process_time()
        try:
            load_file({str(path)!r})
            outcome = "loaded"
        except LoadError as exc:
            outcome = str(exc)
        print(json.dumps({{"outcome": outcome, "cpu_s": time.process_time() - started,
                          "grew_mb": rss_mb() - before}}))
        """
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=timeout, env=env, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def refusal(data: bytes, name: str, limits: config.IngestSettings | None = None) -> str:
    with pytest.raises(LoadError) as caught:
        if limits is None:
            load_bytes(data, name)
        else:
            load_bytes(data, name, limits)
    assert "\n" not in caught.value.reason
    return str(caught.value)


# ------------------------------------------------------------------------------------------
# The finding: a small .docx of 1.8 million paragraphs
# ------------------------------------------------------------------------------------------


def test_docx_of_1_8_million_paragraphs_is_refused_in_seconds_with_little_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.docx"
    path.write_bytes(million_paragraphs_docx())
    assert path.stat().st_size < 300_000

    result = load_in_child(path)

    assert result["outcome"] == f"{path}: {PARAGRAPHS_LIMIT}; split the document or raise the limit"
    assert result["cpu_s"] < 6  # was more than 11 minutes of one core
    assert result["grew_mb"] < 100  # was 1.6 GB


@pytest.mark.timeout(60)
def test_docx_of_1_8_million_paragraphs_is_refused_through_load_bytes() -> None:
    assert refusal(million_paragraphs_docx(), "big.docx").startswith(f"big.docx: {PARAGRAPHS_LIMIT}")


@pytest.mark.timeout(120)
def test_ingesting_a_folder_reports_the_refused_file_and_indexes_the_others(
    tmp_path: Path, home: Path, cache_dir: Path
) -> None:
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("常德市建立了13家线下智能养老服务站点。\n", encoding="utf-8")
    (folder / "big.docx").write_bytes(million_paragraphs_docx())

    report = Indexer(Index(make_settings(home, cache_dir))).ingest_paths([folder])

    assert len(report.added) == 1
    (error,) = report.errors
    assert error.endswith(f"big.docx: {PARAGRAPHS_LIMIT}; split the document or raise the limit")


def test_paragraph_limit_comes_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POLICY_QA_INGEST_MAX_PARAGRAPHS", "150")
    limits = config.Settings().ingest
    document = docx.Document()
    for i in range(151):
        document.add_paragraph(f"第{i + 1}条 正文。")
    buffer = io.BytesIO()
    document.save(buffer)

    assert limits.max_paragraphs == 150
    assert "more than the 150-paragraph limit (POLICY_QA_INGEST_MAX_PARAGRAPHS)" in refusal(
        buffer.getvalue(), "notice.docx", limits
    )


def test_paragraphs_in_table_cells_count_too() -> None:
    document = docx.Document()
    document.add_table(rows=60, cols=2)  # 120 cells, one paragraph each
    buffer = io.BytesIO()
    document.save(buffer)

    assert "100-paragraph limit" in refusal(buffer.getvalue(), "table.docx", config.IngestSettings(max_paragraphs=100))


# ------------------------------------------------------------------------------------------
# Zip bombs and XML tricks in .docx
# ------------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_docx_whose_document_unpacks_to_300_mb_is_refused_before_unpacking(tmp_path: Path) -> None:
    path = tmp_path / "bomb.docx"
    path.write_bytes(padded_docx(300))
    assert path.stat().st_size < 1_000_000

    result = load_in_child(path)

    assert result["outcome"] == (
        f"{path}: unpacks to more than the 200 MB limit (POLICY_QA_INGEST_MAX_UNPACKED_MB); "
        "a zip bomb, or re-save it in Word"
    )
    assert result["cpu_s"] < 2 and result["grew_mb"] < 50


@pytest.mark.timeout(60)
def test_docx_part_packed_1000_to_1_is_refused_by_its_compression_ratio() -> None:
    message = refusal(padded_docx(100), "packed.docx")

    assert message.startswith("packed.docx: word/document.xml in it packs 1,0")
    assert "over the 500:1 limit (POLICY_QA_INGEST_MAX_COMPRESSION_RATIO)" in message


def test_docx_table_of_millions_of_empty_rows_is_refused() -> None:
    # No paragraph and no text, so only the tag count of one block bounds its tree.
    table = [b"<w:tbl>"] + [b"<w:tr/>" * 100_000] * 25 + [b"</w:tbl>"]
    lenient = config.IngestSettings(max_compression_ratio=100_000)

    assert "a table or paragraph in it has over 2,000,000 XML tags" in refusal(
        word_package(table), "rows.docx", lenient
    )


def test_docx_styles_part_of_millions_of_elements_is_refused() -> None:
    styles = f'<w:styles xmlns:w="{W}">'.encode() + b"<w:style/>" * 2_100_000 + b"</w:styles>"
    data = word_package(ONE_PARAGRAPH, extra={"word/styles.xml": styles})
    lenient = config.IngestSettings(max_compression_ratio=100_000)

    assert "its styles and other parts have over 2,000,000 XML tags" in refusal(data, "styles.docx", lenient)


def test_docx_with_entity_declarations_is_refused() -> None:
    # "Billion laughs": each entity ten of the previous one. libxml2 stops it too, but as a
    # parse error, which the user would read as "damaged".
    entities = b'<!ENTITY e0 "laugh">' + b"".join(
        b'<!ENTITY e%d "%s">' % (i, b"&e%d;" % (i - 1) * 10) for i in range(1, 10)
    )
    data = word_package(
        b"<w:p><w:r><w:t>&e9;</w:t></w:r></w:p>", prolog=b"<!DOCTYPE w:document [" + entities + b"]>"
    )

    assert "declares a DTD, which Word files never have" in refusal(data, "laughs.docx")


def test_deeply_nested_docx_is_refused_as_damaged_at_once() -> None:
    # libxml2 stops at 256 levels; the streaming reader must keep saying so.
    nested = b"<w:sdt><w:sdtContent>" * 5000 + b"</w:sdtContent></w:sdt>" * 5000

    assert "damaged or not a Word .docx file" in refusal(word_package(nested), "deep.docx")


def test_docx_read_past_its_deadline_is_refused() -> None:
    paragraph = "<w:p><w:r><w:t>第一条 为了规范数据处理活动，保障数据安全。</w:t></w:r></w:p>".encode()
    data = word_package(paragraph * 30_000)  # python-docx's proxies need seconds for these

    message = refusal(data, "slow.docx", config.IngestSettings(max_seconds=0.2))

    assert message == (
        "slow.docx: not read within the 0.2-second limit (POLICY_QA_INGEST_MAX_SECONDS); "
        "split the document or raise the limit"
    )


# ------------------------------------------------------------------------------------------
# PDF, HTML, text
# ------------------------------------------------------------------------------------------


@pytest.mark.timeout(60)
def test_pdf_of_too_many_pages_is_refused_before_its_text_is_read() -> None:
    message = refusal(many_pages_pdf(2001), "yearbook.pdf")

    assert message == (
        "yearbook.pdf: 2,001 pages, more than the 2,000-page limit (POLICY_QA_INGEST_MAX_PAGES); "
        "split the PDF or raise the limit"
    )


@pytest.mark.timeout(60)
def test_pdf_whose_page_count_lies_is_counted_by_its_page_tree() -> None:
    assert "61 pages, more than the 60-page limit" in refusal(
        many_pages_pdf(61, stated=1), "liar.pdf", config.IngestSettings(max_pages=60)
    )


# In a child: trafilatura spends minutes inside lxml calls that pytest-timeout cannot interrupt.


def test_html_of_a_quarter_million_paragraphs_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "dump.html"
    path.write_bytes(b"<html><body><article>" + b"<p>x</p>" * 250_000 + b"</article></body></html>")

    result = load_in_child(path)

    assert result["outcome"] == f"{path}: {PARAGRAPHS_LIMIT}; split the document or raise the limit"
    assert result["cpu_s"] < 5


def test_html_of_millions_of_inline_tags_is_refused(tmp_path: Path) -> None:
    # One paragraph of a million <b>s: few blocks, and trafilatura took minutes on far less.
    path = tmp_path / "inline.html"
    path.write_bytes(b"<html><body><p>" + b"<b>1</b>" * 1_100_000 + b"</p></body></html>")

    result = load_in_child(path)

    assert str(result["outcome"]).startswith(f"{path}: more than 2,000,000 HTML tags, not a readable page")
    assert result["cpu_s"] < 10


def test_huge_txt_is_refused_at_the_character_limit(tmp_path: Path) -> None:
    path = tmp_path / "dump.txt"
    path.write_text("为了规范数据处理活动，保障数据安全。\n" * 300_000, encoding="utf-8")  # 5.7 million

    with pytest.raises(LoadError) as caught:
        load_file(path)

    assert str(caught.value) == (
        f"{path}: more than the 5,000,000-character limit (POLICY_QA_INGEST_MAX_CHARS); "
        "split the document or raise the limit"
    )


def test_txt_of_too_many_lines_is_refused_at_the_paragraph_limit() -> None:
    assert refusal(b"a\n" * 250_000, "lines.txt").startswith(f"lines.txt: {PARAGRAPHS_LIMIT}")
    # Blank lines are not paragraphs.
    assert load_bytes(b"a\n\n\n" * 100_000, "spaced.md").text.count("a") == 100_000


def test_file_over_the_size_limit_is_refused_without_reading_it(tmp_path: Path) -> None:
    path = tmp_path / "huge.txt"
    with path.open("wb") as sparse:  # 300 MB on paper, nothing on disk
        sparse.truncate(300 * 1024 * 1024)

    result = load_in_child(path)

    assert result["outcome"] == (
        f"{path}: larger than the 200 MB limit (POLICY_QA_INGEST_MAX_FILE_MB); split the document or raise the limit"
    )
    assert result["grew_mb"] < 20


# ------------------------------------------------------------------------------------------
# Real documents pass the defaults
# ------------------------------------------------------------------------------------------


def test_every_bundled_document_loads_under_the_default_limits() -> None:
    for entry in read_manifest(bundled_corpus_dir() / "manifest.toml"):
        assert load_file(entry.path).text.strip(), entry.path


@pytest.mark.skipif(not LAWREFBOOK.exists(), reason="needs ../shared/bench/lawrefbook.jsonl.gz")
def test_longest_laws_load_as_txt_and_docx_under_the_default_limits(tmp_path: Path) -> None:
    with gzip.open(LAWREFBOOK, "rt", encoding="utf-8") as lines:
        laws = sorted((json.loads(line)["text"] for line in lines), key=len)[-3:]  # the Civil Code ...
    for n, text in enumerate(laws):
        document = docx.Document()
        expected = []
        for line in text.split("\n"):
            if line.startswith("## "):
                document.add_heading(line[3:], 2)
            elif line.startswith("# "):
                document.add_heading(line[2:], 1)
            elif line.strip():
                document.add_paragraph(line)
            if line.strip():
                expected.append(" ".join(line.split()) if line.startswith("#") else line.strip())
        document.save(tmp_path / f"law{n}.docx")
        (tmp_path / f"law{n}.txt").write_text(text, encoding="utf-8")

        assert load_file(tmp_path / f"law{n}.docx").text.split("\n") == expected
        assert load_file(tmp_path / f"law{n}.txt").text == text
