"""The LLM answerer: any OpenAI-compatible chat endpoint, through ``langchain-openai``.

vLLM, Ollama, Xinference, DeepSeek, Qwen and GLM all speak the OpenAI chat-completions
protocol, so one client covers them: ``ChatOpenAI`` pointed at ``settings.llm.base_url``.

Every failure — connection refused, timeout, HTTP errors, a stream that is not valid
JSON, an empty answer, an answer with no [n] markers — becomes `LLMUnavailable` with a
short reason, and the pipeline falls back to the extractive answer. The client's timeout
only bounds each read, so a server that trickles a token a second would never trip it;
the whole answer therefore also runs under one overall deadline (``timeout_s``), enforced
by reading the stream on a worker thread and waiting on it with a clock.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rag import cancel
from rag.answer.breaker import Breaker, CircuitOpen
from rag.answer.grounding import MARKER, is_no_answer
from rag.answer.intent import Intent
from rag.answer.prompts import Language, answer_messages, condense_messages, language_of
from rag.condense import condense as heuristic_condense
from rag.config import Settings
from rag.errors import LLMUnavailable
from rag.types import Passage

log = logging.getLogger(__name__)

_DONE = object()
# Prefixes models like to put before a rewritten question despite being told not to.
_CONDENSE_PREFIX = re.compile(
    r"^(?:改写后的问题|改寫後的問題|独立问题|獨立問題|问题|問題|standalone question|question|rewritten question)\s*[:：]\s*",
    re.IGNORECASE,
)
_QUOTES = "\"'“”‘’「」『』"


def has_user_turn(history: Sequence[dict[str, str]]) -> bool:
    """Whether there is an earlier question to lean on (otherwise nothing to rewrite)."""
    return any(t.get("role") == "user" and str(t.get("content", "")).strip() for t in history)


class EndpointDown(LLMUnavailable):
    """The endpoint could not be reached or did not answer in time (not a bad answer).

    The pipeline uses the distinction to avoid a second wait in the same turn: after the
    rewrite timed out, the answer would too.
    """


class LLMAnswerer:
    """Answers from passages and rewrites follow-ups with an OpenAI-compatible model."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: Any = None  # ChatOpenAI, built on first use (cheap constructor)
        self.breaker = Breaker(settings.llm.breaker_failures, settings.llm.breaker_cooldown_s)

    # ---- client --------------------------------------------------------------------

    @property
    def model(self) -> Any:
        """The ``ChatOpenAI`` client; raises `LLMUnavailable` when none is configured."""
        if self._model is None:
            s = self.settings.llm
            if not s.base_url:
                raise LLMUnavailable("no LLM endpoint configured (set POLICY_QA_LLM_BASE_URL)")
            from langchain_openai import ChatOpenAI

            self._model = ChatOpenAI(
                model=s.model,
                base_url=s.base_url,
                api_key=s.api_key,
                timeout=s.timeout_s,
                # Retries happen in `_deadline_stream`, inside the deadline: the client's own
                # would go on after we gave up and reach the server unasked.
                max_retries=0,
                temperature=s.temperature,
                streaming=True,
                # stream_options is an OpenAI extension some compatible servers reject.
                stream_usage=False,
            )
        return self._model

    # ---- answering -----------------------------------------------------------------

    def stream(
        self, question: str, passages: Sequence[Passage], language: Language | None = None,
        intent: Intent = Intent.FACTOID,
    ) -> Iterator[str]:
        """Text deltas of the answer to ``question`` from the numbered ``passages``.

        ``language`` defaults to the question's; pass the original question's when
        ``question`` is a rewrite (the heuristic rewrite is always in Simplified script).
        ``intent`` says what shape the answer takes (a list, a comparison …).

        Raises `LLMUnavailable` — possibly after some deltas — when the endpoint fails,
        the overall deadline passes, or the answer is empty or cites nothing.
        """
        messages = answer_messages(question, passages, language or language_of(question), intent)
        model = self.model  # built (and imported) before the clock starts
        text = ""
        for delta in self._deadline_stream(lambda: model.stream(messages)):
            text += delta
            yield delta
        if not text.strip():
            raise LLMUnavailable("the model returned an empty answer")
        if not MARKER.search(text) and not is_no_answer(text):
            raise LLMUnavailable("the model's answer cites no source ([n] markers missing)")

    def rewrite(self, question: str, history: Sequence[dict[str, str]]) -> str:
        """The follow-up as a standalone question, by the model; `LLMUnavailable` on failure."""
        messages = condense_messages(question, history)
        model = self.model
        text = "".join(self._deadline_stream(lambda: model.stream(messages)))
        return _clean_rewrite(text, self.settings.max_question_chars)

    def condense(self, question: str, history: Sequence[dict[str, str]]) -> str:
        """The follow-up as a standalone question; the heuristic rewrite if the model fails."""
        if not has_user_turn(history):
            return question
        try:
            return self.rewrite(question, history)
        except LLMUnavailable as exc:
            log.warning("LLM rewrite failed (%s); using the heuristic", exc)
            return heuristic_condense(question, history)

    # ---- the deadline --------------------------------------------------------------

    def _deadline_stream(self, start: Callable[[], Iterator[Any]]) -> Iterator[str]:
        """Content deltas of a LangChain stream, all within ``timeout_s`` of the call."""
        try:
            self.breaker.admit()
        except CircuitOpen as exc:
            raise EndpointDown(str(exc)) from None
        deadline = time.monotonic() + self.settings.llm.timeout_s
        box: queue.Queue[Any] = queue.Queue()
        stop = threading.Event()

        def pump() -> None:
            for attempt in range(self.settings.llm.max_retries + 1):
                got_text = False
                try:
                    for chunk in start():
                        if stop.is_set():
                            return  # closes the stream, and with it the HTTP response
                        text = _content(chunk)
                        got_text = got_text or bool(text)
                        box.put(text)
                    box.put(_DONE)
                    return
                except BaseException as exc:  # noqa: BLE001 - everything goes back to the caller
                    # Retry only what may pass (the server down or overloaded), and never
                    # after text went out: the user would see it twice.
                    if got_text or attempt == self.settings.llm.max_retries or not _retryable(exc):
                        box.put(exc)
                        return
                if stop.wait(0.5 * 2**attempt):
                    return

        threading.Thread(target=pump, name="llm-stream", daemon=True).start()
        verdict = False
        try:
            while True:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    verdict = True
                    self.breaker.failure()
                    raise EndpointDown(f"no complete answer within {self.settings.llm.timeout_s:g}s")
                if cancel.requested():
                    raise cancel.Cancelled
                try:
                    # In slices: a turn whose asker left stops within a quarter second.
                    item = box.get(timeout=min(remaining, 0.25))
                except queue.Empty:
                    continue
                if item is _DONE:
                    verdict = True
                    self.breaker.success()
                    return
                if isinstance(item, BaseException):
                    failure = _unavailable(item)
                    verdict = True
                    # Only the endpoint's failures open the breaker; a bad answer means it is up.
                    if isinstance(failure, EndpointDown):
                        self.breaker.failure()
                    else:
                        self.breaker.success()
                    raise failure from item
                if item:
                    yield item
        finally:
            if not verdict:
                self.breaker.abandon()
            # Abandoned (deadline, failure, or the consumer stopped early): tell the worker.
            # A read already blocked ends at the client's own timeout; the thread is a daemon.
            stop.set()


