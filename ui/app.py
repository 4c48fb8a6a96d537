"""The Gradio chat: ``build_blocks(pipeline, settings) -> gr.Blocks``.

The server (``ui/server.py``) mounts it at "/" with::

    gr.mount_gradio_app(app, build_blocks(pipeline, settings), "/", **mount_options())

``mount_options()`` carries the stylesheet, theme and head tags: Gradio 6 takes those
at launch/mount time, not in the ``Blocks`` constructor.

The UI only translates pipeline events into components (DESIGN.md, house style 1/7):
a generator over ``pipeline.run(...)`` shows status lines, streams the answer text and
replaces it with the final answer and its citation cards. All HTML comes from
``ui.components``, which escapes every piece of document, model and user text.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import gradio as gr

from rag.answer.messages import status_line
from rag.config import Settings
from rag.errors import InputError
from rag.pipeline import Pipeline
from rag.text.script import is_traditional, to_simplified, to_traditional
from rag.types import Answer, AnswerEvent, PassagesEvent, StatusEvent, TokenEvent
from ui import components as C
from ui.i18n import DOMAINS, Strings, example_question, examples, strings

from rag.feedback import FEEDBACK_FILE, FeedbackStore

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "static"
CSS_PATH = STATIC / "app.css"

Script = Literal["simplified", "traditional"]
Rating = Literal["up", "down"]

# <head> additions: a light colour scheme (the stylesheet is written for it) and a
# viewport that lets older users pinch-zoom (WCAG 1.4.4; axe flags user-scalable=no).
HEAD = (
    '<meta name="color-scheme" content="light">'
    '<meta name="viewport" content="width=device-width, initial-scale=1">'
)

# Page behaviour installed once on load. Kept here rather than in <head> so the chat
# works however it is mounted. Delegated listeners, because the chatbot sanitizer drops
# inline handlers (as it should) and Gradio re-renders messages:
# - copy buttons inside answers (Clipboard API first; the textarea fallback covers
#   plain-http intranet deployments, where navigator.clipboard does not exist);
# - [n] markers open their citation card; the skip link focuses the question box;
# - Enter sends and Shift+Enter starts a new line (Gradio's multi-line box does the
#   reverse), never while an IME is composing — Enter then picks the characters;
# - Esc inside the portal's iframe asks the parent page to close the panel (the key
#   never reaches the parent by itself);
# - keyboard order: each radio group is one Tab stop with arrow keys inside it (Gradio
#   names every option apart), and Tab into a dropdown does not pop its list open over
#   the labels below — ArrowDown, Enter or Space opens it, a click still does;
# - the conversation scrolls to the start of the newest answer, not to the bottom,
#   where the citation cards would push the direct answer out of view;
# - on narrow screens (phones, the portal's panel) settings and filters start folded.
ON_LOAD_JS = r"""
() => {
  document.documentElement.lang = "zh-CN";
  if (!window.__pqInstalled) {
    window.__pqInstalled = true;
    const question = () => document.querySelector("#pq-question textarea");
    document.addEventListener("click", async (ev) => {
      const t = ev.target && ev.target.closest ? ev.target : null;
      if (!t) return;
      if (t.closest("a.pq-skip")) {
        ev.preventDefault();
        const q = question();
        if (q) q.focus();
        return;
      }
      const ref = t.closest("button.pq-ref");
      if (ref) {
        ev.preventDefault();
        ev.stopPropagation();
        const n = (ref.textContent.match(/\[(\d+)\]/) || [])[1];
        const box = ref.closest(".pq-answer");
        const card = box && n ? box.querySelector(".pq-for-" + n) : null;
        if (!card) return;
        const details = card.querySelector("details");
        if (details) details.open = true;
        card.scrollIntoView({block: "nearest"});
        const summary = card.querySelector("summary");
        if (summary) summary.focus({preventScroll: true});
        return;
      }
      const btn = t.closest("button.pq-copy");
      if (!btn) return;
      ev.preventDefault();
      ev.stopPropagation();
      const box = btn.closest(".pq-answer");
      const text = box ? box.querySelector(".pq-copy-text").textContent : "";
      let ok = false;
      try {
        await navigator.clipboard.writeText(text);
        ok = true;
      } catch (e) {
        const ta = document.createElement("textarea");
        ta.value = text;
        ta.setAttribute("readonly", "");
        ta.style.position = "fixed";
        ta.style.opacity = "0";
        document.body.appendChild(ta);
        ta.select();
        try { ok = document.execCommand("copy"); } catch (e2) { ok = false; }
        ta.remove();
      }
      window.__pqLastCopy = text;
      const status = box ? box.querySelector(".pq-copy-status") : null;
      const msg = box ? box.querySelector(ok ? ".pq-copy-done" : ".pq-copy-fail") : null;
      if (status && msg) status.textContent = msg.textContent;
    }, true);
    const enter = (ev) => {
      if (ev.key !== "Enter" || ev.target !== question()) return;
      if (ev.isComposing || ev.keyCode === 229) return;
      ev.stopImmediatePropagation();  // Gradio's own keypress handler sends on Shift+Enter
      if (ev.shiftKey) return;        // the browser inserts the newline
      ev.preventDefault();
      const send = document.querySelector("#pq-send");
      if (ev.type === "keydown" && send && !send.disabled) send.click();
    };
    document.addEventListener("keydown", enter, true);
    document.addEventListener("keypress", enter, true);
    window.addEventListener("keydown", (ev) => {
      // Bubble phase: an open dropdown that handles Esc itself keeps it.
      if (ev.key === "Escape" && !ev.defaultPrevented && window.parent !== window) {
        window.parent.postMessage({type: "policy-qa:close"}, "*");
      }
    });
    const groups = () => {
      for (const id of ["pq-lang", "pq-script", "pq-rating"]) {
        document.querySelectorAll("#" + id + " input[type=radio]").forEach((i) => { if (i.name !== id) i.name = id; });
      }
    };
    groups();
    new MutationObserver(groups).observe(document.querySelector(".gradio-container") || document.body,
                                         {subtree: true, childList: true});
    let tabbing = false;
    document.addEventListener("keydown", (ev) => {
      if (ev.key === "Tab") { tabbing = true; setTimeout(() => { tabbing = false; }, 200); }
      const t = ev.target;
      const closed = t && t.matches && t.matches("input[role=combobox]") && t.getAttribute("aria-expanded") !== "true";
      if (closed && ["ArrowDown", "Enter", " "].includes(ev.key)) {
        ev.preventDefault();
        t.blur();
        t.focus();  // a focus not reached by Tab: Gradio opens the list
      }
    }, true);
    document.addEventListener("focus", (ev) => {
      const t = ev.target;
      if (tabbing && t && t.matches && t.matches("input[role=combobox]")) ev.stopImmediatePropagation();
    }, true);
    const follow = () => {
      const chat = document.querySelector("#pq-chat");
      const rows = chat ? chat.querySelectorAll(".message-row") : [];
      const last = rows[rows.length - 1];
      if (!last) { window.__pqAligned = ""; return; }
      const done = !!last.querySelector(".pq-answer:not(.pq-streaming), .pq-badge-error");
      const key = rows.length + (done ? ":done" : ":busy");
      if (key === window.__pqAligned) return;  // the user may scroll while it streams
      window.__pqAligned = key;
      const wrap = last.closest(".bubble-wrap");
      if (!wrap) return;
      const base = wrap.getBoundingClientRect().top - wrap.scrollTop;
      const asked = rows.length > 1 ? rows[rows.length - 2] : last;
      let top = last.getBoundingClientRect().top - base;
      const above = asked.getBoundingClientRect().top - base;
      // The question too, when it and the answer's first lines fit together.
      if (top - above < wrap.clientHeight / 3) top = above;
      wrap.scrollTop = Math.max(0, top - 8);
    };
    new MutationObserver(follow).observe(document.querySelector("#pq-chat") || document.body,
                                         {subtree: true, childList: true, characterData: true});
    if (window.matchMedia("(max-width: 820px)").matches) {
      const toggle = document.querySelector("#pq-side-box > button.label-wrap, #pq-side-box button.label-wrap");
      if (toggle && toggle.classList.contains("open")) toggle.click();
    }
  }
  let large = false;
  try { large = localStorage.getItem("pq-large") === "1"; } catch (e) { large = false; }
  document.documentElement.classList.toggle("pq-large", large);
  return large;
}
"""

LARGE_TEXT_JS = r"""
(on) => {
  document.documentElement.classList.toggle("pq-large", !!on);
  try { localStorage.setItem("pq-large", on ? "1" : "0"); } catch (e) {}
  return on;
}
"""

LANG_JS = r"""
(lang, script) => {
  document.documentElement.lang = lang === "en" ? "en" : (script === "traditional" ? "zh-Hant" : "zh-CN");
  return [lang, script];
}
"""

# Extractive answers are ready all at once; shown in one repaint they seem to jump in
# after the wait. Each piece is revealed in a few steps, FRAME_S apart, and the reveal
# stops pacing after REVEAL_BUDGET_S so a long answer is never held back. Model tokens
# are short and already paced by the model: they are shown as they come.
FRAME_S = 0.04
REVEAL_BUDGET_S = 1.2
REVEAL_STEPS = 3
REVEAL_MIN_CHARS = 6


def reveal_steps(piece: str) -> list[str]:
    """A streamed piece split into the steps it is shown in (one step when it is short)."""
    if len(piece) < REVEAL_MIN_CHARS:
        return [piece]
    size = -(-len(piece) // REVEAL_STEPS)
    return [piece[i : i + size] for i in range(0, len(piece), size)]


def mount_options() -> dict[str, Any]:
    """Keyword arguments for ``gr.mount_gradio_app`` (stylesheet, theme, head tags)."""
    # footer_links=[]: no "Use via API / Built with Gradio" links in a government portal;
    # the supported API is /api/ask, not Gradio's.
    return {"css_paths": [CSS_PATH], "head": HEAD, "theme": theme(), "footer_links": []}


def theme() -> gr.themes.Base:
    """A sober theme: government blue, CJK system fonts, no web-font downloads."""
    cjk = ["Noto Sans CJK SC", "Source Han Sans SC", "PingFang SC", "Microsoft YaHei", "sans-serif"]
    return gr.themes.Default(
        primary_hue=gr.themes.colors.blue,
        neutral_hue=gr.themes.colors.slate,
        font=cjk,
        font_mono=["Noto Sans Mono CJK SC", "monospace"],
    )


# ---- session state ------------------------------------------------------------------


@dataclass
class Turn:
    """One question and what became of it: an answer, or an error message."""

    question: str
    answer: Answer | None = None
    error: str = ""


@dataclass
class Session:
    """Per-browser-tab state: the turns so far and the ratings given to them."""

    turns: list[Turn] = field(default_factory=list)
    pending: tuple[int, Rating] | None = None  # (turn index, rating) the comment box will attach to
    rated: dict[int, int] = field(default_factory=dict)  # turn index -> its feedback row id
    # A Traditional-script question flipped the script switch: the labels follow after the answer.
    relabel: bool = False


def converter(script: str) -> C.Convert:
    """Display converter for the chosen script.

    Simplified display still converts: an answer to a Traditional-script question comes
    back in Traditional, and the user asked to read Simplified.
    """
    return to_traditional if script == "traditional" else to_simplified


def history_of(turns: list[Turn]) -> list[dict[str, str]]:
    """Earlier turns as the pipeline wants them: plain text, answered turns only."""
    out: list[dict[str, str]] = []
    for t in turns:
        if t.answer is not None:
            out += [{"role": "user", "content": t.question}, {"role": "assistant", "content": t.answer.answer}]
    return out


def render_chat(turns: list[Turn], s: Strings, script: str) -> list[dict[str, str]]:
    """The chatbot value: exactly two messages per turn, so message index // 2 is the turn."""
    conv = converter(script)
    msgs: list[dict[str, str]] = []
    for t in turns:
        msgs.append({"role": "user", "content": C.user_html(t.question)})
        if t.answer is not None:
            msgs.append({"role": "assistant", "content": C.answer_html(t.answer, s, conv)})
        else:
            msgs.append({"role": "assistant", "content": C.error_html(t.error or s.error_generic)})
    return msgs


