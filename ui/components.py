"""Pure HTML builders for the chat UI: answers, citation cards, sources, copy text.

Everything here is a function of plain data (``Answer``, ``Passage``, ``Strings``), so
it is unit-tested without a browser. One rule holds throughout: **every piece of
document, model or user text goes through ``esc`` before it is put into HTML.** The
chatbot renders our strings as HTML (with Markdown off), so escaping here is what keeps
a passage containing ``<script>``, ``<img onerror=…>`` or ``![x](http://…)`` inert text.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rag.answer.modes import mode_of
from rag.config import Settings
from rag.text.normalize import has_cjk
from rag.text.script import to_traditional
from rag.types import Answer, Citation, Passage
from ui.i18n import Strings

# Display conversion: identity for Simplified, OpenCC s2t for Traditional.
Convert = Callable[[str], str]

# "[1]", "[2]" markers the answerers put after supported sentences.
_REF_MARK = re.compile(r"\[(\d{1,3})\]")


def identity(text: str) -> str:
    """The Simplified-script display converter (the corpus is stored Simplified)."""
    return text


def esc(text: str | None) -> str:
    """HTML-escape text, quotes included, so it can go into element bodies and attributes."""
    return html.escape(text or "", quote=True)


def paragraphs(text: str) -> str:
    """Escaped text as ``<p>`` blocks, one per line; the chatbot does not render Markdown."""
    lines = [line.strip() for line in (text or "").split("\n")]
    return "".join(f"<p>{esc(line)}</p>" for line in lines if line)


def with_ref_marks(escaped: str, strings: Strings) -> str:
    """Turn escaped ``[n]`` markers into buttons that open their source card.

    Runs on already-escaped HTML: ``[`` and digits are not touched by escaping, and the
    replacement inserts only our own markup. The chatbot sanitizer drops aria-* and
    data-* attributes, so the button's name is visually hidden text and the page script
    reads the number from the button's text.
    """

    def sub(m: re.Match[str]) -> str:
        n = m.group(1)
        said = esc(strings.open_citation.format(n=n))
        return f'<button type="button" class="pq-ref"><span class="pq-sr">{said}</span><span aria-hidden="true">[{n}]</span></button>'

    return _REF_MARK.sub(sub, escaped)


@dataclass(frozen=True)
class QuoteSpan:
    """Where a citation's quote sits inside a passage's text (offsets into ``passage.text``)."""

    start: int
    end: int


def locate_quote(citation: Citation, passage: Passage) -> QuoteSpan | None:
    """The quote's span in the passage text, or None when it is not there.

    Citation offsets are document offsets, like the passage's own ``start``/``end``, so
    the quote sits at ``citation.start - passage.start`` in the passage. That is checked
    against the quote text (a stale index could shift offsets), and a plain text search
    is the fallback, so a highlight is never put on the wrong words.
    """
    s, e = citation.start - passage.start, citation.end - passage.start
    if 0 <= s < e <= len(passage.text) and passage.text[s:e] == citation.quote:
        return QuoteSpan(s, e)
    if citation.quote:
        found = passage.text.find(citation.quote)
        if found >= 0:
            return QuoteSpan(found, found + len(citation.quote))
    return None


def _mark(quote: str, strings: Strings, convert: Convert) -> str:
    """The escaped quote in ``<mark>``, with its start and end said in words for screen readers."""
    return (
        f'<mark class="pq-quote"><span class="pq-sr">{esc(strings.quote_start)}</span>'
        f"{esc(convert(quote))}"
        f'<span class="pq-sr">{esc(strings.quote_end)}</span></mark>'
    )


def highlight(text: str, spans: Sequence[QuoteSpan], strings: Strings, convert: Convert = identity) -> str:
    """Escaped passage text with each quoted span in ``<mark>``.

    The mark carries words for screen readers and a non-colour cue (underline, via CSS)
    so the highlight is not conveyed by colour alone. Conversion to Traditional is done
    per piece: OpenCC maps character for character, so the split points stay valid.
    """
    if not spans:
        return paragraphs(convert(text))
    body, at = "", 0
    for span in sorted(spans, key=lambda x: x.start):
        if span.start < at:
            continue  # overlapping quotes: the first one is marked
        body += esc(convert(text[at : span.start])) + _mark(text[span.start : span.end], strings, convert)
        at = span.end
    body += esc(convert(text[at:]))
    # Line breaks inside a passage become one <br> each run: the text is escaped, so
    # this only adds our own tags.
    return "<p>" + re.sub(r"(?:\s*\n)+\s*", "<br>", body) + "</p>"


def _meta_line(strings: Strings, section: str | None, issuer: str, date: str, convert: Convert) -> str:
    """The section · issuer · date line as a description list (labels read aloud).

    ``section=None`` leaves the section out (the sources list shows it in the summary).
    """
    items = [
        (strings.section_label, section),
        (strings.issuer_label, issuer),
        (strings.date_label, date),
    ]
    if not section:
        # Left out when the sources list shows it elsewhere (None), and when the text has
        # no heading there (a paper's introduction): 「章节：未注明」 tells a reader nothing.
        items = items[1:]
    parts = "".join(
        f'<div class="pq-meta-item"><dt>{esc(label)}</dt><dd>{esc(convert(value) if value else strings.unknown)}</dd></div>'
        for label, value in items
    )
    return f'<dl class="pq-meta">{parts}</dl>'


def _source_line(strings: Strings, citation: Citation, convert: Convert) -> str:
    """Reference (《…》第二十一条), legal level and status, as a description list; the status
    is shown only when somebody checked it (未核实 says nothing a reader can use)."""
    items = [(strings.locator_label, citation.locator), (strings.level_label, citation.legal_level)]
    if citation.status and citation.status != "未核实":
        items.append((strings.status_label, citation.status))
    parts = "".join(
        f'<div class="pq-meta-item"><dt>{esc(label)}</dt><dd>{esc(convert(value))}</dd></div>'
        for label, value in items if value
    )
    return f'<dl class="pq-meta pq-source-ref">{parts}</dl>' if parts else ""


def cited_groups(citations: Sequence[Citation]) -> list[list[Citation]]:
    """Citations grouped by the spot they point to — one document's section or article —
    in the order of their first number: an answer citing one article three times gets one
    card, listing the three sentences."""
    groups: dict[tuple[str, str], list[Citation]] = {}
    for c in citations:
        groups.setdefault((c.doc_id, c.locator or c.section or c.chunk_id), []).append(c)
    return list(groups.values())


def citation_card(group: Sequence[Citation], passages: Sequence[Passage], strings: Strings,
                  convert: Convert = identity) -> str:
    """One card per cited spot: its numbers, title, reference, section, issuer, date, the
    document's notice and the sentences cited from it; expands to the passage(s) with
    every cited sentence marked."""
    first = group[0]
    numbers = "".join(f'<span class="pq-num" aria-hidden="true">{c.n}</span>' for c in group)
    label = "、".join(str(c.n) for c in group)
    # The passages the quotes sit in, in order; a quote not found in any is shown as itself.
    shown: dict[str, tuple[Passage, list[QuoteSpan]]] = {}
    missing: list[Citation] = []
    for c in group:
        passage = next((p for p in passages if p.chunk_id == c.chunk_id), None)
        span = locate_quote(c, passage) if passage is not None else None
        if passage is None or span is None:
            missing.append(c)
            continue
        shown.setdefault(passage.chunk_id, (passage, []))[1].append(span)
    body = "".join(
        f'<div class="pq-passage-text">{highlight(p.text, spans, strings, convert)}</div>' for p, spans in shown.values()
    )
    if missing:
        # The passage is not at hand or the quote is not in it: say so and show the quote
        # itself, rather than highlighting words that were not cited.
        body += f'<p class="pq-note">{esc(strings.quote_missing)}</p>' + "".join(
            f"<p>{_mark(c.quote, strings, convert)}</p>" for c in missing
        )
    notice = (
        f'<p class="pq-note pq-notice"><strong>{esc(strings.notice_label)}：</strong>{esc(convert(first.notice))}</p>'
        if first.notice else ""
    )
    quotes = "".join(
        f'<li><span class="pq-quote-n" aria-hidden="true">[{c.n}]</span>{esc(convert(c.quote))}</li>' for c in group
    ) if len(group) > 1 else ""
    # The class names say which numbers the card answers for: the sanitizer keeps classes,
    # and a [n] marker in the answer finds its card by them.
    targets = " ".join(f"pq-for-{c.n}" for c in group)
    return (
        f'<li class="pq-cite {targets}" aria-label="{esc(strings.citation_aria.format(n=label))}">'
        f'<div class="pq-cite-head">{numbers}'
        f'<span class="pq-title">《{esc(convert(first.title))}》</span></div>'
        f"{_source_line(strings, first, convert)}"
        f"{_meta_line(strings, first.section, first.issuer, first.date, convert)}"
        f"{notice}"
        f'{f"<ol class=pq-quotes>{quotes}</ol>" if quotes else ""}'
        f'<details class="pq-passage"><summary>{esc(strings.open_passage)}</summary>{body}</details></li>'
    )


def citation_cards(answer: Answer, strings: Strings, convert: Convert = identity) -> str:
    """The citation cards under an answer, one per cited spot (none for refusals)."""
    if not answer.citations:
        return ""
    cards = "".join(citation_card(g, answer.passages, strings, convert) for g in cited_groups(answer.citations))
    return (
        f'<section class="pq-cites" aria-label="{esc(strings.citations_title)}">'
        f'<h3 class="pq-h">{esc(strings.citations_title)}</h3><ol class="pq-cite-list">{cards}</ol></section>'
    )


def copy_text(answer: Answer, strings: Strings, convert: Convert = identity) -> str:
    """Plain text to paste into a memo: the answer, then the numbered reference list."""
    lines = [convert(answer.answer).strip()]
    if answer.citations:
        lines += ["", strings.references_heading]
        for c in answer.citations:
            # The locator names document and article (《…》第二十一条); without one, the title
            # and the section say where the quote is.
            where_in = (c.locator,) if c.locator else (f"《{c.title}》" if c.title else "", c.section)
            where = " · ".join(convert(x) for x in (*where_in, c.issuer, c.date) if x)
            lines.append(f"[{c.n}] {where}")
            lines.append(f"    「{convert(c.quote)}」")
            if c.notice:
                lines.append(f"    {strings.notice_label}：{convert(c.notice)}")
    return "\n".join(lines)


def answer_html(answer: Answer, strings: Strings, convert: Convert = identity) -> str:
    """The assistant message for a finished answer: badge, text, notes, citation cards, copy button.

    The copy text rides along in a hidden ``<pre>``; the page script copies it when the
    button is pressed, so each answer in the history keeps its own copy button.
    """
    if answer.refused:
        badge = f'<p class="pq-badge pq-badge-refused"><span aria-hidden="true">⚠ </span>{esc(strings.refused_badge)}</p>'
    else:
        badge = ""
    notes = ""
    if answer.status.startswith("llm_fallback"):
        notes = f'<p class="pq-note pq-fallback"><span aria-hidden="true">ⓘ </span>{esc(strings.fallback_note)}</p>'
    body = with_ref_marks(paragraphs(convert(answer.answer)), strings)
    # The chatbot sanitizer drops data-* and aria-* attributes, so the page script finds
    # its messages and the text to copy in hidden elements next to the button.
    copy = (
        f'<div class="pq-actions"><button type="button" class="pq-copy">{esc(strings.copy_button)}</button>'
        f'<span class="pq-copy-status" role="status"></span>'
        f'<span class="pq-copy-done" hidden>{esc(strings.copied)}</span>'
        f'<span class="pq-copy-fail" hidden>{esc(strings.copy_failed)}</span></div>'
        f'<pre class="pq-copy-text" hidden>{esc(copy_text(answer, strings, convert))}</pre>'
    )
    return (
        f'<div class="pq-answer" lang="{content_lang(answer.answer, convert)}">'
        f'{badge}<div class="pq-answer-text">{body}</div>{notes}'
        f"{citation_cards(answer, strings, convert)}{copy}</div>"
    )


def content_lang(text: str, convert: Convert) -> str:
    """BCP 47 tag of answer/document text, so screen readers pick the right voice."""
    if not has_cjk(text):
        return "en"
    return "zh-Hant" if convert is to_traditional else "zh-Hans"


def progress_html(statuses: Sequence[str], partial: str, strings: Strings, convert: Convert = identity) -> str:
    """The assistant message while the pipeline works: status lines, then the streamed text."""
    if partial:
        return f'<div class="pq-answer pq-streaming"><div class="pq-answer-text">{paragraphs(convert(partial))}</div></div>'
    last = statuses[-1] if statuses else strings.working
    return f'<p class="pq-status" role="status"><span class="pq-spinner" aria-hidden="true"></span>{esc(convert(last))}</p>'


def error_html(message: str) -> str:
    """An error shown in the conversation, in words (not just a red colour)."""
    return f'<p class="pq-badge pq-badge-error"><span aria-hidden="true">⚠ </span>{esc(message)}</p>'


def user_html(question: str) -> str:
    """The user's own message, escaped like everything else."""
    return f'<div class="pq-user-text">{paragraphs(question)}</div>'


def excerpt(text: str, limit: int = 48) -> str:
    """The opening of a passage on one line, cut at ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[:limit].rstrip() + "…"


def sources_panel(passages: Sequence[Passage], strings: Strings, convert: Convert = identity) -> str:
    """The list of retrieved passages for the latest question, each expandable."""
    if not passages:
        return f'<p class="pq-empty">{esc(strings.sources_empty)}</p>'
    items = []
    for i, p in enumerate(passages, 1):
        label = strings.source_item.format(n=i)
        items.append(
            f'<li class="pq-source"><details><summary><span class="pq-source-n">{esc(label)}</span> '
            f'<span class="pq-title">《{esc(convert(p.title))}》</span>'
            f'<span class="pq-source-section">{esc(convert(p.section))}</span>'
            # Passages of one section share title and heading; their opening words tell
            # them apart before the user expands one.
            f'<span class="pq-source-excerpt">{esc(convert(excerpt(p.text)))}</span></summary>'
            f"{_meta_line(strings, None, str(p.meta.get('issuer', '')), str(p.meta.get('date', '')), convert)}"
            f'<p class="pq-score">{esc(strings.score_label)}：{p.score:.2f}</p>'
            f'<div class="pq-passage-text">{paragraphs(convert(p.text))}</div></details></li>'
        )
    return f'<ol class="pq-source-list" aria-label="{esc(strings.sources_title)}">{"".join(items)}</ol>'


def mode_badge(settings: Settings, strings: Strings) -> str:
    """The visible indicator 「离线抽取式」 or 「大模型：<model>」."""
    # The pipeline picks its answer mode with the same function: the badge cannot disagree.
    kind = mode_of(settings)
    text = strings.mode_llm.format(model=settings.llm.model) if kind == "llm" else strings.mode_extractive
    return (
        f'<p class="pq-mode pq-mode-{kind}"><span class="pq-mode-label">{esc(strings.mode_label)}：</span>'
        f"<strong>「{esc(text)}」</strong></p>"
    )
