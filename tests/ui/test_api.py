"""The HTTP API over real uvicorn on loopback: ask (JSON, SSE), OpenAI client, health, headers."""

from __future__ import annotations

import json
import re
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from openai import BadRequestError, OpenAI

from rag.pipeline import Pipeline
from rag.retrieve import Filters
from tests.conftest import REPO, make_settings
from tests.fakes.openai_server import FakeOpenAIServer, fake_llm, invalid_json, openai_server, text  # noqa: F401
from tests.ui.conftest import PORTAL, LiveServer, free_port, serve
from ui.api import REFERENCES_HEADING

QUESTION = "常德建了多少家线下智能养老服务站点？"


def parse_sse(text: str) -> list[tuple[str, dict]]:
    """(event, data) pairs of an SSE body."""
    out = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line)
        out.append((fields.get("event", "message"), json.loads(fields["data"])))
    return out


def assert_exact_citations(citations: list[dict], pipe: Pipeline) -> None:
    assert citations
    for c in citations:
        doc = pipe.index.docs.document(c["doc_id"])
        assert doc is not None
        assert c["quote"] == doc.text[c["start"] : c["end"]]


# ---- /api/ask ------------------------------------------------------------------------


def test_ask_answers_with_exact_citations(api_server: LiveServer, bundled: Pipeline) -> None:
    with api_server.client() as c:
        r = c.post("/api/ask", json={"question": QUESTION})

    assert r.status_code == 200
    body = r.json()
    assert "13家" in body["answer"]
    assert body["refused"] is False and body["mode"] == "extractive"
    assert_exact_citations(body["citations"], bundled)
    assert body["passages"] and {"chunk_id", "doc_id", "title", "section", "text", "score"} <= set(body["passages"][0])


def test_a_refusal_says_why_in_the_json_and_in_chat_completions(api_server: LiveServer) -> None:
    question = "上海的房价是多少？"
    with api_server.client() as c:
        body = c.post("/api/ask", json={"question": question}).json()
        chat = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": question}]}).json()
    assert body["refused"] is True and body["direct"] == "" and body["citations"] == []
    assert body["reason"] == {"check": "focus", "term": "房价", "message": "资料中没有关于上海房价的内容。"}
    assert body["answer"].startswith(body["reason"]["message"])
    assert chat["choices"][0]["message"]["content"].startswith("资料中没有关于上海房价的内容。")


def test_ask_cites_laws_by_article_in_json_and_in_chat_completions(api_server: LiveServer) -> None:
    question = "处理不满十四周岁未成年人个人信息需要谁同意？"
    with api_server.client() as c:
        body = c.post("/api/ask", json={"question": question}).json()
        chat = c.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": question}]}).json()
    first = body["citations"][0]
    assert first["locator"].startswith("《中华人民共和国个人信息保护法》第三十一条") and first["legal_level"] == "法律"
    assert body["passages"][0]["locator"] == "《中华人民共和国个人信息保护法》第三十一条"
    content = chat["choices"][0]["message"]["content"]
    assert "[1] 《中华人民共和国个人信息保护法》第三十一条" in content
    assert chat["citations"][0]["locator"] == first["locator"]


def test_ask_streams_events_in_pipeline_order(api_server: LiveServer, bundled: Pipeline) -> None:
    with api_server.client() as c:
        r = c.post("/api/ask", json={"question": QUESTION, "stream": True})

    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(r.text)
    kinds = [k for k, _ in events]
    assert kinds[0] == "status" and kinds[-1] == "answer"
    assert kinds.index("passages") < kinds.index("token") < kinds.index("answer")
    assert all(data["type"] == kind for kind, data in events)
    final = events[-1][1]
    tokens = "".join(d["text"] for k, d in events if k == "token")
    assert tokens == final["answer"] and "13家" in tokens
    assert_exact_citations(final["citations"], bundled)


