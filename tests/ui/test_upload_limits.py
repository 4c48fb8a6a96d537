"""The document limits over real HTTP: a hostile upload is refused with 422 in seconds, with
the reason naming the limit's setting, and the server goes on answering."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from tests.conftest import make_settings
from tests.ingest.test_limits import million_paragraphs_docx
from tests.ui.conftest import ADMIN_TOKEN, LiveServer, serve

AUTH = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
DOCX_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


@pytest.fixture(scope="module")
def upload_server(live: list[LiveServer], tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> LiveServer:
    """An admin-enabled server over a one-document corpus, so it is ready in seconds."""
    corpus = tmp_path_factory.mktemp("one-doc-corpus")
    (corpus / "notice.txt").write_text("常德市建立了13家线下智能养老服务站点。\n", encoding="utf-8")
    (corpus / "manifest.toml").write_text(
        '[[document]]\nid = "notice"\npath = "notice.txt"\ntitle = "常德智能养老通知"\nkind = "policy"\n',
        encoding="utf-8",
    )
    settings = make_settings(tmp_path_factory.mktemp("limits-home"), cache_dir,
                             server={"admin_token": SecretStr(ADMIN_TOKEN)})
    server = serve(live, settings.model_copy(update={"corpus_dir": corpus}))
    server.wait_ready(timeout=300)
    return server


@pytest.mark.timeout(240)
def test_upload_of_a_1_8_million_paragraph_docx_is_refused_in_seconds_and_the_server_answers_on(
    upload_server: LiveServer,
) -> None:
    upload = million_paragraphs_docx()  # 260 KB, far under the upload size limit

    # A client timeout, so the old behaviour (over 11 minutes of CPU) fails instead of hanging.
    with httpx.Client(base_url=upload_server.url, timeout=60) as client:
        started = time.monotonic()
        r = client.post("/api/admin/documents", headers=AUTH, files={"file": ("big.docx", upload, DOCX_TYPE)})
        took = time.monotonic() - started

        assert r.status_code == 422, r.text
        assert r.json()["error"] == (
            "big.docx: more than the 200,000-paragraph limit (POLICY_QA_INGEST_MAX_PARAGRAPHS); "
            "split the document or raise the limit"
        )
        assert took < 20  # about 1.5 s of CPU; the rest is a busy shared machine

        started = time.monotonic()
        assert client.get("/healthz").status_code == 200
        assert time.monotonic() - started < 1
        # Nothing of the refused file was kept.
        listed = client.get("/api/admin/documents", headers=AUTH).json()["documents"]
    assert [d["doc_id"] for d in listed] == ["notice"]
    uploads = upload_server.app.state.server.settings.home / "uploads"
    assert not uploads.exists() or not any(p.suffix == ".docx" for p in uploads.iterdir())
