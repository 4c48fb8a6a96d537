"""The chat's HTML builders and event folding, without a browser.

Escaping, quote highlighting by offsets, the copy text with its reference list, the
mode indicator, and one real turn through `ChatApp.respond` over the bundled corpus.
"""

from __future__ import annotations

from dataclasses import fields as dc_fields, replace

import re
from pathlib import Path

import gradio as gr
import pytest

from rag.feedback import FEEDBACK_FILE, FeedbackStore
from rag.pipeline import Pipeline
from rag.text.script import to_traditional
from rag.types import Answer, Citation, Passage
from tests.conftest import make_settings
from ui import components as C
from ui.app import ChatApp, Session, Turn, build_blocks, history_of, mount_options, render_chat
from ui.i18n import EN, STRINGS, ZH, example_question, examples, strings
from rag.text.normalize import has_cjk

HOSTILE = '前文。<img src=x onerror="window.__xss=1"><script>alert(1)</script> ![p](http://127.0.0.1:9/t.png) 后文。'
QUOTE = "常德市建立了13家线下智能养老服务站点。"


def passage(text: str = "湖南常德启动了数字养老。" + QUOTE + "服务3万多老人。", start: int = 100, **kw: object) -> Passage:
    return Passage(
        chunk_id="c1", doc_id="d1", title="数字技术赋能城市公共服务", section="一、实践 > （四）养老",
        text=text, score=1.5, start=start, end=start + len(text),
        meta={"issuer": "国脉电子政务网", "date": "2023"}, **kw,  # type: ignore[arg-type]
    )


def citation(p: Passage, quote: str = QUOTE, shift: int = 0) -> Citation:
    off = p.text.find(quote)
    return Citation(
        n=1, doc_id=p.doc_id, chunk_id=p.chunk_id, title=p.title, section=p.section, quote=quote,
        start=p.start + off + shift, end=p.start + off + len(quote) + shift, issuer="国脉电子政务网", date="2023",
    )


def answer(p: Passage | None = None, text: str = "13家[1]。\n" + QUOTE + "[1]", **kw: object) -> Answer:
    p = p or passage()
    fields: dict = {"answer": text, "refused": False, "mode": "extractive", "citations": [citation(p)], "passages": [p]}
    fields.update(kw)
    return Answer(**fields)


def no_tags_from(text: str, html: str) -> None:
    """None of the hostile markup became elements or attributes."""
    assert "<img" not in html and "<script" not in html and "onerror=\"" not in html
    assert "&lt;img src=x onerror=&quot;window.__xss=1&quot;&gt;" in html
    assert "&lt;script&gt;" in html


# ---- escaping --------------------------------------------------------------------------


def test_hostile_passage_is_escaped_everywhere() -> None:
    p = passage(HOSTILE)
    c = Citation(1, "d1", "c1", "<b>标题</b>", "<i>节</i>", "前文。", p.start, p.start + 3, "<u>机构</u>", "2023")
    a = Answer(answer=HOSTILE, refused=False, mode="extractive", citations=[c], passages=[p])
    for html in (C.answer_html(a, ZH), C.sources_panel([p], ZH), C.user_html(HOSTILE), C.progress_html([], HOSTILE, ZH)):
        no_tags_from(HOSTILE, html)
    card = C.citation_card([c], [p], ZH)
    assert "&lt;b&gt;标题&lt;/b&gt;" in card and "&lt;u&gt;机构&lt;/u&gt;" in card and "<b>" not in card
    # Markdown image syntax stays literal text (the chatbot renders with Markdown off).
    assert "![p](http://127.0.0.1:9/t.png)" in C.sources_panel([p], ZH)


def test_error_and_status_lines_are_escaped() -> None:
    assert "<script>" not in C.error_html("<script>x</script>")
    assert "<script>" not in C.progress_html(["<script>x</script>"], "", ZH)


# ---- highlight offsets -------------------------------------------------------------------


def test_quote_found_by_citation_offsets_relative_to_the_passage() -> None:
    p = passage()
    span = C.locate_quote(citation(p), p)
    assert span is not None and p.text[span.start : span.end] == QUOTE
    html = C.highlight(p.text, [span], ZH)
    marked = re.search(r'<mark class="pq-quote">(.*?)</mark>', html)
    assert marked is not None
    inner = re.sub(r'<span class="pq-sr">.*?</span>', "", marked.group(1))
    assert inner == QUOTE
    # The quote's start and end are said in words, not by colour alone.
    assert ZH.quote_start in marked.group(1) and ZH.quote_end in marked.group(1)
    assert html.startswith("<p>湖南常德启动了数字养老。<mark")