def test_follow_up_uses_history(api_server: LiveServer) -> None:
    history = [{"role": "user", "content": QUESTION}, {"role": "assistant", "content": "常德建立了13家。"}]
    with api_server.client() as c:
        r = c.post("/api/ask", json={"question": "那株洲呢？", "history": history})

    assert r.status_code == 200
    assert "株洲" in r.json()["question"]


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"question": "   "}, "empty"),
        ({"question": "养老" * 2000}, "limit"),
        ({"question": QUESTION, "filters": {"planet": "Mars"}}, "unknown filter"),
        ({"history": []}, "question"),
        ({"question": QUESTION, "history": [{"role": "robot", "content": "x"}]}, "role"),
    ],
)
def test_bad_input_is_a_400_with_one_readable_line(api_server: LiveServer, body: dict, needle: str) -> None:
    with api_server.client() as c:
        r = c.post("/api/ask", json=body)

    assert r.status_code == 400
    error = r.json()["error"]
    assert needle in error and "\n" not in error


def test_bad_input_fails_before_a_stream_starts(api_server: LiveServer) -> None:
    with api_server.client() as c:
        r = c.post("/api/ask", json={"question": "", "stream": True})

    assert r.status_code == 400 and "empty" in r.json()["error"]


# ---- /v1/chat/completions through the official client --------------------------------


def openai_client(server: LiveServer) -> OpenAI:
    return OpenAI(base_url=f"{server.url}/v1", api_key="x", max_retries=0, timeout=120)


def test_openai_client_non_streaming(api_server: LiveServer, bundled: Pipeline) -> None:
    resp = openai_client(api_server).chat.completions.create(
        model="policy-qa", messages=[{"role": "system", "content": "be brief"}, {"role": "user", "content": QUESTION}]
    )

    assert resp.model == "policy-qa" and resp.object == "chat.completion"
    content = resp.choices[0].message.content or ""
    assert "13家" in content
    assert "参考资料：" in content and re.search(r"\[1\] .+「.+」", content)
    citations = (resp.model_extra or {})["citations"]
    assert_exact_citations(citations, bundled)
    assert f"「{citations[0]['quote']}」" in content


def test_openai_client_streaming(api_server: LiveServer) -> None:
    stream = openai_client(api_server).chat.completions.create(
        model="policy-qa", messages=[{"role": "user", "content": QUESTION}], stream=True
    )
    chunks = list(stream)

    content = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert "13家" in content and "参考资料：" in content
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["citations"]
    assert all(ch.object == "chat.completion.chunk" for ch in chunks)


def test_openai_stream_ends_with_done(api_server: LiveServer) -> None:
    with api_server.client() as c:
        r = c.post("/v1/chat/completions", json={"model": "policy-qa", "stream": True,
                                                 "messages": [{"role": "user", "content": QUESTION}]})

    assert r.text.rstrip().endswith("data: [DONE]")


def test_openai_client_multi_turn_and_errors(api_server: LiveServer) -> None:
    client = openai_client(api_server)
    resp = client.chat.completions.create(
        model="policy-qa",
        messages=[
            {"role": "user", "content": QUESTION},
            {"role": "assistant", "content": "常德建立了13家线下智能养老服务站点。"},
            {"role": "user", "content": "那株洲呢？"},
        ],
    )
    assert resp.choices[0].message.content

    with pytest.raises(BadRequestError, match="empty"):
        client.chat.completions.create(model="policy-qa", messages=[{"role": "user", "content": " "}])
    with pytest.raises(BadRequestError, match="last message"):
        client.chat.completions.create(model="policy-qa", messages=[{"role": "assistant", "content": "hi"}])


# ---- health, readiness --------------------------------------------------------------


def test_healthz_and_readyz_for_the_embedded_store(api_server: LiveServer) -> None:
    with api_server.client() as c:
        assert c.get("/healthz").json() == {"status": "ok"}
    # Until the start-up check and warm-up are done /readyz is 503 with a reason; then 200.
    ready = api_server.wait_ready(timeout=120)

    assert ready["ready"] is True and ready["chunks"] > 0
    assert [h["part"] for h in ready["health"]] == ["documents", "keywords", "vectors"]
    assert all(h["ok"] for h in ready["health"])


