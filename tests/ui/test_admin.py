"""Corpus management over real HTTP: tokens, uploads that become answerable, refusals, jobs."""

from __future__ import annotations

import io
import time
from pathlib import Path

import docx
import pypdf
import pytest
from pydantic import SecretStr

from rag.ingest.manifest import read_manifest
from rag.pipeline import Pipeline
from tests.conftest import make_settings
from tests.ui.conftest import ADMIN_TOKEN, LiveServer, serve

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
FACT_QUESTION = "桃源县建成了多少个数字乡村便民服务驿站？"


@pytest.fixture(scope="module")
def admin_server(live: list[LiveServer], bundled: Pipeline, tmp_path_factory: pytest.TempPathFactory,
                 cache_dir: Path) -> LiveServer:
    """A server on a fresh, empty home: it builds the bundled index itself at startup
    (``bundled`` only warms the shared embedding cache)."""
    home = tmp_path_factory.mktemp("admin-home")
    settings = make_settings(home, cache_dir, server={"admin_token": SecretStr(ADMIN_TOKEN), "max_upload_mb": 1})
    server = serve(live, settings)
    with server.client() as c:
        assert c.get("/healthz").status_code == 200  # up at once, while the index is being built
    server.wait_ready()
    return server


def make_docx() -> bytes:
    d = docx.Document()
    d.add_heading("桃源县数字乡村建设情况通报", level=1)
    d.add_heading("一、便民服务驿站", level=2)
    d.add_paragraph(
        "2024年，桃源县建成了27个数字乡村便民服务驿站，村民在驿站即可办理社保认证和医保缴费。"
    )
    d.add_heading("二、下一步工作", level=2)
    d.add_paragraph("继续推进驿站与政务服务网的对接，培训驿站工作人员。")
    buf = io.BytesIO()
    d.save(buf)
    return buf.getvalue()


def encrypted_pdf() -> bytes:
    w = pypdf.PdfWriter()
    w.add_blank_page(200, 200)
    w.encrypt(user_password="secret")
    buf = io.BytesIO()
    w.write(buf)
    return buf.getvalue()


def documents(server: LiveServer) -> list[dict]:
    with server.client() as c:
        r = c.get("/api/admin/documents", headers=AUTH)
    assert r.status_code == 200
    return r.json()["documents"]


def ask(server: LiveServer, question: str) -> dict:
    with server.client() as c:
        r = c.post("/api/ask", json={"question": question})
    assert r.status_code == 200
    return r.json()


@pytest.mark.parametrize("headers", [{}, {"Authorization": "Bearer wrong"}, {"Authorization": ADMIN_TOKEN}])
def test_admin_endpoints_refuse_a_missing_or_wrong_token(admin_server: LiveServer, headers: dict) -> None:
    with admin_server.client() as c:
        responses = [
            c.get("/api/admin/documents", headers=headers),
            c.post("/api/admin/documents", headers=headers, files={"file": ("a.txt", b"text")}),
            c.delete("/api/admin/documents/digital-tech-urban-public-services", headers=headers),
            c.post("/api/admin/reindex", headers=headers),
            c.get("/api/admin/jobs/nope", headers=headers),
        ]
    for r in responses:
        assert r.status_code == 401 and "admin token" in r.json()["error"]
    assert any(d["doc_id"] == "digital-tech-urban-public-services" for d in documents(admin_server))


def test_uploaded_docx_becomes_answerable_and_deleting_it_forgets_it(admin_server: LiveServer) -> None:
    assert "27" not in ask(admin_server, FACT_QUESTION)["answer"]
    upload = make_docx()

    with admin_server.client() as c:
        r = c.post(
            "/api/admin/documents", headers=AUTH,
            files={"file": ("桃源县通报.docx", upload,
                            "application/vnd.openxmlformats-officedocument.wordprocessingml.document")},
            data={"kind": "report", "issuer": "桃源县数据局", "date": "2024-06", "cities": "常德, 桃源",
                  "domains": "治理", "doc_number": "桃数发〔2024〕3号"},
        )
    assert r.status_code == 201, r.text
    doc = r.json()["document"]
    assert doc["title"] == "桃源县数字乡村建设情况通报"  # from the file, since none was given
    assert doc["id"] in r.json()["report"]["added"]

    # Answerable at once, with a citation into the uploaded document: no restart.
    body = ask(admin_server, FACT_QUESTION)
    assert "27个" in body["answer"]
    assert body["citations"][0]["doc_id"] == doc["id"]
    listed = {d["doc_id"]: d for d in documents(admin_server)}
    assert listed[doc["id"]]["chunks"] >= 1 and listed[doc["id"]]["issuer"] == "桃源县数据局"
    assert listed[doc["id"]]["uploaded"] is True

    # The uploads folder reproduces it: file + manifest entry with the metadata.
    uploads = admin_server.app.state.server.settings.home / "uploads"
    (entry,) = read_manifest(uploads / "manifest.toml")
    assert entry.meta.doc_id == doc["id"] and entry.path.read_bytes() == upload
    assert entry.meta.cities == ("常德", "桃源") and entry.meta.doc_number == "桃数发〔2024〕3号"
    assert entry.meta.kind == "report" and entry.meta.date == "2024-06"

    with admin_server.client() as c:
        gone = c.delete(f"/api/admin/documents/{doc['id']}", headers=AUTH)
        again = c.delete(f"/api/admin/documents/{doc['id']}", headers=AUTH)
    assert gone.status_code == 200 and again.status_code == 404
    assert doc["id"] not in {d["doc_id"] for d in documents(admin_server)}
    assert read_manifest(uploads / "manifest.toml") == [] and not entry.path.exists()
    assert "27个" not in ask(admin_server, FACT_QUESTION)["answer"]


