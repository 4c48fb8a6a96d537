"""What one request may carry: its size, and who may send a body at all.

`RequestGuard` is the outermost ASGI middleware: one limit shared by every route rather
than one per route (how many answers run at once is ui.admission's). Before the app
sees a request it refuses uploads where none belong (Gradio's own upload route: the chat
takes no files), checks the admin token of ``/api/admin`` requests *before their body is
read* (an anonymous 200 MB upload used to be spooled to disk before its 401), and caps
every body: by its Content-Length when it has one, and byte by byte as a chunked body
streams in, so nothing over the cap is ever buffered.
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from rag.config import Settings
from ui.admin import AdminError, check_token

ADMIN_PREFIX = "/api/admin"
UPLOAD_PATH = "/api/admin/documents"
# Gradio's file routes: the chat has no file component, so a file sent there is unwanted.
GRADIO_UPLOADS = ("/gradio_api/upload", "/upload")
GRADIO_PREFIX = "/gradio_api/"
# Gradio sends the whole chat (answers with their citation cards) with each event, so its
# bodies may be larger than an API question; still bounded.
GRADIO_FACTOR = 4


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body passes its cap (FastAPI lets HTTPExceptions through)."""

    def __init__(self, limit: int, setting: str) -> None:
        super().__init__(413, f"the request body is larger than the {_size(limit)} limit ({setting})")


def _size(n: int) -> str:
    return f"{n // (1024 * 1024)} MB" if n >= 1024 * 1024 else f"{n // 1024} KB"


class RequestGuard:
    """ASGI middleware; see the module docstring."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        s = settings.server
        self.body_limit = s.max_body_kb * 1024
        # Room for the form fields and multipart boundaries around the file itself.
        self.upload_limit = s.max_upload_mb * 1024 * 1024 + 64 * 1024

    def limit(self, method: str, path: str) -> tuple[int, str]:
        """(bytes, the setting that raises it) for a request."""
        if method == "POST" and path.rstrip("/") == UPLOAD_PATH:
            return self.upload_limit, "POLICY_QA_SERVER_MAX_UPLOAD_MB"
        if path.startswith(GRADIO_PREFIX):
            return self.body_limit * GRADIO_FACTOR, "POLICY_QA_SERVER_MAX_BODY_KB"
        return self.body_limit, "POLICY_QA_SERVER_MAX_BODY_KB"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers = dict(scope["headers"])
        if method == "POST" and path.rstrip("/") in GRADIO_UPLOADS:
            await _refuse(scope, receive, send, 403, "this server takes no file uploads here; documents are "
                                                     "added on the corpus page (/admin) with the admin token")
            return
        if path.startswith(ADMIN_PREFIX) and method != "OPTIONS":
            try:
                check_token(self.settings, headers.get(b"authorization", b"").decode("latin-1"))
            except AdminError as exc:
                await _refuse(scope, receive, send, exc.status, str(exc), exc.headers)
                return
        limit, setting = self.limit(method, path)
        length = headers.get(b"content-length", b"")
        if length.isdigit() and int(length) > limit:
            await _refuse(scope, receive, send, 413, BodyTooLarge(limit, setting).detail)
            return

        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, setting)
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge as exc:
            # Routes that read the body themselves (Gradio's) let it propagate to here.
            if started:
                raise
            await _refuse(scope, receive, send, 413, exc.detail)


async def _refuse(scope: Scope, receive: Receive, send: Send, status: int, message: str,
                  headers: dict[str, str] | None = None) -> None:
    path = scope["path"]
    body: dict[str, object] = {"error": message}
    if path.startswith("/v1/"):
        body = {"error": {"message": message, "type": "invalid_request_error", "code": None, "param": None}}
    await JSONResponse(body, status_code=status, headers=headers)(scope, receive, send)
