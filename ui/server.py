"""The web server of ``policy-qa serve``: HTTP API, health checks, embed script, Gradio UI.

``create_app`` assembles one FastAPI app (routes in ``ui.api`` and ``ui.admin``); ``serve``
runs it with uvicorn. The process answers ``/healthz`` at once; a first start on an
empty ``POLICY_QA_HOME`` builds the bundled index in a background thread, and
``/readyz`` turns 200 when that is done and the vector store answers.

Privacy: no request body is ever logged; uvicorn's access log shows method and path only,
and question text reaches a log only through the pipeline when ``log_questions`` is on.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.config import Settings, get_settings
from rag.errors import PolicyQAError
from rag.feedback import FEEDBACK_FILE, FeedbackStore
from rag.index.lock import exclusive_home
from rag.pipeline import Pipeline
from rag.privacy import install_log_redaction
from ui import admin, api
from ui.api import ServerState, internal_error, openai_error
from ui.limits import RequestGuard

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"


class SecurityHeaders:
    """ASGI middleware: security headers on every response (Gradio's included).

    ``Content-Security-Policy: frame-ancestors 'self' <origins>`` so only the configured
    portals can frame the UI; ``nosniff`` so a quoted document or an error is never run as
    a script by a browser guessing its type; no Referer leaves for other sites."""

    def __init__(self, app: ASGIApp, origins: list[str]) -> None:
        self.app = app
        self.headers = [
            (b"content-security-policy", " ".join(["frame-ancestors 'self'", *origins]).encode()),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
        ]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message["headers"] = [*message.get("headers", []), *(h for h in self.headers if h[0] not in names)]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _bootstrap(state: ServerState) -> None:
    """Build the bundled index on an empty home (first start); record how it went."""
    state.bootstrap_state = "building"
    try:
        state.pipeline.ensure_index()
        try:
            # /readyz turns 200 once a question is answered at full speed, not seconds later.
            state.pipeline.warm_up()
        except Exception as exc:  # noqa: BLE001 - a slow first answer is no reason to stay unready
            log.warning("warming up failed (%s: %s); the first question will load what it needs", type(exc).__name__, exc)
        # The models, dictionaries and index now loaded live as long as the process. Left
        # to the collector, every full collection walks them all, holding the GIL for
        # 80-240 ms (measured under eval.load): long enough for /healthz to miss a tight
        # liveness probe. Frozen, a full collection walks only what answers create.
        gc.collect()
        gc.freeze()
        state.bootstrap_state = "done"
    except Exception as exc:  # noqa: BLE001 - reported by /readyz; the process stays up
        state.bootstrap_error = str(exc) if isinstance(exc, PolicyQAError) else f"{type(exc).__name__}: {exc}"
        state.bootstrap_state = "failed"
        log.warning("building the index failed: %s", state.bootstrap_error)


def readiness(state: ServerState) -> dict[str, Any]:
    """``{"ready": bool, "reason" | "chunks", ...}``: the store answers and the index has chunks."""
    index = state.pipeline.index
    try:
        index.vectors.ping(raise_error=True)
        if state.bootstrap_state in ("pending", "building"):
            return {"ready": False, "reason": "building the index from the bundled corpus (first start) "
                                              "and loading the models"}
        if state.bootstrap_state == "failed":
            return {"ready": False, "reason": f"building the index failed: {state.bootstrap_error}"}
        # One health model for every persisted part: a damaged keyword index, document
        # store or vector store makes the server unready, with the fix in one line.
        health = index.health()
        bad = [h for h in health if not h.ok]
        if bad:
            return {"ready": False, "reason": bad[0].message, "health": [h.public() for h in health]}
        chunks = index.docs.count_chunks()
        if chunks == 0:
            return {"ready": False, "reason": "the index is empty; run `policy-qa ingest` or upload documents"}
        vectors = index.vectors.count()
    except PolicyQAError as exc:
        return {"ready": False, "reason": str(exc)}
    if vectors == 0:
        return {"ready": False, "reason": f"{index.vectors.where} holds no vectors for the {chunks} indexed chunks; "
                                          "run `policy-qa ingest`"}
    return {"ready": True, "chunks": chunks, "vectors": vectors, "store": index.vectors.where,
            "health": [h.public() for h in health]}


def create_app(settings: Settings | None = None, pipeline: Pipeline | None = None) -> FastAPI:
    """The whole server as one FastAPI app; ``pipeline`` defaults to one over ``settings``."""
    # Every log record redacted (uvicorn's access log, httpx, chromadb), however the app is started.
    install_log_redaction()
    settings = settings or (pipeline.settings if pipeline else get_settings())
    pipeline = pipeline or Pipeline(settings)
    state = ServerState(settings, pipeline, FeedbackStore(settings.home / FEEDBACK_FILE))

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        threading.Thread(target=_bootstrap, args=(state,), name="policy-qa-bootstrap", daemon=True).start()
        yield

    app = FastAPI(
        title="policy-qa",
        summary="Answers about digital public-service policy, always with sources.",
        version="0.1.0",
        lifespan=lifespan,
        # FastAPI's own pages load Swagger UI and ReDoc from a CDN: blank on an intranet.
        docs_url=None,
        redoc_url=None,
    )
    _install_docs(app)
    app.state.server = state
    origins = list(settings.server.allowed_origins)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=origins,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Authorization", "Content-Type"],
    )
    app.add_middleware(SecurityHeaders, origins=origins)
    # Added last, so it runs first: nothing is read before its size and token checks.
    app.add_middleware(RequestGuard, settings=settings)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # One readable line instead of FastAPI's 422 list, which also echoes the input back.
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(p) for p in first.get("loc", ()) if p != "body") or "body"
        message = f"invalid request: {where}: {first.get('msg', 'malformed')}"
        if request.url.path.startswith("/v1/"):
            return openai_error(message, 400)
        return JSONResponse({"error": message}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # 404, 405, 413 …: the API's one error shape, not Starlette's {"detail": …}.
        message = str(exc.detail)
        if request.url.path.startswith("/v1/"):
            return openai_error(message, exc.status_code)
        return JSONResponse({"error": message}, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(Exception)
    async def internal(request: Request, exc: Exception) -> JSONResponse:
        # A bug: its traceback goes to the log under a reference, the client gets JSON.
        error = internal_error(exc)
        if request.url.path.startswith("/v1/"):
            return openai_error(str(error), 500)
        return JSONResponse({"error": str(error)}, status_code=500)

    @app.get("/healthz", tags=["ops"], summary="The process is up")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], summary="The index is loaded and the vector store answers")
    async def readyz() -> JSONResponse:
        timeout = settings.chroma.timeout_s
        try:
            # A hung store must not hang the probe: give up after the store timeout.
            body = await asyncio.wait_for(run_in_threadpool(readiness, state), timeout)
        except TimeoutError:
            body = {"ready": False, "reason": f"{pipeline.index.vectors.where} did not answer within {timeout:g} s"}
        return JSONResponse(body, status_code=200 if body["ready"] else 503)

    @app.get("/embed.js", tags=["embed"], summary="Script that adds the chat button to a portal page")
    async def embed_js() -> FileResponse:
        return FileResponse(
            STATIC / "embed.js",
            media_type="text/javascript; charset=utf-8",
            headers={"Cache-Control": "public, max-age=3600"},
        )

    app.include_router(api.router)
    admin.install(app)

    @app.api_route("/api/{rest:path}", methods=["GET", "POST", "DELETE", "PUT", "PATCH"], include_in_schema=False)
    @app.api_route("/v1/{rest:path}", methods=["GET", "POST", "DELETE", "PUT", "PATCH"], include_in_schema=False)
    async def no_route(request: Request, rest: str) -> JSONResponse:
        # Without this, an unknown API path falls through to the UI mounted at "/" and
        # gets Gradio's {"detail": …}: API clients parse one error shape.
        message = f"no such endpoint: {request.method} {request.url.path}; see /docs"
        if request.url.path.startswith("/v1/"):
            return openai_error(message, 404)
        return JSONResponse({"error": message}, status_code=404)
    if not _mount_ui(app, state):
        app.add_api_route("/", _fallback_page, methods=["GET"], include_in_schema=False, response_class=HTMLResponse)
    return app


DOCS_ASSETS = "/docs-assets"


def _install_docs(app: FastAPI) -> None:
    """``/docs`` (Swagger UI) and ``/redoc`` served from assets in an installed package
    (``fastapi-offline`` vendors them), so the API docs render with no internet."""
    import fastapi_offline
    from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
    from fastapi.staticfiles import StaticFiles

    assets = Path(fastapi_offline.__file__).parent / "static"
    app.mount(DOCS_ASSETS, StaticFiles(directory=assets), name="docs-assets")
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    async def swagger() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url, title=f"{app.title} · API",
            swagger_js_url=f"{DOCS_ASSETS}/swagger-ui-bundle.js", swagger_css_url=f"{DOCS_ASSETS}/swagger-ui.css",
            swagger_favicon_url=f"{DOCS_ASSETS}/favicon.png",
        )

    @app.get("/redoc", include_in_schema=False)
    async def redoc() -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url, title=f"{app.title} · API", redoc_js_url=f"{DOCS_ASSETS}/redoc.standalone.js",
            redoc_favicon_url=f"{DOCS_ASSETS}/favicon.png", with_google_fonts=False,
        )


def _mount_ui(app: FastAPI, state: ServerState) -> bool:
    """Mount the Gradio UI at "/" (last, so the API routes above take precedence)."""
    try:
        import gradio as gr

        from ui import app as ui_app

        blocks = ui_app.build_blocks(state.pipeline, state.settings)
    except Exception as exc:  # noqa: BLE001 - the API must come up even if the UI cannot
        log.warning("Gradio UI not mounted (%s: %s); serving a plain page at /", type(exc).__name__, exc)
        return False
    # Gradio 6 takes css/theme/head at mount time, not in the Blocks; ui.app says which.
    options = getattr(ui_app, "mount_options", None)
    kwargs: dict[str, Any] = dict(options()) if callable(options) else {}
    gr.mount_gradio_app(app, blocks, path="/", **kwargs)
    return True


_FALLBACK_HTML = """<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>政策问答助手</title>
<meta name="viewport" content="width=device-width, initial-scale=1"></head>
<body style="font-family:sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem">
<h1>政策问答助手</h1>
<form id="f"><label for="q">问题</label><br>
<textarea id="q" rows="3" style="width:100%">常德建了多少家线下智能养老服务站点？</textarea><br>
<button type="submit">提问</button></form>
<pre id="a" style="white-space:pre-wrap" aria-live="polite"></pre>
<p>接口文档：<a href="/docs">/docs</a></p>
<script>
document.getElementById("f").addEventListener("submit", async (e) => {
  e.preventDefault();
  const out = document.getElementById("a");
  out.textContent = "…";
  const r = await fetch("/api/ask", {method: "POST", headers: {"Content-Type": "application/json"},
    body: JSON.stringify({question: document.getElementById("q").value})});
  const j = await r.json();
  out.textContent = j.error || j.answer + "\\n\\n" +
    j.citations.map((c) => `[${c.n}] ${c.title} · ${c.section} 「${c.quote}」`).join("\\n");
});
</script></body></html>
"""


async def _fallback_page() -> HTMLResponse:
    return HTMLResponse(_FALLBACK_HTML)


def serve(host: str | None = None, port: int | None = None) -> None:
    """Run the server with uvicorn until interrupted (``policy-qa serve``)."""
    import uvicorn

    settings = get_settings()
    host, port = host or settings.server.host, port or settings.server.port
    # The server writes its home (first index build, admin uploads): one writer at a time.
    with exclusive_home(settings, f"policy-qa serve on {host}:{port}"):
        uvicorn.run(
            create_app(settings),
            host=host,
            port=port,
            proxy_headers=True,
            log_level="info",
            # An answer still running (e.g. waiting for the first index build) must not
            # keep a stopped server alive forever.
            timeout_graceful_shutdown=10,
        )