@pytest.mark.parametrize(
    ("name", "data", "status", "needle"),
    [
        ("report.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + bytes(2000), 422, "not a PDF"),
        ("locked.pdf", encrypted_pdf(), 422, "encrypted PDF"),
        ("setup.exe", b"MZ\x90\x00" + bytes(100), 415, "unsupported file type '.exe'"),
        ("notes.txt", b"\x7fELF\x02\x01\x01" + bytes(500), 422, "not a text file"),
        ("empty.md", b"", 422, "empty"),
        # Refused from Content-Length before the body is read, and (just over) by the route.
        ("big.txt", "数字公共服务。".encode() * 60_000, 413, "1 MB limit"),
        ("big2.txt", b"a" * (1024 * 1024 + 1000), 413, "big2.txt: larger than the 1 MB limit"),
    ],
)
def test_bad_uploads_are_refused_and_change_nothing(
    admin_server: LiveServer, name: str, data: bytes, status: int, needle: str
) -> None:
    before = documents(admin_server)
    uploads = admin_server.app.state.server.settings.home / "uploads"
    files_before = sorted(p.name for p in uploads.glob("*")) if uploads.exists() else []

    with admin_server.client() as c:
        r = c.post("/api/admin/documents", headers=AUTH, files={"file": (name, data)})

    assert r.status_code == status
    error = r.json()["error"]
    assert needle in error and "\n" not in error
    assert documents(admin_server) == before
    assert (sorted(p.name for p in uploads.glob("*")) if uploads.exists() else []) == files_before
    assert "13家" in ask(admin_server, "常德建了多少家线下智能养老服务站点？")["answer"]


def test_unknown_kind_is_refused(admin_server: LiveServer) -> None:
    with admin_server.client() as c:
        r = c.post("/api/admin/documents", headers=AUTH, files={"file": ("a.txt", "一段文字。".encode())},
                   data={"kind": "memo"})
    assert r.status_code == 422 and "kind" in r.json()["error"]


def test_reindex_runs_as_a_job_while_the_chat_keeps_answering(admin_server: LiveServer) -> None:
    with admin_server.client() as c:
        started = c.post("/api/admin/reindex", headers=AUTH)
        assert started.status_code == 202
        job_id = started.json()["id"]
        # The chat answers meanwhile, from whatever index state is current.
        during = c.post("/api/ask", json={"question": "常德建了多少家线下智能养老服务站点？"})
        assert "13家" in during.json()["answer"]
        deadline = time.monotonic() + 300
        while (job := c.get(f"/api/admin/jobs/{job_id}", headers=AUTH).json())["state"] not in ("done", "failed"):
            assert time.monotonic() < deadline
            time.sleep(0.2)
        missing = c.get("/api/admin/jobs/nope", headers=AUTH)

    assert job["state"] == "done", job
    assert job["done"] == job["total"] and job["report"]["chunks"] > 0
    assert "digital-tech-urban-public-services" in job["report"]["unchanged"]
    # Each document's own state, for the corpus page's bar per document.
    assert job["documents"]["digital-tech-urban-public-services"] == "unchanged"
    assert set(job["documents"].values()) <= {"unchanged", "indexed", "withdrawn", "failed"}
    assert missing.status_code == 404


def test_admin_routes_are_documented(admin_server: LiveServer) -> None:
    with admin_server.client() as c:
        paths = c.get("/openapi.json").json()["paths"]
    assert {"/api/admin/documents", "/api/admin/documents/{doc_id}", "/api/admin/reindex",
            "/api/admin/documents/{doc_id}/restore",
            "/api/admin/jobs/{job_id}"} <= set(paths)


def _wait_job(c, job_id: str) -> dict:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + 300
    while (job := c.get(f"/api/admin/jobs/{job_id}", headers=AUTH).json())["state"] not in ("done", "failed"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    return job


def test_a_deleted_bundled_document_stays_deleted_through_reindex_until_restored(admin_server: LiveServer) -> None:
    # Last in this module: it takes the bundled paper away for a while, and puts it back.
    paper = "digital-tech-urban-public-services"
    question = "常德建了多少家线下智能养老服务站点？"
    with admin_server.client() as c:
        assert c.delete(f"/api/admin/documents/{paper}", headers=AUTH).status_code == 200
        listing = c.get("/api/admin/documents", headers=AUTH).json()
        assert paper not in {d["doc_id"] for d in listing["documents"]}
        assert [w["doc_id"] for w in listing["withdrawn"]] == [paper] and listing["withdrawn"][0]["title"]
        assert "13家" not in ask(admin_server, question)["answer"]

        # A re-index (e.g. after an upgrade) does not bring the withdrawn paper back.
        job = _wait_job(c, c.post("/api/admin/reindex", headers=AUTH).json()["id"])
        assert job["state"] == "done" and paper in job["report"]["withdrawn"]
        assert "13家" not in ask(admin_server, question)["answer"]

        restored = c.post(f"/api/admin/documents/{paper}/restore", headers=AUTH)
        assert restored.status_code == 202
        job = _wait_job(c, restored.json()["id"])
        assert job["state"] == "done" and paper in job["report"]["added"]
        assert c.get("/api/admin/documents", headers=AUTH).json()["withdrawn"] == []
        again = c.post(f"/api/admin/documents/{paper}/restore", headers=AUTH)
        assert again.status_code == 404 and "not a withdrawn document" in again.json()["error"]
    assert "13家" in ask(admin_server, question)["answer"]
