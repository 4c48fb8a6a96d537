"""The display name of an uploaded file: what officials read, with nothing hidden in it."""

from __future__ import annotations

import pytest

from rag.text.filenames import MAX_NAME_CHARS, UNNAMED, safe_filename


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("..\\..\\..\\PWNED3.txt", "PWNED3.txt"),
        ("../../etc/passwd.md", "passwd.md"),
        ("C:\\Users\\张三\\Desktop\\报告.docx", "报告.docx"),
        ("a\x00b.txt", "ab.txt"),
        ("\u202etxt.exe.md", "txt.exe.md"),  # displayed as «md.exe.txt» before
        ("数据\u2066安全\u2069法\u200b.pdf", "数据安全法.pdf"),
        ("\x85\x9f\x1b[31m红色.html", "[31m红色.html"),
        ("报告\t2024\n终稿.txt", "报告 2024 终稿.txt"),
        ("e\u0301tude.md", "\u00e9tude.md"),  # NFC: one character, as typed on another system
        (" .. 通知.docx. ", "通知.docx"),
        ("关于印发《数字政府》的通知 (2).docx", "关于印发《数字政府》的通知 (2).docx"),
        ("", UNNAMED),
        (".md", f"{UNNAMED}.md"),
        ("\u202e\u200b..txt", f"{UNNAMED}.txt"),
        ("../", UNNAMED),
    ],
)
def test_the_name_shown_has_no_path_control_or_invisible_characters(raw: str, shown: str) -> None:
    assert safe_filename(raw) == shown


def test_a_long_name_is_cut_but_keeps_its_file_type() -> None:
    name = safe_filename("政务" * 200 + ".pdf")
    assert len(name) == MAX_NAME_CHARS and name.endswith("政务.pdf")


def test_a_safe_name_stays_as_it_is() -> None:
    for raw in ("..\\..\\..\\PWNED3.txt", "\u202etxt.exe.md", "数字政府.docx"):
        assert safe_filename(safe_filename(raw)) == safe_filename(raw)