def last_passages(turns: list[Turn]) -> list[Any]:
    """Passages of the latest answered turn, for the sources panel."""
    for t in reversed(turns):
        if t.answer is not None:
            return t.answer.passages
    return []


# ---- the app ----------------------------------------------------------------------------


class ChatApp:
    """Event handlers bound to one pipeline; the Blocks layout lives in `build_blocks`."""

    def __init__(self, pipeline: Pipeline, settings: Settings) -> None:
        self.pipeline = pipeline
        self.settings = settings
        self._store: FeedbackStore | None = None

    # -- data for the filters --

    def documents(self) -> list[tuple[str, str]]:
        """(title, doc_id) of every indexed document; empty before the first ingest."""
        try:
            return [(m.title, m.doc_id) for m, _ in self.pipeline.index.docs.documents()]
        except Exception:  # an unreadable or not-yet-created index must not break the page
            log.warning("could not list documents for the filter", exc_info=True)
            return []

    def cities(self) -> list[str]:
        """Cities named in the documents' metadata, for the city filter."""
        try:
            return sorted({c for m, _ in self.pipeline.index.docs.documents() for c in m.cities})
        except Exception:
            log.warning("could not list cities for the filter", exc_info=True)
            return []

    # -- chat --

    def respond(
        self, question: str, session: Session, domain: str, city: str, doc_id: str, script: str, lang: str
    ) -> Iterator[tuple[Any, ...]]:
        """Stream one turn: (question box, chatbot, session, sources, feedback line, script
        switch) per step. Runs in Gradio's worker thread; each yield repaints the conversation.

        A question typed in Traditional script while 简体 is on turns the switch to 繁體:
        the answer comes back in the question's script (as the HTTP API does), and the
        interface follows it rather than mixing scripts.
        """
        question = (question or "").strip()
        if not question:
            yield gr.update(), gr.update(), session, gr.update(), gr.update(), gr.update()
            return
        flip = lang == "zh" and script != "traditional" and is_traditional(question)
        if flip:
            script, session.relabel = "traditional", True
        s = strings(lang, script)
        conv = converter(script)
        switch = gr.update(value="traditional") if flip else gr.update()
        history = history_of(session.turns)
        prior = render_chat(session.turns, s, script)
        user_msg = {"role": "user", "content": C.user_html(question)}
        statuses: list[str] = []
        partial = ""
        filters = {"domain": domain or None, "city": city or None, "doc_id": doc_id or None}

        def frame(assistant: str) -> list[dict[str, str]]:
            return [*prior, user_msg, {"role": "assistant", "content": assistant}]

        yield "", frame(C.progress_html([], "", s, conv)), session, gr.update(), gr.update(), switch
        turn = Turn(question)
        started: float | None = None  # when the answer text began to show
        try:
            for ev in self.pipeline.run(question, history, filters):
                if isinstance(ev, StatusEvent):
                    statuses.append(status_line(ev.step, ev.data, lang != "zh"))
                    if ev.step == "fallback":
                        partial = ""  # the extractive answer replaces what the model had streamed
                    yield gr.update(), frame(C.progress_html(statuses, partial, s, conv)), session, gr.update(), gr.update(), gr.update()
                elif isinstance(ev, PassagesEvent):
                    yield gr.update(), gr.update(), session, C.sources_panel(ev.passages, s, conv), gr.update(), gr.update()
                elif isinstance(ev, TokenEvent):
                    started = started if started is not None else time.monotonic()
                    for step in reveal_steps(ev.text):
                        partial += step
                        yield gr.update(), frame(C.progress_html(statuses, partial, s, conv)), session, gr.update(), gr.update(), gr.update()
                        if time.monotonic() - started < REVEAL_BUDGET_S:
                            time.sleep(FRAME_S)
                elif isinstance(ev, AnswerEvent) and ev.answer is not None:
                    turn.answer = ev.answer
        except InputError as exc:
            turn.error = s.error_input.format(message=str(exc))
        except Exception:  # the user sees a sentence, the log keeps the traceback
            log.exception("pipeline failed")
            turn.error = s.error_generic
        if turn.answer is None and not turn.error:
            turn.error = s.error_generic
        session.turns.append(turn)
        sources = C.sources_panel(last_passages(session.turns), s, conv)
        yield gr.update(), render_chat(session.turns, s, script), session, sources, self.feedback_line(session, s), gr.update()

    def new_chat(self, session: Session, lang: str, script: str = "simplified") -> tuple[Any, ...]:
        """Clear the conversation (ratings were written when they were given)."""
        s = strings(lang, script)
        return [], Session(), C.sources_panel([], s), "", self.feedback_line(Session(), s), gr.update(value=None), ""

    def rerender(self, session: Session, script: str, lang: str) -> tuple[Any, ...]:
        """Repaint conversation and sources after a script switch (answers are stored Simplified)."""
        s = strings(lang, script)
        conv = converter(script)
        return render_chat(session.turns, s, script), C.sources_panel(last_passages(session.turns), s, conv)

    # -- feedback --

    def store(self) -> FeedbackStore:
        """The feedback database under the home (the same file the HTTP API writes)."""
        if self._store is None:
            self._store = FeedbackStore(self.settings.home / FEEDBACK_FILE)
        return self._store

    def record(self, session: Session, turn_index: int, rating: Rating, comment: str | None = None) -> bool:
        """Write the rating (and comment) of one answer: a new row, or an update of the row
        this tab already wrote for it. False when there is no answer at that index or the
        store failed (logged)."""
        if not 0 <= turn_index < len(session.turns):
            return False
        turn = session.turns[turn_index]
        a = turn.answer
        if a is None:
            return False
        store = self.store()
        try:
            row = session.rated.get(turn_index)
            if row is not None and store.update(row, rating=rating, comment=None if comment is None else comment.strip()):
                return True
            session.rated[turn_index] = store.add(
                question=turn.question,
                answer=a.answer,
                rating=rating,
                comment=(comment or "").strip(),
                citations=[c.public() for c in a.citations],
                mode=a.mode,
            )
            return True
        except Exception:
            log.exception("could not store feedback")
            return False

    def withdraw(self, session: Session, turn_index: int) -> None:
        """The thumb was clicked again: the rating no longer stands."""
        row = session.rated.pop(turn_index, None)
        if row is not None:
            try:
                self.store().delete(row)
            except Exception:
                log.exception("could not delete feedback")

    def feedback_line(self, session: Session, s: Strings) -> str:
        """The sentence above the rating controls: which answer is being rated."""
        if session.pending is not None:
            index, rating = session.pending
            label = s.rating_up if rating == "up" else s.rating_down
            return f'<p class="pq-fb-line">{C.esc(s.feedback_selected.format(n=index + 1, rating=label))}</p>'
        return f'<p class="pq-fb-line">{C.esc(s.feedback_hint)}</p>'

    def on_like(self, session: Session, lang: str, script: str, data: gr.LikeData) -> tuple[Any, ...]:
        """👍/👎 under an answer in the chat: select it for rating; the comment is optional."""
        s = strings(lang, script)
        index = data.index[0] if isinstance(data.index, (list, tuple)) else data.index
        turn_index = int(index) // 2
        if data.liked is True or data.liked is False:
            rating: Rating = "up" if data.liked else "down"
            self.record(session, turn_index, rating)  # stored now; a comment may follow
            session.pending = (turn_index, rating)
            # Open the rating panel so the optional comment box is right there.
            return session, self.feedback_line(session, s), gr.update(value=rating), "", gr.Accordion(open=True)
        self.withdraw(session, turn_index)
        if session.pending is not None and session.pending[0] == turn_index:
            session.pending = None
        return session, self.feedback_line(session, s), gr.update(value=None), "", gr.Accordion()

    def on_rating(self, session: Session, rating: str | None, lang: str, script: str = "simplified") -> tuple[Any, ...]:
        """The rating radio: rate the selected answer, or the latest one."""
        s = strings(lang, script)
        if rating not in ("up", "down"):
            return session, self.feedback_line(session, s)
        answered = [i for i, t in enumerate(session.turns) if t.answer is not None]
        if not answered:
            return session, f'<p class="pq-fb-line">{C.esc(s.feedback_none)}</p>'
        index = session.pending[0] if session.pending is not None else answered[-1]
        session.pending = (index, rating)  # type: ignore[assignment]
        self.record(session, index, rating)  # type: ignore[arg-type]
        return session, self.feedback_line(session, s)

    def submit_feedback(
        self, session: Session, rating: str | None, comment: str, lang: str, script: str = "simplified"
    ) -> tuple[Any, ...]:
        """Write the selected rating with its comment."""
        s = strings(lang, script)
        answered = [i for i, t in enumerate(session.turns) if t.answer is not None]
        if session.pending is None and rating in ("up", "down") and answered:
            session.pending = (answered[-1], rating)  # type: ignore[assignment]
        if session.pending is None:
            return session, f'<p class="pq-fb-line">{C.esc(s.feedback_none)}</p>', gr.update(), gr.update()
        index, chosen = session.pending
        session.pending = None
        ok = self.record(session, index, chosen, comment or "")
        msg = s.feedback_thanks if ok else s.feedback_unavailable
        return session, f'<p class="pq-fb-line" role="status">{C.esc(msg)}</p>', gr.update(value=None), ""


