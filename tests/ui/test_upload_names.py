"""Uploaded file names as a crafted request sends them, through the real admin API on loopback:
officials see a plain name in titles, ids and messages — no path, control or bidi characters."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from rag.ingest.manifest import read_manifest
from rag.pipeline import Pipeline
from tests.conftest import make_settings
from tests.ui.conftest import ADMIN_TOKEN, LiveServer, serve

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
UNNAMED = "未命名文件"  # what a name with nothing readable left is shown as
BOUNDARY = "policy-qa-test-boundary-5f2c"


@pytest.fixture(scope="module")
def names_server(live: list[LiveServer], bundled: Pipeline, tmp_path_factory: pytest.TempPathFactory,
                 cache_dir: Path) -> LiveServer:
    """An admin-enabled server on its own home (``bundled`` only warms the embedding cache)."""
    settings = make_settings(tmp_path_factory.mktemp("names-home"), cache_dir,
                             server={"admin_token": SecretStr(ADMIN_TOKEN), "max_upload_mb": 1})
    server = serve(live, settings)
    server.wait_ready()
    return server


def upload(server: LiveServer, filename: str, data: bytes) -> httpx.Response:
    """POST the multipart body as bytes, so the file name arrives exactly as given (a
    client library would percent-escape the NUL and double the backslashes)."""
    body = (f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
            f"Content-Type: application/octet-stream\r\n\r\n").encode() + data + f"\r\n--{BOUNDARY}--\r\n".encode()
    with server.client() as c:
        return c.post("/api/admin/documents", content=body,
                      headers={**AUTH, "Content-Type": f"multipart/form-data; boundary={BOUNDARY}"})


def plain(text: str) -> bool:
    """No path separator, and nothing a reader cannot see (control, format, bidi)."""
    return "\\" not in text and "/" not in text and all(unicodedata.category(ch)[0] != "C" for ch in text)


@pytest.mark.parametrize(
    ("filename", "content", "title", "id_stem"),
    [
        ("..\\..\\..\\PWNED3.txt", "桃源县建成27个便民服务驿站。", "PWNED3", "PWNED3-"),
        ("a\x00b.txt", "常德市建成13家养老服务站点。", "ab", "ab-"),
        ("\u202etxt.exe.md", "株洲市开展网络直播招聘。\n", "txt.exe", "txt-exe-"),
        ("\u202e\u200b..md", "澧县建成数字乡村服务点。\n", UNNAMED, "upload-"),
    ],
)
def test_an_uploaded_file_is_listed_under_a_plain_name(
    names_server: LiveServer, filename: str, content: str, title: str, id_stem: str
) -> None:
    r = upload(names_server, filename, content.encode())

    assert r.status_code == 201, r.text
    doc = r.json()["document"]
    assert doc["title"] == title and doc["id"].startswith(id_stem) and plain(doc["id"])
    with names_server.client() as c:
        listed = {d["doc_id"]: d for d in c.get("/api/admin/documents", headers=AUTH).json()["documents"]}
    assert listed[doc["id"]]["title"] == title
    home = names_server.app.state.server.settings.home
    entry = next(e for e in read_manifest(home / "uploads" / "manifest.toml") if e.meta.doc_id == doc["id"])
    assert entry.meta.title == title and entry.path.parent == home / "uploads"
    assert not [p for p in home.rglob("*PWNED*") if home / "uploads" not in p.parents]


@pytest.mark.parametrize(
    ("filename", "data", "status", "shown"),
    [
        ("..\\..\\evil\u202egpj.exe", b"MZ\x90\x00" + bytes(100), 415, "evilgpj.exe: unsupported file type '.exe'"),
        ("C:\\tmp\\a\x00\x1bb.pdf", b"not a pdf at all" * 20, 422, "ab.pdf: "),
    ],
)
def test_a_refusal_names_the_file_plainly(
    names_server: LiveServer, filename: str, data: bytes, status: int, shown: str
) -> None:
    r = upload(names_server, filename, data)

    assert r.status_code == status
    error = r.json()["error"]
    assert error.startswith(shown) and plain(error.split(":")[0])