def test_stale_offsets_fall_back_to_the_quote_text() -> None:
    p = passage()
    span = C.locate_quote(citation(p, shift=5), p)  # offsets point at the wrong words
    assert span is not None and p.text[span.start : span.end] == QUOTE


def test_quote_not_in_passage_is_said_not_guessed() -> None:
    p = passage()
    c = citation(p)
    c.quote = "完全不同的一句话。"
    assert C.locate_quote(c, p) is None
    card = C.citation_card([c], [p], ZH)
    assert ZH.quote_missing in card and "完全不同的一句话。" in card
    assert "湖南常德" not in card  # nothing in the passage is highlighted as if cited


def test_highlight_survives_traditional_display() -> None:
    p = passage()
    html = C.highlight(p.text, [C.locate_quote(citation(p), p)], ZH, to_traditional)
    assert "養老" in html and "<mark" in html and "13家線下" in html


def test_passage_line_breaks_are_single_br() -> None:
    html = C.highlight("第一段。\n\n第二段。", [], ZH)
    assert html == "<p>第一段。</p><p>第二段。</p>"
    p = passage("甲。\n\n" + QUOTE)
    assert "<br>" in C.highlight(p.text, [C.locate_quote(citation(p), p)], ZH) and "<br><br>" not in C.highlight(
        p.text, [C.locate_quote(citation(p), p)], ZH
    )


# ---- cards, copy text, badges --------------------------------------------------------------


def test_citation_card_shows_number_title_section_issuer_date() -> None:
    html = C.citation_cards(answer(), ZH)
    assert '<span class="pq-num" aria-hidden="true">1</span>' in html
    for piece in ("《数字技术赋能城市公共服务》", "一、实践 &gt; （四）养老", "国脉电子政务网", "2023", "<details", "展开原文"):
        assert piece in html


def test_a_law_citation_card_shows_its_locator_level_status_and_caveat() -> None:
    p = passage()
    c = replace(citation(p), title="中华人民共和国网络安全法", locator="《中华人民共和国网络安全法》第二十一条",
                legal_level="法律", status="已修订", notice="本文本为2016年原文<b>。</b>")
    html = C.citation_cards(answer(p, citations=[c]), ZH)
    for piece in ("出处", "《中华人民共和国网络安全法》第二十一条", "效力层级", "法律", "时效性", "已修订",
                  "注意：</strong>本文本为2016年原文&lt;b&gt;。&lt;/b&gt;"):
        assert piece in html, piece
    # 未核实 tells a reader nothing: it is not shown as if it were a status.
    unchecked = C.citation_cards(answer(p, citations=[replace(c, status="未核实", notice="")]), ZH)
    assert "时效性" not in unchecked and "注意" not in unchecked
    # The memo text names the article and carries the caveat.
    text = C.copy_text(answer(p, citations=[c]), ZH)
    assert "[1] 《中华人民共和国网络安全法》第二十一条 · 国脉电子政务网 · 2023\n" in text
    assert "注意：本文本为2016年原文" in text
    # In 繁體 the labels and the locator are converted like the rest.
    assert "《中華人民共和國網絡安全法》第二十一條" in C.citation_cards(answer(p, citations=[c]), ZH, to_traditional)


def test_copy_text_has_the_numbered_reference_list() -> None:
    text = C.copy_text(answer(), ZH)
    assert text.startswith("13家[1]。")
    assert "\n\n参考出处：\n[1] 《数字技术赋能城市公共服务》 · 一、实践 > （四）养老 · 国脉电子政务网 · 2023\n" in text
    assert text.endswith(f"    「{QUOTE}」")
    assert "References:" in C.copy_text(answer(), EN)
    # The hidden copy text travels with the answer, escaped.
    assert '<pre class="pq-copy-text" hidden>' in C.answer_html(answer(), ZH)


def test_refusal_is_said_in_words_and_fallback_is_shown() -> None:
    refused = C.answer_html(answer(refused=True, citations=[], text="资料中没有找到答案。"), ZH)
    assert ZH.refused_badge in refused and "pq-cites" not in refused
    fell_back = C.answer_html(answer(status="llm_fallback: timeout"), ZH)
    assert ZH.fallback_note in fell_back