def _content(chunk: Any) -> str:
    """Text of one ``AIMessageChunk`` (content may be a string or a list of parts)."""
    content = getattr(chunk, "content", "")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(p if isinstance(p, str) else str(p.get("text", "")) for p in content if isinstance(p, (str, dict)))
    raise LLMUnavailable(f"unexpected content in the model's reply: {type(content).__name__}")


def _retryable(exc: BaseException) -> bool:
    """Failures worth one more try: no connection, a timeout, 429 or a 5xx."""
    import openai

    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return isinstance(exc, (openai.APIConnectionError, openai.APITimeoutError))


def _unavailable(exc: BaseException) -> LLMUnavailable:
    """A short, user-safe reason for a failure of the endpoint or of its output."""
    import httpx
    import openai

    if isinstance(exc, LLMUnavailable):
        return exc
    if isinstance(exc, (openai.APITimeoutError, httpx.TimeoutException)):
        return EndpointDown("the LLM endpoint timed out")
    if isinstance(exc, (openai.APIConnectionError, httpx.TransportError)):
        return EndpointDown("cannot reach the LLM endpoint")
    if isinstance(exc, openai.APIStatusError):
        return EndpointDown(f"the LLM endpoint answered HTTP {exc.status_code}")
    if isinstance(exc, openai.APIError):
        return LLMUnavailable(f"the LLM endpoint reported an error: {str(exc)[:120]}")
    # JSON errors, missing fields, anything else: the reply was not the protocol we speak.
    return LLMUnavailable(f"malformed reply from the LLM endpoint ({type(exc).__name__})")


def _clean_rewrite(text: str, max_chars: int) -> str:
    """The rewritten question from the model's reply, or `LLMUnavailable` if it is unusable."""
    lines = [ln.strip() for ln in text.strip().splitlines() if ln.strip()]
    if not lines:
        raise LLMUnavailable("the model returned an empty rewrite")
    q = _CONDENSE_PREFIX.sub("", lines[0]).strip().strip(_QUOTES).strip()
    # A rewrite is a question, not an answer or an essay.
    if not q or len(q) > max_chars or MARKER.search(q):
        raise LLMUnavailable("the model's rewrite is not a usable question")
    return q