def test_readyz_names_an_unreachable_chroma_server(live: list[LiveServer], tmp_path: Path, cache_dir: Path) -> None:
    port = free_port()  # nothing listens there
    settings = make_settings(tmp_path / "home", cache_dir, chroma={"host": "127.0.0.1", "port": port, "timeout_s": 1})
    server = serve(live, settings)

    with server.client() as c:
        assert c.get("/healthz").status_code == 200  # the process is up even though the store is not
        r = c.get("/readyz", timeout=5)

    assert r.status_code == 503
    body = r.json()
    assert body["ready"] is False and f"127.0.0.1:{port}" in body["reason"]


# ---- embedding in portals ----------------------------------------------------------


def test_cors_and_frame_ancestors_for_the_configured_portal(api_server: LiveServer) -> None:
    with api_server.client() as c:
        pre = c.options("/api/ask", headers={"Origin": PORTAL, "Access-Control-Request-Method": "POST",
                                             "Access-Control-Request-Headers": "content-type"})
        r = c.get("/healthz", headers={"Origin": PORTAL})
        other = c.get("/healthz", headers={"Origin": "https://evil.example.com"})
        root = c.get("/")

    assert pre.status_code == 200 and pre.headers["access-control-allow-origin"] == PORTAL
    assert r.headers["access-control-allow-origin"] == PORTAL
    assert "access-control-allow-origin" not in other.headers
    for resp in (r, root):
        assert resp.headers["content-security-policy"] == f"frame-ancestors 'self' {PORTAL}"


def test_embed_script_is_served_and_the_example_portal_uses_it(api_server: LiveServer) -> None:
    with api_server.client() as c:
        r = c.get("/embed.js")
        root = c.get("/")

    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/javascript")
    assert "aria-label" in r.text and "Escape" in r.text and "iframe" in r.text
    assert not re.search(r"https?://", r.text.split("*/", 1)[1])  # no external resources
    portal = (REPO / "examples" / "portal.html").read_text(encoding="utf-8")
    assert re.search(r'<script src="[^"]+/embed\.js" defer></script>', portal)
    assert root.status_code == 200 and "text/html" in root.headers["content-type"]


def test_openapi_docs(api_server: LiveServer) -> None:
    with api_server.client() as c:
        assert c.get("/docs").status_code == 200
        paths = c.get("/openapi.json").json()["paths"]

    assert {"/api/ask", "/v1/chat/completions", "/api/feedback", "/healthz", "/readyz"} <= set(paths)


# ---- feedback ------------------------------------------------------------------------


def test_feedback_is_stored_redacted(api_server: LiveServer) -> None:
    question = "我的身份证号430702198503151239，手机138-1234-5678，能领养老补贴吗？"
    comment = "请打我电话+86 13912345678 或发邮件到 zhang.san@example.com，卡号6222021234567890128"
    with api_server.client() as c:
        r = c.post("/api/feedback", json={
            "question": question, "answer": "常德建了13家站点。", "rating": "down", "comment": comment,
            "mode": "extractive", "citations": [{"n": 1, "quote": "13家"}],
        })
        bad = c.post("/api/feedback", json={"question": "q", "answer": "a", "rating": "meh"})

    assert r.status_code == 200
    row_id = r.json()["id"]
    assert bad.status_code == 400 and "rating" in bad.json()["error"]
    db = sqlite3.connect(api_server.app.state.server.settings.home / "feedback.sqlite")
    row = db.execute("SELECT question, answer, comment, rating, citations, mode FROM feedback WHERE id=?",
                     (row_id,)).fetchone()
    db.close()
    stored = " ".join(str(x) for x in row)
    for secret in ("430702198503151239", "1381234", "13912345678", "zhang.san", "6222021234567890128"):
        assert secret not in stored
    assert row[0] == "我的身份证号〔身份证号〕，手机〔手机号〕，能领养老补贴吗？"
    assert "〔手机号〕" in row[2] and "〔邮箱〕" in row[2] and "〔银行卡号〕" in row[2]
    assert row[1] == "常德建了13家站点。" and row[3] == "down" and row[5] == "extractive"


