"""What a reliability and security probe of a running server found (issue 13), each
reproduced against a real uvicorn server on loopback: bodies too large or sent without a
token, Gradio's upload route, long histories, overload, a hung LLM, departed clients,
invalid Unicode, missing security headers and plain-text errors."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from rag.config import Settings
from rag.pipeline import Pipeline
from tests.conftest import make_settings
from tests.fakes.openai_server import FakeOpenAIServer, fake_llm, openai_server, slow, text, trickle  # noqa: F401
from tests.ui.conftest import ADMIN_TOKEN, LiveServer, serve

QUESTION = "常德建了多少家线下智能养老服务站点？"


@pytest.fixture(scope="module")
def guarded(live: list[LiveServer], bundled: Pipeline, cache_dir: Path) -> LiveServer:
    """The bundled index with an admin token and a small body limit."""
    settings = make_settings(bundled.settings.home, cache_dir,
                             server={"admin_token": SecretStr(ADMIN_TOKEN), "max_body_kb": 64, "max_upload_mb": 1})
    return serve(live, settings, bundled)


def raw_request(url: str, head: str, chunks: list[bytes], read_timeout: float = 10) -> tuple[int, bytes, int]:
    """Send a chunked HTTP/1.1 request by hand and return (status, response bytes, chunks
    sent before the response came). Stops sending as soon as a response arrives."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.create_connection((host, int(port)), timeout=read_timeout)
    sock.sendall(head.encode() + b"Transfer-Encoding: chunked\r\n\r\n")
    sent = 0
    sock.setblocking(False)
    response = b""
    try:
        for c in chunks:
            try:
                response += sock.recv(65536)
            except BlockingIOError:
                pass
            if response:
                break
            try:
                sock.sendall(f"{len(c):X}\r\n".encode() + c + b"\r\n")
            except (BlockingIOError, BrokenPipeError, ConnectionResetError):
                break
            sent += 1
        else:
            try:
                sock.sendall(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
        sock.setblocking(True)
        sock.settimeout(read_timeout)
        deadline = time.monotonic() + read_timeout
        while b"\r\n\r\n" not in response and time.monotonic() < deadline:
            try:
                got = sock.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not got:
                break
            response += got
    finally:
        sock.close()
    status = int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/") else 0
    return status, response, sent


# ---- 2. unauthenticated resource exhaustion ------------------------------------------


def test_an_anonymous_chunked_upload_is_refused_before_its_body_is_read(guarded: LiveServer) -> None:
    head = ("POST /api/admin/documents HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Content-Type: multipart/form-data; boundary=xx\r\n")
    chunk = b"x" * (256 * 1024)
    status, response, sent = raw_request(guarded.url, head, [chunk] * 200, read_timeout=10)  # 50 MB offered
    assert status == 401, response[:300]
    assert b"admin token" in response
    assert sent < 40, f"{sent} chunks ({sent / 4:.0f} MB) were taken before the 401"


def test_a_chunked_question_body_over_the_limit_gets_413(guarded: LiveServer) -> None:
    head = "POST /api/ask HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
    body = json.dumps({"question": QUESTION, "history": [{"role": "user", "content": "长" * 5000}] * 20}).encode()
    chunks = [body[i : i + 16384] for i in range(0, len(body), 16384)]
    status, response, _ = raw_request(guarded.url, head, chunks)
    assert status == 413, response[:300]
    assert b"POLICY_QA_SERVER_MAX_BODY_KB" in response


def test_a_body_declared_too_large_is_refused_with_the_setting_named(guarded: LiveServer) -> None:
    with guarded.client() as c:
        big = {"question": QUESTION, "history": [{"role": "user", "content": "问" * 1000}] * 100}
        r = c.post("/api/ask", json=big)
        assert r.status_code == 413
        assert "POLICY_QA_SERVER_MAX_BODY_KB" in r.json()["error"]
        r = c.post("/v1/chat/completions", json={"model": "policy-qa", "messages": [{"role": "user", "content": "问" * 70_000}]})
        assert r.status_code == 413
        assert "MAX_BODY_KB" in r.json()["error"]["message"]  # the OpenAI error shape


def test_gradio_takes_no_file_uploads(guarded: LiveServer) -> None:
    with guarded.client() as c:
        r = c.post("/gradio_api/upload", files={"files": ("a.txt", b"x" * 100_000, "text/plain")})
        assert r.status_code == 403
        assert "/admin" in r.json()["error"]


def test_too_many_earlier_turns_are_refused_in_words(guarded: LiveServer) -> None:
    history = [{"role": "user" if i % 2 == 0 else "assistant", "content": "好的"} for i in range(60)]
    with guarded.client() as c:
        r = c.post("/api/ask", json={"question": QUESTION, "history": history})
    assert r.status_code == 400
    assert "POLICY_QA_SERVER_MAX_HISTORY_TURNS" in r.json()["error"]


# ---- 5. a lone surrogate --------------------------------------------------------------


def test_a_lone_surrogate_is_repaired_not_a_500(guarded: LiveServer) -> None:
    raw = '{"question": "常德建了多少家\\ud800线下智能养老服务站点？"}'
    with guarded.client() as c:
        r = c.post("/api/ask", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 200, r.text[:200]
        assert "13家" in r.json()["answer"]
        stream_body = raw[:-1] + ', "stream": true}'
        with c.stream("POST", "/api/ask", content=stream_body, headers={"Content-Type": "application/json"}) as s:
            events = [ln.removeprefix("event: ") for ln in s.iter_lines() if ln.startswith("event: ")]
    assert events[-1] == "answer", events


# ---- 9. headers and one error shape -----------------------------------------------------


def test_every_response_says_nosniff_and_errors_are_json(guarded: LiveServer) -> None:
    with guarded.client() as c:
        for r in (c.get("/healthz"), c.get("/"), c.get("/no-such-page"), c.post("/api/ask", json={"question": ""})):
            assert r.headers.get("x-content-type-options") == "nosniff", r.url
        r = c.get("/api/no-such-route")
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/json")
        assert "error" in r.json()


def test_an_unexpected_failure_is_json_with_a_reference(live: list[LiveServer], bundled: Pipeline, cache_dir: Path,
                                                        tmp_path: Path) -> None:
    # A real fault: the feedback database path is a folder, so SQLite cannot open it.
    home = tmp_path / "home"
    (home / "feedback.sqlite").mkdir(parents=True)
    server = serve(live, make_settings(home, cache_dir), bundled)
    with server.client() as c:
        r = c.post("/api/feedback", json={"question": "q", "answer": "a", "rating": "up"})
    assert r.status_code == 500
    assert r.headers["content-type"].startswith("application/json")
    assert "reference" in r.json()["error"]
    assert "Traceback" not in r.text


# ---- 4. overload, health, the LLM breaker, departed clients -------------------------------


def llm_settings(bundled: Pipeline, cache_dir: Path, fake: FakeOpenAIServer, timeout_s: float) -> Settings:
    """LLM mode over the fake endpoint; one answer at a time, one waiting."""
    return make_settings(
        bundled.settings.home, cache_dir,
        llm={"base_url": fake.base_url, "timeout_s": timeout_s, "max_retries": 0, "breaker_failures": 3,
             "breaker_cooldown_s": 60},
        answer={"mode": "llm"},
        server={"max_concurrent": 1, "max_queue": 1, "queue_timeout_s": 20},
    )


@pytest.fixture
def llm_server(live: list[LiveServer], bundled: Pipeline, cache_dir: Path, fake_llm: FakeOpenAIServer) -> LiveServer:
    settings = llm_settings(bundled, cache_dir, fake_llm, timeout_s=1.5)
    return serve(live, settings, Pipeline(settings, index=bundled.index))


@pytest.fixture
def patient_llm_server(live: list[LiveServer], bundled: Pipeline, cache_dir: Path,
                       fake_llm: FakeOpenAIServer) -> LiveServer:
    """As `llm_server`, with a model deadline far beyond any client's patience."""
    settings = llm_settings(bundled, cache_dir, fake_llm, timeout_s=30)
    return serve(live, settings, Pipeline(settings, index=bundled.index))


def test_overload_is_shed_with_retry_after_and_health_stays_fast(llm_server: LiveServer,
                                                                  fake_llm: FakeOpenAIServer) -> None:
    for _ in range(3):
        fake_llm.push(trickle("常德建成13家线下智能养老服务站点[1]。", interval_s=0.05))
    statuses: list[int] = []
    retry: list[str] = []

    def ask() -> None:
        with llm_server.client() as c:
            r = c.post("/api/ask", json={"question": QUESTION})
            statuses.append(r.status_code)
            retry.append(r.headers.get("retry-after", ""))

    threads = [threading.Thread(target=ask) for _ in range(4)]
    for t in threads:
        t.start()
        time.sleep(0.05)
    worst = 0.0
    with llm_server.client() as c:
        while any(t.is_alive() for t in threads):
            t0 = time.monotonic()
            assert c.get("/healthz").status_code == 200
            worst = max(worst, time.monotonic() - t0)
            time.sleep(0.05)
    for t in threads:
        t.join()
    assert 503 in statuses and 200 in statuses, statuses
    assert all(r.isdigit() for r, s in zip(retry, statuses) if s == 503)
    assert worst < 0.5, f"/healthz took {worst:.2f} s while answers ran"


def test_a_hung_llm_opens_the_breaker_and_answers_come_at_once(llm_server: LiveServer,
                                                               fake_llm: FakeOpenAIServer) -> None:
    fake_llm.default = slow(30)  # a hung endpoint: says nothing within the 1.5 s timeout
    with llm_server.client() as c:
        for _ in range(3):
            r = c.post("/api/ask", json={"question": QUESTION})
            assert r.status_code == 200 and "13" in r.json()["answer"]
        asked = len(fake_llm.requests)
        t0 = time.monotonic()
        r = c.post("/api/ask", json={"question": QUESTION})
        took = time.monotonic() - t0
    assert took < 1.0, f"the fourth answer still waited {took:.1f} s for a hung LLM"
    assert len(fake_llm.requests) == asked, "the open breaker still called the endpoint"
    assert "3 times in a row" in r.json()["status"]
    assert "13" in r.json()["answer"]


def test_a_departed_clients_answer_stops(patient_llm_server: LiveServer, fake_llm: FakeOpenAIServer) -> None:
    llm_server = patient_llm_server
    long_answer = "常德建成13家线下智能养老服务站点[1]。" * 4
    fake_llm.push(trickle(long_answer, interval_s=0.15))  # about 12 s to stream in full
    # The client gives up after 1.5 s (a closed tab, a proxy timeout).
    with pytest.raises(httpx.ReadTimeout), httpx.Client(base_url=llm_server.url, timeout=1.5) as c:
        c.post("/api/ask", json={"question": QUESTION})
    deadline = time.monotonic() + 3
    while fake_llm.hangups == 0 and time.monotonic() < deadline:
        time.sleep(0.1)
    assert fake_llm.hangups == 1, "the model's answer was still being read for a client that had gone"
    fake_llm.push(text("常德建成13家线下智能养老服务站点[1]。"))
    t0 = time.monotonic()
    with llm_server.client() as c:
        r = c.post("/api/ask", json={"question": QUESTION})
    assert r.status_code == 200
    assert time.monotonic() - t0 < 4, "the next question waited for the departed client's work"