def test_ref_marks_become_buttons_named_in_words() -> None:
    html = C.answer_html(answer(), ZH)
    assert '<button type="button" class="pq-ref"><span class="pq-sr">查看出处 1</span>' in html
    assert "pq-for-1" in html  # the card the marker opens


def test_one_card_per_cited_spot_listing_its_sentences() -> None:
    p = passage("甲句一。乙句二。丙句三。")
    cites = [replace(citation(p, q), n=i) for i, q in enumerate(("甲句一。", "乙句二。", "丙句三。"), 1)]
    other = replace(cites[0], n=4, doc_id="d2", chunk_id="c9", title="另一文件", section="第三条")
    html = C.citation_cards(answer(p, citations=[*cites, other], passages=[p]), ZH)
    assert html.count('<li class="pq-cite ') == 2
    assert "pq-for-1 pq-for-2 pq-for-3" in html
    # The three sentences are listed on the card, and all three are marked in the passage.
    first, second = html.split('<li class="pq-cite ')[1:]
    assert first.count('class="pq-quote-n"') == 3 and first.count('<mark class="pq-quote">') == 3
    # The other document's passage is not at hand: said, and its quote shown as itself.
    assert ZH.quote_missing in second and "pq-quote-n" not in second


def test_an_introduction_without_a_section_does_not_say_unstated() -> None:
    p = replace(passage(), section="")
    html = C.citation_cards(answer(p, citations=[replace(citation(p), section="")]), ZH)
    assert ZH.section_label not in html and ZH.unknown not in html


def test_traditional_interface_strings_have_no_simplified_only_character() -> None:
    hant = strings("zh", "traditional")
    for f in dc_fields(hant):
        value = getattr(hant, f.name)
        assert to_traditional(value) == value, (f.name, value)
    assert hant.section_label == "章節" and hant.html_lang == "zh-Hant"
    assert all(to_traditional(x) == x for x in examples("zh", "traditional"))
    assert all(not has_cjk(example_question(x)) for x in examples("en"))


def test_mode_indicator(tmp_path: Path) -> None:
    base = make_settings(tmp_path, tmp_path)
    assert "「离线抽取式」" in C.mode_badge(base, ZH)
    llm = base.model_copy(update={"llm": base.llm.model_copy(update={"base_url": "http://127.0.0.1:1/v1", "model": "qwen<x>"})})
    assert "「大模型：qwen&lt;x&gt;」" in C.mode_badge(llm, ZH)
    forced = base.model_copy(update={"answer": base.answer.model_copy(update={"mode": "extractive"})})
    forced = forced.model_copy(update={"llm": llm.llm})
    assert "离线抽取式" in C.mode_badge(forced, ZH)


def test_content_lang() -> None:
    assert C.content_lang("13家", C.identity) == "zh-Hans"
    assert C.content_lang("13家", to_traditional) == "zh-Hant"
    assert C.content_lang("Thirteen", C.identity) == "en"


def test_both_languages_fill_every_string() -> None:
    for s in STRINGS.values():
        assert all(isinstance(v, str) and v for v in vars(s).values())
        assert "{n}" in s.citation_aria and "{model}" in s.mode_llm


# ---- the app's folding of events ---------------------------------------------------------


def test_chat_has_two_messages_per_turn_and_history_is_plain_text() -> None:
    turns = [Turn("问一", answer()), Turn("问二", None, "出错了"), Turn("问三", answer())]
    msgs = render_chat(turns, ZH, "simplified")
    assert len(msgs) == 6 and [m["role"] for m in msgs] == ["user", "assistant"] * 3
    assert "出错了" in msgs[3]["content"]
    hist = history_of(turns)
    assert hist[0] == {"role": "user", "content": "问一"}
    assert hist[1]["content"] == answer().answer and len(hist) == 4  # the failed turn is left out


def test_build_blocks_and_mount_options(tmp_path: Path, cache_dir: Path) -> None:
    settings = make_settings(tmp_path / "home", cache_dir)
    demo = build_blocks(Pipeline(settings), settings)
    assert isinstance(demo, gr.Blocks)
    opts = mount_options()
    assert Path(opts["css_paths"][0]).is_file() and "viewport" in opts["head"]