def test_server_logs_no_question_text(api_server: LiveServer, caplog: pytest.LogCaptureFixture) -> None:
    secret = "常德建了多少家线下智能养老服务站点？ZZ-private-marker"
    with caplog.at_level("DEBUG"), api_server.client() as c:
        c.post("/api/ask", json={"question": secret})
        c.post("/api/feedback", json={"question": secret, "answer": "a", "rating": "up"})

    assert "ZZ-private-marker" not in caplog.text


def test_admin_api_is_disabled_without_a_token(api_server: LiveServer) -> None:
    with api_server.client() as c:
        r = c.get("/api/admin/documents", headers={"Authorization": "Bearer anything"})

    assert r.status_code == 404 and "disabled" in r.json()["error"]


def test_concurrent_users_all_get_answers(api_server: LiveServer) -> None:
    def one(_: int) -> tuple[int, str]:
        with api_server.client() as c:
            r = c.post("/api/ask", json={"question": QUESTION, "stream": _ % 2 == 1})
        return r.status_code, r.text

    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(one, range(6)))

    assert all(status == 200 and "13家" in text for status, text in results)


def test_streamed_and_plain_answers_agree(api_server: LiveServer) -> None:
    body = {"question": QUESTION}
    with api_server.client() as c:
        plain = c.post("/api/ask", json=body).json()
        with c.stream("POST", "/api/ask", json={**body, "stream": True}) as r:
            streamed = parse_sse(r.read().decode())[-1][1]

    assert plain["answer"] == streamed["answer"]
    assert plain["citations"] == streamed["citations"]


# ---- LLM mode, against a fake endpoint that speaks the OpenAI wire protocol ------------


@pytest.fixture
def llm_server(live: list[LiveServer], bundled: Pipeline, cache_dir: Path, fake_llm: FakeOpenAIServer) -> LiveServer:
    settings = make_settings(bundled.settings.home, cache_dir, answer={"mode": "llm"},
                             llm={"base_url": fake_llm.base_url, "timeout_s": 2.0, "max_retries": 0})
    return serve(live, settings, Pipeline(settings, index=bundled.index))


def source_number(pipe: Pipeline, needle: str) -> int:
    """The [n] the LLM prompt gives the passage holding ``needle``."""
    return next(i for i, p in enumerate(pipe.retrieve(QUESTION, Filters()), 1) if needle in p.text)


def test_llm_answer_streams_through_the_openai_endpoint(
    llm_server: LiveServer, bundled: Pipeline, fake_llm: FakeOpenAIServer
) -> None:
    n = source_number(bundled, "13家线下智能养老服务站点")
    fake_llm.push(text(f"常德建立了13家线下智能养老服务站点[{n}]。", chunk_chars=3))

    chunks = list(openai_client(llm_server).chat.completions.create(
        model="policy-qa", messages=[{"role": "user", "content": QUESTION}], stream=True))

    content = "".join(ch.choices[0].delta.content or "" for ch in chunks if ch.choices)
    assert content.startswith("常德建立了13家线下智能养老服务站点[1]。")
    assert content.count(REFERENCES_HEADING) == 1
    assert_exact_citations((chunks[-1].model_extra or {})["citations"], bundled)


def test_llm_failure_mid_stream_continues_with_the_fallback_answer(
    llm_server: LiveServer, bundled: Pipeline, fake_llm: FakeOpenAIServer
) -> None:
    n = source_number(bundled, "13家线下智能养老服务站点")
    fake_llm.push(invalid_json(f"常德建立了13家线下智能养老服务站点[{n}]。这些站点"))

    resp = openai_client(llm_server).chat.completions.create(
        model="policy-qa", messages=[{"role": "user", "content": QUESTION}], stream=True)
    content = "".join(ch.choices[0].delta.content or "" for ch in resp if ch.choices)

    shown, _, rest = content.partition("\n\n")
    assert "13家" in shown  # the checked model sentence the user already saw
    assert rest.startswith("13家") and rest.count(REFERENCES_HEADING) == 1  # then the extractive answer
