"""The HTTP API over the pipeline: ``/api/ask``, ``/v1/chat/completions``, ``/api/feedback``.

Only translation happens here: request JSON → ``Pipeline.run`` → events → JSON or SSE.
The pipeline is blocking (embedding, SQLite, Chroma), so it always runs in the thread
pool; the event loop stays free for health checks and other users.
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import iterate_in_threadpool, run_in_threadpool

from rag import cancel
from rag.config import Settings
from rag.errors import InputError, ModelMismatch, PolicyQAError, StoreUnavailable
from rag.feedback import FeedbackStore
from rag.pipeline import Pipeline, final_answer
from rag.retrieve import Filters
from rag.types import Answer, AnswerEvent, Citation, Event, StatusEvent, TokenEvent
from ui.admission import Admission, ClientGone, Overloaded, overloaded_response

log = logging.getLogger(__name__)

MODEL_NAME = "policy-qa"
REFERENCES_HEADING = "参考资料："
# What a request whose client has gone gets (nobody reads it; nginx's "client closed").
GONE = Response(status_code=499)
SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering


@dataclass
class ServerState:
    """What the routes share; lives on ``app.state.server``."""

    settings: Settings
    pipeline: Pipeline
    feedback: FeedbackStore
    bootstrap_state: str = "pending"  # pending | building | done | failed
    bootstrap_error: str = ""
    ingest_lock: threading.Lock = field(default_factory=threading.Lock)  # one corpus change at a time
    jobs: dict[str, dict[str, Any]] = field(default_factory=dict)
    admission: Admission = field(init=False)

    def __post_init__(self) -> None:
        s = self.settings.server
        self.admission = Admission(s.max_concurrent, s.max_queue, s.queue_timeout_s)


def server_state(request: Request) -> ServerState:
    return request.app.state.server


# ---- request bodies ----------------------------------------------------------------


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AskRequest(BaseModel):
    """Body of ``POST /api/ask``."""

    question: str = Field(description="The question, Chinese (Simplified or Traditional) or English.")
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first.")
    filters: dict[str, Any] = Field(
        default_factory=dict,
        description="kind, issuer, city, domain, doc_id, legal_level, status, date_from, date_to.",
    )
    stream: bool = Field(False, description="Stream the pipeline events as server-sent events.")


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: str
    content: str | list[dict[str, Any]] | None = None


class ChatRequest(BaseModel):
    """The OpenAI chat-completions body; sampling fields are accepted and ignored."""

    model_config = ConfigDict(extra="allow")
    model: str = MODEL_NAME
    messages: list[ChatMessage]
    stream: bool = False
    filters: dict[str, Any] = Field(default_factory=dict, description="policy-qa extension (extra_body).")


class FeedbackRequest(BaseModel):
    """Body of ``POST /api/feedback``."""

    question: str = Field(max_length=20_000)
    answer: str = Field(max_length=50_000)
    rating: Literal["up", "down"]
    comment: str = Field("", max_length=5_000)
    citations: list[dict[str, Any]] = Field(default_factory=list, max_length=50)
    mode: str = Field("", max_length=20)


# ---- errors ------------------------------------------------------------------------


def error_status(exc: PolicyQAError) -> int:
    """HTTP status for a library error: the user's fault, the store's, or ours."""
    if isinstance(exc, InputError):
        return 400
    if isinstance(exc, (StoreUnavailable, ModelMismatch)):
        return 503
    return 500


def error_response(exc: PolicyQAError) -> JSONResponse:
    return JSONResponse({"error": str(exc)}, status_code=error_status(exc))


def openai_error(message: str, status: int) -> JSONResponse:
    """The error shape OpenAI clients parse (they raise it as ``BadRequestError`` etc.)."""
    kind = "invalid_request_error" if status < 500 else "server_error"
    return JSONResponse({"error": {"message": message, "type": kind, "code": None, "param": None}}, status_code=status)


# ---- running the pipeline ----------------------------------------------------------


def _start(pipe: Pipeline, question: str, history: list[dict[str, str]], filters: dict[str, Any]) -> Iterator[Event]:
    """Validate now (so input errors become a 400, not a broken stream), then the events."""
    pipe.validate(question)
    parsed = Filters.parse(filters)
    return pipe.run(question, history, parsed)


def check_history(history: list[dict[str, str]], settings: Settings) -> None:
    """Earlier turns within the configured bounds (each one is read by the condenser)."""
    s = settings.server
    if len(history) > s.max_history_turns:
        raise InputError(f"the conversation has {len(history)} earlier turns; the limit is {s.max_history_turns} "
                         "(POLICY_QA_SERVER_MAX_HISTORY_TURNS): start a new conversation")
    longest = max((len(t["content"]) for t in history), default=0)
    if longest > s.max_turn_chars:
        raise InputError(f"an earlier turn is {longest} characters long; the limit is {s.max_turn_chars} "
                         "(POLICY_QA_SERVER_MAX_TURN_CHARS)")


class Run:
    """One admitted turn: its events, stopped when the client leaves, and its slot.

    ``open`` validates first (a 400 costs no slot), then waits for a slot; ``close``
    frees the slot and stops the pipeline (safe to call twice)."""

    def __init__(self, events: Iterator[Event], release: Callable[[], None]) -> None:
        self.stop = threading.Event()
        self.events = cancel.stoppable(events, self.stop)
        self._release = release

    @classmethod
    async def open(cls, state: ServerState, request: Request, question: str, history: list[dict[str, str]],
                   filters: dict[str, Any]) -> Run:
        check_history(history, state.settings)
        events = _start(state.pipeline, question, history, filters)
        release = await state.admission.acquire(request)
        return cls(events, release)

    def close(self) -> None:
        self.stop.set()
        self._release()

    async def answer(self, request: Request) -> Answer:
        """The final answer; `cancel.Cancelled` if the client disconnects first."""

        async def watch() -> None:
            while not self.stop.is_set():
                if await request.is_disconnected():
                    self.stop.set()
                    return
                await asyncio.sleep(0.25)

        watcher = asyncio.create_task(watch())
        try:
            with cancel.scope(self.stop):  # copied into the worker thread with the context
                return await run_in_threadpool(final_answer, self.events)
        finally:
            watcher.cancel()
            self.close()


def sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


async def _guarded(run: Run) -> AsyncIterator[Event | PolicyQAError]:
    """Events pulled in the thread pool; a failure mid-stream is yielded, not raised,
    because the status line has already been sent. The slot is freed however it ends
    (a client that disconnects cancels this generator)."""
    try:
        with cancel.scope(run.stop):
            async for ev in iterate_in_threadpool(run.events):
                yield ev
    except PolicyQAError as exc:
        yield exc
    except cancel.Cancelled:
        return
    except Exception as exc:  # noqa: BLE001 - a bug must still end the stream with an error event
        yield internal_error(exc)
    finally:
        run.close()


def internal_error(exc: BaseException) -> PolicyQAError:
    """A bug, logged with its traceback under an id; the client gets the id, not the trace."""
    ref = uuid.uuid4().hex[:8]
    log.error("internal error %s", ref, exc_info=exc)
    return PolicyQAError(f"internal error (reference {ref}); the server log has the details")


class GuardedStream(StreamingResponse):
    """A stream that frees its slot even when the client leaves before the first byte."""

    def __init__(self, content: AsyncIterator[str], run: Run) -> None:
        super().__init__(content, media_type="text/event-stream", headers=SSE_HEADERS)
        self.run = run

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.run.close()


# ---- /api/ask ----------------------------------------------------------------------

router = APIRouter()


@router.post("/api/ask", tags=["chat"], summary="Answer one question with citations (JSON or SSE)",
             responses={503: {"description": "busy: every answer slot is taken; see Retry-After"}})
async def ask(body: AskRequest, request: Request) -> Any:
    """The same JSON as ``policy-qa ask --json``; with ``stream``, one SSE event per pipeline
    event (``status``, ``passages``, ``token`` …, ``answer`` last; ``error`` on failure)."""
    state = server_state(request)
    history = [t.model_dump() for t in body.history]
    try:
        run = await Run.open(state, request, body.question, history, body.filters)
        if not body.stream:
            return (await run.answer(request)).public()
    except PolicyQAError as exc:
        return error_response(exc)
    except Overloaded as exc:
        return overloaded_response(exc)
    except (ClientGone, cancel.Cancelled):
        return GONE

    async def stream() -> AsyncIterator[str]:
        async for ev in _guarded(run):
            if isinstance(ev, PolicyQAError):
                yield sse("error", {"type": "error", "error": str(ev), "status": error_status(ev)})
                return
            yield sse(ev.type, ev.public())

    return GuardedStream(stream(), run)


# ---- /v1/chat/completions ----------------------------------------------------------


def references(citations: list[Citation]) -> str:
    """The numbered reference list appended to chat-completion content."""
    if not citations:
        return ""
    lines = [f"[{c.n}] " + " · ".join(x for x in (c.locator or c.title, c.section) if x) + f" 「{c.quote}」"
             for c in citations]
    return "\n\n" + REFERENCES_HEADING + "\n" + "\n".join(lines)


def _text(content: str | list[dict[str, Any]] | None) -> str:
    """Message content as text (the list form carries ``{"type": "text", "text": …}`` parts)."""
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if p.get("type") == "text")
    return content or ""


def split_messages(messages: list[ChatMessage]) -> tuple[str, list[dict[str, str]]]:
    """(question, history): the last user message, and the user/assistant turns before it."""
    turns = [(m.role, _text(m.content)) for m in messages if m.role in ("user", "assistant")]
    if not turns or turns[-1][0] != "user":
        raise InputError("the last message must come from the user and hold the question")
    return turns[-1][1], [{"role": r, "content": c} for r, c in turns[:-1]]


def _completion_id() -> str:
    return f"chatcmpl-{uuid.uuid4().hex[:24]}"


@router.post("/v1/chat/completions", tags=["openai"], summary="OpenAI-compatible chat completions (model policy-qa)")
async def chat_completions(body: ChatRequest, request: Request) -> Any:
    """Answer the last user message; the content ends with a numbered reference list and a
    top-level ``citations`` field carries the same citations as ``/api/ask``."""
    state = server_state(request)
    try:
        question, history = split_messages(body.messages)
        run = await Run.open(state, request, question, history, body.filters)
        if not body.stream:
            return _completion(await run.answer(request))
    except PolicyQAError as exc:
        return openai_error(str(exc), error_status(exc))
    except Overloaded as exc:
        return overloaded_response(exc, openai=True)
    except (ClientGone, cancel.Cancelled):
        return GONE

    cid, created = _completion_id(), int(time.time())

    def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
        data = {
            "id": cid, "object": "chat.completion.chunk", "created": created, "model": MODEL_NAME,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}], **extra,
        }
        return f"data: {json.dumps(data, ensure_ascii=False)}\n\n"

    async def stream() -> AsyncIterator[str]:
        yield chunk({"role": "assistant", "content": ""})
        sent = ""
        async for ev in _guarded(run):
            if isinstance(ev, PolicyQAError):
                # OpenAI streams report errors as a data line with an "error" object.
                failure = {"error": {"message": str(ev), "type": "server_error"}}
                yield f"data: {json.dumps(failure, ensure_ascii=False)}\n\n"
                break
            if isinstance(ev, StatusEvent) and ev.step == "fallback" and sent:
                # The model failed after part of its answer was shown; the fallback answer
                # follows as a new paragraph (a stream cannot take back what it sent).
                yield chunk({"content": "\n\n"})
                sent = ""
            elif isinstance(ev, TokenEvent) and ev.text:
                sent += ev.text
                yield chunk({"content": ev.text})
            elif isinstance(ev, AnswerEvent) and ev.answer is not None:
                final = ev.answer.answer
                # The tokens normally spell the final answer; should they ever differ, the
                # client gets the final text after what it has already shown, never a
                # silently different answer from the one /api/ask would give.
                rest = final[len(sent):] if final.startswith(sent) else "\n\n" + final
                tail = rest + references(ev.answer.citations)
                if tail:
                    yield chunk({"content": tail})
                yield chunk({}, "stop", citations=[c.public() for c in ev.answer.citations])
        yield "data: [DONE]\n\n"

    return GuardedStream(stream(), run)


def _completion(answer: Answer) -> dict[str, Any]:
    return {
        "id": _completion_id(),
        "object": "chat.completion",
        "created": int(time.time()),
        "model": MODEL_NAME,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.answer + references(answer.citations)},
                "finish_reason": "stop",
            }
        ],
        "citations": [c.public() for c in answer.citations],
        "refused": answer.refused,
    }


@router.get("/v1/models", tags=["openai"], summary="The one model this server offers")
async def models() -> dict[str, Any]:
    return {"object": "list", "data": [{"id": MODEL_NAME, "object": "model", "created": 0, "owned_by": "policy-qa"}]}


# ---- /api/feedback -----------------------------------------------------------------


@router.post("/api/feedback", tags=["feedback"], summary="Rate an answer (stored redacted)")
async def feedback(body: FeedbackRequest, request: Request) -> Any:
    """Store 👍/👎 with an optional comment; IDs, phones, cards and e-mails are redacted first."""
    store = server_state(request).feedback
    try:
        row = await run_in_threadpool(
            store.add, body.question, body.answer, body.rating, body.comment, body.citations, body.mode
        )
    except PolicyQAError as exc:
        return error_response(exc)
    return {"id": row}