def _choices(s: Strings, options: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Dropdown choices with the 'all' option first (value "" means no filter)."""
    return [(s.any_option, ""), *options]


def build_blocks(pipeline: Pipeline, settings: Settings) -> gr.Blocks:
    """The chat UI over ``pipeline``; mount it with ``mount_options()`` (see module docstring).

    Mobile first: the conversation and the question box come first in the page (and in
    the Tab order); settings, filters and examples follow in a panel that starts folded
    on narrow screens and sits beside the conversation on wide ones.
    """
    app = ChatApp(pipeline, settings)
    zh = strings("zh")

    with gr.Blocks(title=zh.title, analytics_enabled=False, fill_width=False) as demo:
        session = gr.State(Session())

        with gr.Row(elem_classes="pq-header", equal_height=True):
            header = gr.HTML(_header_html(zh, settings), elem_id="pq-header")

        with gr.Row(elem_classes="pq-body"):
            with gr.Column(scale=3, min_width=0, elem_classes="pq-main"):
                chatbot = gr.Chatbot(
                    value=[],
                    label=zh.chatbot_label,
                    show_label=False,  # the floating label covered the first line of text
                    elem_id="pq-chat",
                    height="62vh",  # app.css sizes it to the screen on phones and in the portal panel
                    min_height=240,
                    # Answers are HTML we built and escaped ourselves: no Markdown pass
                    # (so "![x](http://…)" in a document stays text and is never fetched),
                    # the sanitizer stays on as a second line of defence, no custom tags
                    # survive, and no LaTeX rendering of "$" in figures.
                    render_markdown=False,
                    sanitize_html=True,
                    allow_tags=False,
                    latex_delimiters=[],
                    # Copy is our own per-answer button (it adds the reference list).
                    buttons=[],
                    feedback_options=("Like", "Dislike"),
                    placeholder=zh.chat_placeholder,
                    layout="bubble",
                    # Gradio's autoscroll goes to the bottom, past the direct answer to the
                    # citation cards; the page script scrolls to the answer's start instead.
                    autoscroll=False,
                )
                question = gr.Textbox(
                    label=zh.question_label, placeholder=zh.question_placeholder, lines=2, max_lines=6,
                    elem_id="pq-question", autofocus=False, max_length=settings.max_question_chars,
                )
                with gr.Row(elem_classes="pq-buttons"):
                    send = gr.Button(zh.send, variant="primary", elem_id="pq-send", scale=2)
                    clear = gr.Button(zh.new_chat, variant="secondary", elem_id="pq-new", scale=1)
                privacy = gr.HTML(f'<p class="pq-privacy">{C.esc(zh.privacy_note)}</p>')

                with gr.Accordion(zh.sources_title, open=True, elem_id="pq-sources-box") as sources_box:
                    sources = gr.HTML(C.sources_panel([], zh), elem_id="pq-sources")

                with gr.Accordion(zh.feedback_title, open=False, elem_id="pq-feedback") as feedback_box:
                    fb_line = gr.HTML(app.feedback_line(Session(), zh), elem_id="pq-fb-line")
                    rating = gr.Radio(
                        [(zh.rating_up, "up"), (zh.rating_down, "down")], value=None, label=zh.feedback_title,
                        elem_id="pq-rating",
                    )
                    comment = gr.Textbox(
                        label=zh.comment_label, placeholder=zh.comment_placeholder, lines=2, max_lines=5,
                        elem_id="pq-comment", max_length=2000,
                    )
                    fb_submit = gr.Button(zh.submit_feedback, elem_id="pq-fb-submit", size="md")

            with gr.Column(scale=1, min_width=0, elem_classes="pq-side"):
                with gr.Accordion(zh.side_title, open=True, elem_id="pq-side-box") as side_box:
                    with gr.Group(elem_classes="pq-panel pq-examples"):
                        examples_title = gr.HTML(_h2(zh.examples_title))
                        example_buttons = [
                            gr.Button(label, size="sm", variant="secondary", elem_classes="pq-example")
                            for label in examples("zh")
                        ]
                    with gr.Group(elem_classes="pq-panel"):
                        settings_title = gr.HTML(_h2(zh.settings_title))
                        lang = gr.Radio(
                            [("中文", "zh"), ("English", "en")], value="zh", label=zh.language_label,
                            elem_id="pq-lang",
                        )
                        script = gr.Radio(
                            [(zh.script_simplified, "simplified"), (zh.script_traditional, "traditional")],
                            value="simplified", label=zh.script_label, elem_id="pq-script",
                        )
                        large = gr.Checkbox(False, label=zh.large_text_label, elem_id="pq-large")
                    with gr.Group(elem_classes="pq-panel"):
                        filters_title = gr.HTML(_h2(zh.filters_title))
                        domain = gr.Dropdown(
                            _choices(zh, [(d, d) for d in DOMAINS]), value="", label=zh.domain_label,
                            elem_id="pq-domain", filterable=False,
                        )
                        city = gr.Dropdown(
                            _choices(zh, [(c, c) for c in app.cities()]), value="", label=zh.city_label,
                            elem_id="pq-city", filterable=False,
                        )
                        doc = gr.Dropdown(
                            _choices(zh, app.documents()), value="", label=zh.doc_label,
                            elem_id="pq-doc", filterable=False,
                        )

        # -- events --
        ask_inputs = [question, session, domain, city, doc, script, lang]
        ask_outputs = [question, chatbot, session, sources, fb_line, script]
        common = {"api_visibility": "private"}

        def relabel(lang_value: str, script_value: str, sess: Session, dom: str, cty: str, dc: str) -> tuple[Any, ...]:
            """Every label, the examples and the conversation in the chosen language and script."""
            s = strings(lang_value, script_value)
            conv = converter(script_value)
            return (
                _header_html(s, settings),
                gr.Accordion(label=s.side_title),
                _h2(s.settings_title),
                gr.update(label=s.language_label),
                gr.update(label=s.script_label, choices=[(s.script_simplified, "simplified"), (s.script_traditional, "traditional")]),
                gr.update(label=s.large_text_label),
                _h2(s.filters_title),
                gr.update(label=s.domain_label, choices=_choices(s, [(d, d) for d in DOMAINS]), value=dom),
                gr.update(label=s.city_label, choices=_choices(s, [(c, c) for c in app.cities()]), value=cty),
                gr.update(label=s.doc_label, choices=_choices(s, app.documents()), value=dc),
                _h2(s.examples_title),
                *(gr.update(value=label) for label in examples(lang_value, script_value)),
                gr.update(label=s.chatbot_label, placeholder=s.chat_placeholder, value=render_chat(sess.turns, s, script_value)),
                gr.update(label=s.question_label, placeholder=s.question_placeholder),
                gr.update(value=s.send),
                gr.update(value=s.new_chat),
                f'<p class="pq-privacy">{C.esc(s.privacy_note)}</p>',
                gr.Accordion(label=s.sources_title),
                C.sources_panel(last_passages(sess.turns), s, conv),
                gr.Accordion(label=s.feedback_title),
                app.feedback_line(sess, s),
                gr.update(label=s.feedback_title, choices=[(s.rating_up, "up"), (s.rating_down, "down")]),
                gr.update(label=s.comment_label, placeholder=s.comment_placeholder),
                gr.update(value=s.submit_feedback),
            )

        labelled = [header, side_box, settings_title, lang, script, large, filters_title, domain, city, doc,
                    examples_title, *example_buttons, chatbot, question, send, clear, privacy, sources_box,
                    sources, feedback_box, fb_line, rating, comment, fb_submit]
        relabel_inputs = [lang, script, session, domain, city, doc]

        def after_answer(lang_value: str, script_value: str, sess: Session, dom: str, cty: str, dc: str) -> tuple[Any, ...]:
            """Relabel once the answer is in, when the question's script flipped the switch."""
            if not sess.relabel:
                return tuple(gr.update() for _ in labelled)
            sess.relabel = False
            return relabel(lang_value, script_value, sess, dom, cty, dc)

        def ask(trigger: Any) -> None:
            """Answer on ``trigger``, then relabel if the question flipped the script switch."""
            # As many answers at once as the API allows (ui.admission): both share the cores.
            trigger(app.respond, ask_inputs, ask_outputs, concurrency_limit=settings.server.max_concurrent,
                    **common).then(
                after_answer, relabel_inputs, labelled, **common
            ).then(None, [lang, script], None, js=LANG_JS, **common)

        ask(question.submit)
        ask(send.click)
        for btn in example_buttons:
            # The button's own label says the question, in the interface's language.
            ask(btn.click(example_question, [btn], question, queue=False, **common).then)
        reset_outputs = [chatbot, session, sources, question, fb_line, rating, comment]
        clear.click(app.new_chat, [session, lang, script], reset_outputs, **common)
        chatbot.clear(app.new_chat, [session, lang, script], reset_outputs, **common)  # the chatbot's own 🗑
        large.change(None, [large], None, js=LARGE_TEXT_JS, **common)
        chatbot.like(app.on_like, [session, lang, script], [session, fb_line, rating, comment, feedback_box], **common)
        rating.input(app.on_rating, [session, rating, lang, script], [session, fb_line], **common)
        fb_submit.click(app.submit_feedback, [session, rating, comment, lang, script], [session, fb_line, rating, comment], **common)
        # .input, not .change: the switch set by a Traditional question relabels in after_answer.
        for switch in (lang, script):
            switch.input(relabel, relabel_inputs, labelled, **common).then(
                None, [lang, script], None, js=LANG_JS, **common
            )

        def refresh_filters() -> tuple[Any, ...]:
            """Documents may have been ingested since the page was built: refresh the lists."""
            return (
                gr.update(choices=_choices(zh, [(c, c) for c in app.cities()])),
                gr.update(choices=_choices(zh, app.documents())),
            )

        demo.load(None, None, [large], js=ON_LOAD_JS, **common)
        demo.load(refresh_filters, None, [city, doc], **common)
    # A full queue tells the user at once (Gradio shows its "queue is full" error) instead
    # of leaving them waiting behind everyone else.
    demo.queue(max_size=max(1, settings.server.max_queue))
    return demo


def _h2(text: str) -> str:
    """A panel heading (real heading elements let screen-reader users jump between panels)."""
    return f'<h2 class="pq-h2">{C.esc(text)}</h2>'


def _header_html(s: Strings, settings: Settings) -> str:
    """The skip link (the first Tab stop), title, one-line purpose and the answer-mode indicator."""
    return (
        f'<a class="pq-skip" href="#pq-question">{C.esc(s.skip_link)}</a>'
        f'<header class="pq-top"><div class="pq-brand"><h1 class="pq-h1">{C.esc(s.title)}</h1>'
        f'<p class="pq-sub">{C.esc(s.subtitle)}</p></div>{C.mode_badge(settings, s)}</header>'
    )


__all__ = ["build_blocks", "mount_options", "ChatApp", "Session", "Turn", "render_chat"]
