"""Document loaders: what a user gets from each file type, and the one-line reason when not."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import docx
import pypdf
import pytest
from docx.enum.style import WD_STYLE_TYPE

from rag.errors import InputError, LoadError
from rag.ingest import loaders
from rag.ingest.loaders import (
    SUPPORTED_SUFFIXES,
    LoadedText,
    decode_text,
    load_bytes,
    load_file,
)

SIMPLIFIED = "常德市建立了13家线下智能养老服务站点。\n这些站点为老年人提供健康监测和紧急呼叫服务。"
TRADITIONAL = "常德市建立了13家線下智慧養老服務站點。\n這些站點為老年人提供健康監測和緊急呼叫服務。"


# ------------------------------------------------------------------------------------------
# Fixture builders
# ------------------------------------------------------------------------------------------


def _pdf_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def make_pdf(pages: list[list[str]]) -> bytes:
    """A minimal valid PDF: one Helvetica text line per entry, a correct xref table."""
    page_ids = [4 + 2 * i for i in range(len(pages))]
    kids = " ".join(f"{pid} 0 R" for pid in page_ids)
    objects: dict[int, bytes] = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: f"<< /Type /Pages /Kids [{kids}] /Count {len(pages)} >>".encode(),
        3: b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    }
    for pid, lines in zip(page_ids, pages, strict=True):
        shown = " ".join(f"({_pdf_string(line)}) Tj T*" for line in lines)
        stream = f"BT /F1 12 Tf 14 TL 72 720 Td {shown} ET".encode("ascii")
        objects[pid] = (
            f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            f"/Resources << /Font << /F1 3 0 R >> >> /Contents {pid + 1} 0 R >>"
        ).encode()
        objects[pid + 1] = (
            f"<< /Length {len(stream)} >>\nstream\n".encode() + stream + b"\nendstream"
        )
    out = bytearray(b"%PDF-1.4\n")
    offsets = {}
    for number in sorted(objects):
        offsets[number] = len(out)
        out += f"{number} 0 obj\n".encode() + objects[number] + b"\nendobj\n"
    xref_at = len(out)
    size = max(objects) + 1
    out += f"xref\n0 {size}\n0000000000 65535 f \n".encode()
    for number in range(1, size):
        out += f"{offsets[number]:010d} 00000 n \n".encode()
    out += f"trailer\n<< /Size {size} /Root 1 0 R >>\nstartxref\n{xref_at}\n%%EOF\n".encode()
    return bytes(out)


def pypdf_rewrite(pdf: bytes, **encrypt_kwargs: str) -> bytes:
    """Rewrite a PDF with pypdf, encrypting it with the given passwords/algorithm."""
    writer = pypdf.PdfWriter(clone_from=pypdf.PdfReader(io.BytesIO(pdf)))
    writer.encrypt(**encrypt_kwargs)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def make_docx() -> bytes:
    document = docx.Document()
    document.add_heading("智能养老服务", level=1)
    document.add_paragraph("常德市建立了13家线下智能养老服务站点。")
    document.add_heading("站点分布", level=2)
    document.add_paragraph("站点覆盖城区和乡镇。")
    table = document.add_table(rows=2, cols=2)
    table.cell(0, 0).text = "城市"
    table.cell(0, 1).text = "站点数"
    table.cell(1, 0).text = "常德"
    table.cell(1, 1).text = "13"
    document.add_heading("下一步", level=1)
    document.add_paragraph("推广数字技能培训。")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


ARTICLE_HTML = """<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>常德智能养老_湖南省人民政府门户网站</title>
<script>var tracker = "脚本里的文字";</script><style>.nav { color: red; }</style></head>
<body>
<header><div class="logo">湖南省人民政府门户网站</div></header>
<nav><ul><li><a href="/">首页</a></li><li><a href="/zc">政策法规导航栏</a></li></ul></nav>
<article>
<h1>常德智能养老</h1>
<p>常德市建立了13家线下智能养老服务站点。这些站点为老年人提供健康监测、紧急呼叫和上门服务，
覆盖城区主要社区。</p>
<h2>服务内容</h2>
<p>站点还开设数字技能培训课程，帮助老年人跨越数字鸿沟，学会用智能手机办理社保和医保业务。</p>
</article>
<footer>版权所有 联系我们 网站地图</footer>
</body></html>"""


# ------------------------------------------------------------------------------------------
# Text encodings
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("encoding", "prefix", "text"),
    [
        ("utf-8", b"", SIMPLIFIED),
        ("utf-8", b"\xef\xbb\xbf", SIMPLIFIED),
        ("utf-16-le", b"\xff\xfe", SIMPLIFIED),
        ("utf-16-be", b"\xfe\xff", SIMPLIFIED),
        ("utf-16-le", b"", SIMPLIFIED),
        ("utf-16-be", b"", SIMPLIFIED),
        ("gb18030", b"", SIMPLIFIED),
        ("gbk", b"", SIMPLIFIED),
        ("gb2312", b"", SIMPLIFIED),
        ("big5", b"", TRADITIONAL),
    ],
    ids=["utf-8", "utf-8-sig", "utf-16-le-bom", "utf-16-be-bom", "utf-16-le", "utf-16-be",
         "gb18030", "gbk", "gb2312", "big5"],
)
def test_txt_in_each_encoding_reads_back_the_chinese_text(
    tmp_path: Path, encoding: str, prefix: bytes, text: str
) -> None:
    path = tmp_path / "notice.txt"
    path.write_bytes(prefix + text.encode(encoding))

    loaded = load_file(path)

    assert loaded == LoadedText(text=text, title=None, source_format="txt")


def test_big5_and_gbk_are_told_apart_on_one_sentence() -> None:
    # Big5 bytes also decode as GB18030 without error; the user must still get the real text.
    assert decode_text("養老服務站點".encode("big5")) == "養老服務站點"
    assert decode_text("养老服务站点".encode("gbk")) == "养老服务站点"


def test_windows_and_old_mac_line_ends_become_newlines() -> None:
    data = "第一行\r\n第二行\r第三行\n".encode("gbk")

    assert decode_text(data) == "第一行\n第二行\n第三行\n"


@pytest.mark.parametrize(
    "blob",
    [
        bytes(range(256)) * 8,
        b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< >>\nendobj\n",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"\x7fELF\x02\x01\x01" + b"\x00" * 64,
        b"MZ\x90\x00\x03\x00\x00\x00\x04\x00",
    ],
    ids=["random-bytes", "pdf", "png", "elf", "exe"],
)
def test_binary_file_named_txt_is_refused_as_not_text(blob: bytes) -> None:
    with pytest.raises(LoadError, match="not a text file") as caught:
        load_bytes(blob, "data.txt")
    assert caught.value.path == "data.txt"


def test_text_starting_with_mz_is_still_text() -> None:
    assert load_bytes("MZ公司年度报告".encode(), "mz.txt").text == "MZ公司年度报告"


def test_markdown_keeps_headings_and_takes_the_first_h1_as_title() -> None:
    source = "前言\n\n# 数字公共服务指南\n\n## 养老\n\n常德市建立了13家站点。\n"

    loaded = load_bytes(source.encode(), "guide.md")

    assert loaded.text == source
    assert loaded.title == "数字公共服务指南"
    assert loaded.source_format == "md"
    assert load_bytes(source.encode(), "GUIDE.MARKDOWN").source_format == "md"


# ------------------------------------------------------------------------------------------
# HTML
# ------------------------------------------------------------------------------------------


def test_html_gives_the_article_without_navigation_header_footer_or_script() -> None:
    loaded = load_bytes(ARTICLE_HTML.encode(), "page.html")

    assert "常德市建立了13家线下智能养老服务站点。" in loaded.text
    assert "数字技能培训课程" in loaded.text
    for furniture in ("政策法规导航栏", "版权所有", "脚本里的文字", "color: red", "门户网站"):
        assert furniture not in loaded.text
    assert "## 服务内容" in loaded.text.splitlines()
    assert loaded.title == "常德智能养老"  # the <h1>, not "<h1>_site name"
    assert loaded.source_format == "html"


def test_html_title_falls_back_to_title_element_when_different_from_h1() -> None:
    page = "<html><head><title>养老政策汇编</title></head><body><p>" + "内容。" * 50 + "</p></body></html>"

    assert load_bytes(page.encode(), "a.htm").title == "养老政策汇编"


def test_html_declared_gb2312_charset_is_honoured() -> None:
    page = ARTICLE_HTML.replace('charset="utf-8"', 'charset="gb2312"')

    loaded = load_bytes(page.encode("gbk"), "gbk.html")

    assert "常德市建立了13家线下智能养老服务站点。" in loaded.text


def test_html_saved_as_utf8_but_labelled_gb2312_reads_correctly() -> None:
    page = ARTICLE_HTML.replace('charset="utf-8"', 'charset="gb2312"')

    loaded = load_bytes(page.encode("utf-8"), "mislabelled.html")

    assert "常德市建立了13家线下智能养老服务站点。" in loaded.text


def test_big5_html_without_charset_is_sniffed() -> None:
    page = (
        "<html><head><title>智慧養老</title></head><body><nav>首頁 | 政策法規導覽</nav>"
        f"<article><h1>智慧養老</h1><p>{TRADITIONAL}</p></article></body></html>"
    )

    loaded = load_bytes(page.encode("big5"), "big5.html")

    assert "常德市建立了13家線下智慧養老服務站點。" in loaded.text
    assert "政策法規導覽" not in loaded.text
    assert loaded.title == "智慧養老"


def test_short_html_page_still_gives_its_body_text_without_navigation() -> None:
    page = (
        "<html><body><nav>首页 | 政策法规导航栏</nav>"
        "<h1>停电通知</h1><p>明日停电。</p><footer>版权所有</footer></body></html>"
    )

    loaded = load_bytes(page.encode(), "short.html")

    assert "明日停电。" in loaded.text
    assert "政策法规导航栏" not in loaded.text
    assert "版权所有" not in loaded.text


def test_html_falls_back_to_body_text_when_trafilatura_finds_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loaders.trafilatura, "extract", lambda *args, **kwargs: None)

    loaded = load_bytes(ARTICLE_HTML.replace("</article>", "<table><tr><td>常德</td><td>13</td></tr>"
                                             "</table></article>").encode(), "page.html")

    lines = loaded.text.splitlines()
    assert lines[0] == "# 常德智能养老"
    assert "## 服务内容" in lines
    assert "常德 | 13" in lines
    for furniture in ("政策法规导航栏", "版权所有", "脚本里的文字", "color: red", "门户网站"):
        assert furniture not in loaded.text


def test_html_with_only_navigation_is_refused_as_empty() -> None:
    page = "<html><body><nav><a href='/'>首页</a></nav><script>x=1</script></body></html>"

    with pytest.raises(LoadError, match="empty"):
        load_bytes(page.encode(), "nav.html")


# ------------------------------------------------------------------------------------------
# PDF
# ------------------------------------------------------------------------------------------


def test_pdf_gives_its_text_pages_in_order(tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(make_pdf([["Digital public services", "13 smart elderly-care stations"],
                               ["Second page text"]]))

    loaded = load_file(path)

    assert loaded.source_format == "pdf"
    assert loaded.text.splitlines() == [
        "Digital public services",
        "13 smart elderly-care stations",
        "Second page text",
    ]


def test_pdf_running_headers_and_page_numbers_are_dropped() -> None:
    pages = [["Policy Bulletin 2024", f"Body of page {n}", f"Page {n}"] for n in (1, 2, 3)]

    text = load_bytes(make_pdf(pages), "bulletin.pdf").text

    assert text.splitlines() == ["Body of page 1", "Body of page 2", "Body of page 3"]


def test_pdf_with_a_user_password_is_refused_as_encrypted() -> None:
    encrypted = pypdf_rewrite(make_pdf([["Secret text"]]), user_password="secret")

    with pytest.raises(LoadError, match="encrypted PDF: remove the password"):
        load_bytes(encrypted, "locked.pdf")


def test_aes_encrypted_pdf_is_refused_as_encrypted() -> None:
    pdf = make_pdf([["Secret text"]])
    encrypted = pypdf_rewrite(pdf, user_password="secret", algorithm="AES-256")

    with pytest.raises(LoadError, match="encrypted PDF: remove the password"):
        load_bytes(encrypted, "locked.pdf")


def test_pdf_with_only_an_owner_password_opens() -> None:
    # Permission-only protection (no printing/copying) opens without a password in any viewer.
    restricted = pypdf_rewrite(make_pdf([["Open text"]]), user_password="", owner_password="boss")

    assert load_bytes(restricted, "restricted.pdf").text == "Open text"


def test_truncated_pdf_is_refused_as_damaged() -> None:
    pdf = make_pdf([["Some text"], ["More text"]])

    with pytest.raises(LoadError, match="damaged"):
        load_bytes(pdf[: len(pdf) // 2], "cut.pdf")


def test_not_a_pdf_is_refused_as_damaged() -> None:
    with pytest.raises(LoadError, match="damaged or not a PDF"):
        load_bytes("这不是PDF文件".encode(), "fake.pdf")


def test_pdf_with_garbage_objects_is_refused_as_damaged() -> None:
    garbage = b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 9 0 R >>\nendobj\n" + b"\xff" * 200
    garbage += b"\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

    with pytest.raises(LoadError, match="damaged"):
        load_bytes(garbage, "garbage.pdf")


def test_image_only_pdf_is_refused_saying_it_has_no_text_layer() -> None:
    writer = pypdf.PdfWriter()
    writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)

    with pytest.raises(LoadError, match="no text layer.*OCR"):
        load_bytes(buffer.getvalue(), "scan.pdf")


# ------------------------------------------------------------------------------------------
# DOCX
# ------------------------------------------------------------------------------------------


def test_docx_headings_become_markdown_lines_in_order_with_the_table(tmp_path: Path) -> None:
    path = tmp_path / "policy.docx"
    path.write_bytes(make_docx())

    loaded = load_file(path)

    assert loaded.text.splitlines() == [
        "# 智能养老服务",
        "常德市建立了13家线下智能养老服务站点。",
        "## 站点分布",
        "站点覆盖城区和乡镇。",
        "城市 | 站点数",
        "常德 | 13",
        "# 下一步",
        "推广数字技能培训。",
    ]
    assert loaded.title == "智能养老服务"
    assert loaded.source_format == "docx"


def test_docx_core_title_and_title_style_and_chinese_heading_style_names() -> None:
    document = docx.Document()
    document.core_properties.title = "关于推进数字养老的通知"
    document.add_heading("通知", level=0)  # the "Title" style
    chinese_heading = document.styles.add_style("标题 2", WD_STYLE_TYPE.PARAGRAPH)
    document.add_paragraph("一、工作目标", style=chinese_heading)
    document.add_paragraph("正文。")
    buffer = io.BytesIO()
    document.save(buffer)

    loaded = load_bytes(buffer.getvalue(), "notice.docx")

    assert loaded.text.splitlines() == ["# 通知", "## 一、工作目标", "正文。"]
    assert loaded.title == "关于推进数字养老的通知"


def test_docx_merged_table_cells_appear_once() -> None:
    document = docx.Document()
    table = document.add_table(rows=2, cols=3)
    merged = table.cell(0, 0).merge(table.cell(0, 2))
    merged.text = "合计"
    for column, value in enumerate(["1", "2", "3"]):
        table.cell(1, column).text = value
    buffer = io.BytesIO()
    document.save(buffer)

    assert load_bytes(buffer.getvalue(), "t.docx").text.splitlines() == ["合计", "1 | 2 | 3"]


@pytest.mark.parametrize(
    "make_broken",
    [
        lambda good: good[: len(good) // 2],
        lambda good: b"just some text, not a zip",
        lambda good: _zip_without_document(),
    ],
    ids=["truncated", "not-a-zip", "zip-without-word-part"],
)
def test_broken_docx_is_refused_as_damaged(make_broken) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(LoadError, match="damaged or not a Word .docx file"):
        load_bytes(make_broken(make_docx()), "broken.docx")


def _zip_without_document() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("hello.txt", "hi")
    return buffer.getvalue()


def test_old_word_doc_is_refused_with_save_as_docx_advice() -> None:
    ole_header = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504

    with pytest.raises(LoadError, match=r"save it as \.docx"):
        load_bytes(ole_header, "old.doc")
    # The same bytes renamed to .docx (or a password-protected .docx) say what to do, too.
    with pytest.raises(LoadError, match=r"\.docx"):
        load_bytes(ole_header, "renamed.docx")


# ------------------------------------------------------------------------------------------
# Type, emptiness, files
# ------------------------------------------------------------------------------------------


def test_supported_suffixes_are_the_documented_ones() -> None:
    assert SUPPORTED_SUFFIXES == {".txt", ".md", ".markdown", ".html", ".htm", ".pdf", ".docx"}


def test_unsupported_suffix_is_refused_listing_the_supported_types() -> None:
    with pytest.raises(LoadError) as caught:
        load_bytes(b"PK\x03\x04whatever", "budget.xlsx")

    reason = caught.value.reason
    assert "unsupported file type '.xlsx'" in reason
    assert all(suffix in reason for suffix in SUPPORTED_SUFFIXES)
    assert isinstance(caught.value, InputError)


@pytest.mark.parametrize(("data", "name"), [(b"", "empty.txt"), (b" \r\n\t", "blank.md"),
                                            (b"", "empty.pdf"), (b"", "empty.docx")])
def test_empty_file_is_refused_as_empty(data: bytes, name: str) -> None:
    with pytest.raises(LoadError, match="the file is empty"):
        load_bytes(data, name)


def test_missing_file_is_reported_with_its_path(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.txt"

    with pytest.raises(LoadError, match="file not found") as caught:
        load_file(missing)
    assert str(missing) in str(caught.value)


def test_undecodable_text_asks_for_utf8() -> None:
    # Bytes undefined in UTF-8, GB18030, Big5 and the Windows code pages; no NULs, so not binary.
    with pytest.raises(LoadError, match="save the file as UTF-8"):
        decode_text(b"\x81\x8d\x8f\x90\x9d" * 10 + b"\xff\xfe\xfd" * 10, name="odd.txt")


def test_every_reason_is_one_short_line() -> None:
    broken: list[tuple[bytes, str]] = [
        (b"", "a.txt"),
        (b"x", "a.xlsx"),
        (b"x", "a.doc"),
        (bytes(range(256)), "a.txt"),
        (b"x", "a.pdf"),
        (b"x", "a.docx"),
    ]
    for data, name in broken:
        with pytest.raises(LoadError) as caught:
            load_bytes(data, name)
        assert "\n" not in caught.value.reason
        assert len(caught.value.reason) <= 120, caught.value.reason


def test_shift_jis_is_not_mistaken_for_chinese() -> None:
    # Shift-JIS bytes decode as GB18030 without error, into rare characters.
    japanese = "日本語のテキストです。東京都の行政サービスについて説明します。"

    assert decode_text(japanese.encode("shift_jis")) == japanese


def test_traditional_text_saved_as_gb18030_reads_back() -> None:
    assert decode_text(TRADITIONAL.encode("gb18030")) == TRADITIONAL