def test_respond_streams_then_shows_cards_and_feedback_is_stored(bundled: Pipeline) -> None:
    app = ChatApp(bundled, bundled.settings)
    session = Session()
    frames = list(app.respond("常德建了多少家线下智能养老服务站点？", session, "", "", "", "simplified", "zh"))
    chats = [f[1] for f in frames if isinstance(f[1], list)]
    assert any("pq-status" in c[-1]["content"] for c in chats)  # a status line came first
    final = chats[-1][-1]["content"]
    assert "13家" in final and "pq-cite" in final and "<mark" in final
    assert "pq-source" in frames[-1][3]
    # Each source shows its opening words, so passages of one section can be told apart.
    assert frames[-1][3].count('class="pq-source-excerpt"') == frames[-1][3].count('<li class="pq-source"') >= 2
    assert len(session.turns) == 1 and session.turns[0].answer is not None

    # Traditional display repaints the stored answer.
    chat, _ = app.rerender(session, "traditional", "zh")
    assert "養老" in chat[-1]["content"]

    # A rating with a comment is written once, redacted by the store.
    session.pending = (0, "down")
    _, line, _, _ = app.submit_feedback(session, "down", "不对 13812345678", "zh")
    assert ZH.feedback_thanks in line and session.pending is None
    rows = FeedbackStore(bundled.settings.home / FEEDBACK_FILE).list()
    assert rows[0]["rating"] == "down" and "13812345678" not in rows[0]["comment"]
    assert rows[0]["mode"] == "extractive" and rows[0]["citations"][0]["n"] == 1


def test_a_thumb_is_stored_on_click_and_the_comment_completes_the_same_row(bundled: Pipeline, tmp_path: Path) -> None:
    settings = bundled.settings.model_copy(update={"home": tmp_path / "home"})  # its own feedback file
    app = ChatApp(bundled, settings)
    session = Session()
    list(app.respond("常德建了多少家线下智能养老服务站点？", session, "", "", "", "simplified", "zh"))
    list(app.respond("杭州老年食堂怎么付款？", session, "", "", "", "simplified", "zh"))
    store = FeedbackStore(settings.home / FEEDBACK_FILE)

    # 👎 on the first answer: written at once, before any comment (the tab may close now).
    app.on_like(session, "zh", "simplified", gr.LikeData(None, {"index": 1, "value": "", "liked": False}))
    rows = store.list()
    assert len(rows) == 1 and rows[0]["rating"] == "down" and "13家" in rows[0]["answer"]

    # Changing one's mind, then commenting, updates that row instead of adding more.
    app.on_like(session, "zh", "simplified", gr.LikeData(None, {"index": 1, "value": "", "liked": True}))
    _, line, _, _ = app.submit_feedback(session, "up", "有用 13812345678", "zh")
    rows = store.list()
    assert ZH.feedback_thanks in line
    assert len(rows) == 1 and rows[0]["rating"] == "up" and rows[0]["comment"].startswith("有用")
    assert "13812345678" not in rows[0]["comment"]

    # A thumb on the second answer is a second row; clicking it again withdraws it.
    app.on_like(session, "zh", "simplified", gr.LikeData(None, {"index": 3, "value": "", "liked": True}))
    assert len(store.list()) == 2
    app.on_like(session, "zh", "simplified", gr.LikeData(None, {"index": 3, "value": "", "liked": None}))
    rows = store.list()
    assert len(rows) == 1 and "13家" in rows[0]["answer"]

    # Nothing further is written when the chat is cleared.
    app.new_chat(session, "zh")
    assert len(store.list()) == 1


def test_empty_and_overlong_questions(bundled: Pipeline) -> None:
    app = ChatApp(bundled, bundled.settings)
    session = Session()
    assert len(list(app.respond("   ", session, "", "", "", "simplified", "zh"))) == 1
    assert session.turns == []
    frames = list(app.respond("问" * (bundled.settings.max_question_chars + 5), session, "", "", "", "simplified", "zh"))
    assert "pq-badge-error" in frames[-1][1][-1]["content"]


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_domain_and_city_filters_still_find_the_answer(bundled: Pipeline, lang: str) -> None:
    app = ChatApp(bundled, bundled.settings)
    frames = list(app.respond("常德建了多少家线下智能养老服务站点？", Session(), "养老", "常德", "", "simplified", lang))
    assert "13家" in frames[-1][1][-1]["content"]
