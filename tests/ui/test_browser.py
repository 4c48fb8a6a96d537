"""The chat in a real browser: `policy-qa serve` in a subprocess, Debian Chromium via Playwright.

What a user would notice: the answer streams in with its citation card, the cited
passage opens with the quote highlighted, large-text mode really enlarges the text,
axe-core finds no serious or critical accessibility problems, a hostile document stays
inert text (no script runs, no image is fetched), ratings land in the feedback store,
and the script/language switches repaint the page. Screenshots go to
``artifacts/screenshots/`` for review.

Skipped (not failed) only when /usr/bin/chromium is absent. axe-core comes from the
``axe-playwright-python`` package, which vendors ``axe.min.js`` (no CDN at test time).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from rag.feedback import FEEDBACK_FILE, FeedbackStore
from rag.text.normalize import has_cjk
from tests.conftest import REPO, run_cli

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = REPO / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="Debian chromium is not installed at /usr/bin/chromium"),
]

QUESTION = "常德建了多少家线下智能养老服务站点？"
ADMIN_TOKEN = "browser-test-admin-token"
LONG_QUESTION = "文章提出了哪些对策建议？"  # six recommendations: an answer taller than the chat
XSS_QUESTION = "青柳市数字服务窗口什么时候开放？"
# A document a hostile or careless uploader might bring: inline HTML with a handler,
# a script tag, and a Markdown image pointing at a tracker (port 9, "discard").
XSS_DOC = (
    "青柳市数字服务通知\n\n"
    '青柳市数字服务窗口于2024年3月开放，<img src=x onerror="window.__xss=1"> 提供预约挂号服务。\n\n'
    "窗口位置见图 ![p](http://127.0.0.1:9/track.png) ，另见<script>window.__xss=2</script>说明。\n"
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    """Poll ``url`` until it answers 200; fail early if the server process died."""
    deadline = time.monotonic() + timeout
    last: Any = None
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"`policy-qa serve` exited with {proc.returncode}")
        try:
            r = httpx.get(url, timeout=5)
            if r.status_code == 200:
                return
            last = r.text
        except httpx.HTTPError as exc:
            last = exc
        time.sleep(0.3)
    raise RuntimeError(f"{url} not ready after {timeout:g} s: {last}")


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The server's POLICY_QA_HOME (module-wide: one server for every browser test)."""
    return tmp_path_factory.mktemp("browser-home")


@pytest.fixture(scope="module")
def portal_port() -> int:
    """The port the stand-in portal page is served on (its origin may frame the chat)."""
    return _free_port()


@pytest.fixture(scope="module")
def portal(server: str, portal_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """examples/portal.html on its own loopback origin, its <script> pointed at the server."""
    import functools
    import http.server
    import threading

    folder = tmp_path_factory.mktemp("portal")
    page = (REPO / "examples" / "portal.html").read_text(encoding="utf-8").replace("http://127.0.0.1:7860", server)
    (folder / "portal.html").write_text(page, encoding="utf-8")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", portal_port), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{portal_port}/portal.html"
    httpd.shutdown()


@pytest.fixture(scope="module")
def server(home: Path, cache_dir: Path, portal_port: int, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`policy-qa serve` on a free port over the bundled corpus plus the hostile document."""
    docs = tmp_path_factory.mktemp("browser-docs")
    hostile = docs / "qingliu-notice.txt"
    hostile.write_text(XSS_DOC, encoding="utf-8")
    for args in (["ingest"], ["ingest", str(hostile)]):
        done = run_cli(args, home, cache_dir)
        assert done.returncode == 0, done.stderr

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    env.update({"POLICY_QA_HOME": str(home), "POLICY_QA_CACHE_DIR": str(cache_dir),
                # The stand-in portal (examples/portal.html, served by the test) may frame the chat.
                "POLICY_QA_SERVER_ALLOWED_ORIGINS": f'["http://127.0.0.1:{portal_port}"]',
                "POLICY_QA_SERVER_ADMIN_TOKEN": ADMIN_TOKEN})
    log_path = docs / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "cli", "serve", "--port", str(port)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(url + "/healthz", proc, 120)
            _wait(url + "/readyz", proc, 600)
            yield url
        except Exception:
            print(log_path.read_text(encoding="utf-8", errors="replace")[-4000:])
            raise
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def _open(browser: Any, server: str, width: int = 1280, height: int = 900) -> Any:
    """A fresh tab (fresh chat session) on the UI at the given viewport, its requests recorded."""
    context = browser.new_context(viewport={"width": width, "height": height}, locale="zh-CN")
    pg = context.new_page()
    pg.requests = []  # type: ignore[attr-defined]
    pg.on("request", lambda req: pg.requests.append(req.url))  # type: ignore[attr-defined]
    pg.goto(server + "/")
    pg.wait_for_selector("#pq-question textarea", timeout=60_000)
    return pg


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh desktop tab on the UI, with every request it makes recorded."""
    pg = _open(browser, server)
    yield pg
    pg.context.close()


def _shot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def _ask(page: Any, question: str) -> Any:
    """Type a question, send it, and wait for the finished answer; returns the last answer element."""
    # Record what the conversation shows while it works (status line, streamed text),
    # so the test can tell a streamed answer from one that simply appeared.
    page.evaluate(
        """() => {
          window.__pqSeen = [];
          window.__pqLengths = [];  // the streamed text's length at each repaint
          const chat = document.querySelector('#pq-chat');
          new MutationObserver(() => {
            if (chat.querySelector('.pq-status')) window.__pqSeen.push('status');
            const streaming = chat.querySelector('.pq-streaming');
            if (streaming) {
              window.__pqSeen.push('streaming');
              const n = streaming.innerText.length;
              if (window.__pqLengths[window.__pqLengths.length - 1] !== n) window.__pqLengths.push(n);
            }
          }).observe(chat, {subtree: true, childList: true, characterData: true});
        }"""
    )
    before = page.locator("#pq-chat .pq-answer:not(.pq-streaming), #pq-chat .pq-badge-error").count()
    page.fill("#pq-question textarea", question)
    page.click("#pq-send")
    done = page.locator("#pq-chat .pq-answer:not(.pq-streaming), #pq-chat .pq-badge-error")
    page.wait_for_function(
        "n => document.querySelectorAll('#pq-chat .pq-answer:not(.pq-streaming), #pq-chat .pq-badge-error').length > n",
        arg=before,
        timeout=120_000,
    )
    return done.last


def _axe(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page as it is now."""
    import axe_playwright_python

    script = Path(axe_playwright_python.__file__).with_name("axe.min.js")
    page.add_script_tag(path=str(script))
    violations = page.evaluate(
        """async () => {
          const r = await axe.run(document, {resultTypes: ['violations']});
          return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                                         nodes: v.nodes.slice(0, 5).map(n => n.target.join(' '))}));
        }"""
    )
    return [v for v in violations if v["impact"] in ("serious", "critical")]


def test_answer_streams_with_citation_card_highlight_large_text_and_axe(page: Any) -> None:
    answer = _ask(page, QUESTION)
    assert "13家" in answer.locator(".pq-answer-text").inner_text()
    seen = page.evaluate("window.__pqSeen")
    assert "status" in seen or "streaming" in seen, "nothing was shown while the answer was being made"

    card = answer.locator(".pq-cite").first
    assert card.locator(".pq-num").inner_text() == "1"
    assert "数字技术赋能城市公共服务" in card.locator(".pq-title").inner_text()
    meta = "\n".join(card.locator(".pq-meta").all_inner_texts())
    assert "养老公共服务" in meta and "发布机构" in meta and "日期" in meta
    # The locator an official pastes into a memo: document and outline numbers.
    assert "出处" in meta and "《数字技术赋能城市公共服务的实践、问题与对策》一、（四）" in meta
    _shot(page, "answer-with-citations.png")

    # Open the cited passage: the quote is highlighted (and said in words, not colour alone).
    card.locator("summary").click()
    mark = card.locator("mark.pq-quote")
    mark.wait_for(state="visible")
    assert "13家线下智能养老服务站点" in mark.inner_text()
    assert mark.evaluate("m => getComputedStyle(m).textDecorationLine").startswith("underline")
    assert "引文开始" in mark.text_content()
    _shot(page, "opened-passage.png")

    # The sources panel lists what was retrieved.
    assert page.locator("#pq-sources .pq-source").count() >= 1

    # One button copies the answer with its numbered references.
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    answer.locator("button.pq-copy").click()
    page.wait_for_function("() => typeof window.__pqLastCopy === 'string'")
    copied = page.evaluate("window.__pqLastCopy")
    assert "13家" in copied and "参考出处：" in copied and "[1] 《数字技术赋能城市公共服务的实践、问题与对策》" in copied
    assert answer.locator(".pq-copy-status").inner_text() == "已复制到剪贴板"

    # Keyboard: Tab from the question box reaches the send button, with a visible outline.
    page.focus("#pq-question textarea")
    page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => { const e = document.activeElement; const s = getComputedStyle(e);"
        " return {id: e.id, style: s.outlineStyle, width: parseFloat(s.outlineWidth)}; }"
    )
    assert focused["id"] == "pq-send" and focused["style"] != "none" and focused["width"] >= 2

    assert page.evaluate("document.documentElement.lang") == "zh-CN"
    problems = _axe(page)
    assert not problems, problems

    # Large text, high contrast: the answer text really grows.
    para = answer.locator(".pq-answer-text p").first
    small = float(para.evaluate("p => parseFloat(getComputedStyle(p).fontSize)"))
    page.locator("#pq-large input").check()
    page.wait_for_function("() => document.documentElement.classList.contains('pq-large')")
    large = float(para.evaluate("p => parseFloat(getComputedStyle(p).fontSize)"))
    assert large >= small * 1.2, (small, large)
    _shot(page, "large-text-mode.png")
    problems = _axe(page)
    assert not problems, problems


def test_hostile_document_renders_as_inert_text(page: Any) -> None:
    answer = _ask(page, XSS_QUESTION)
    # Open every passage so any payload inside would be in the live DOM.
    for summary in page.locator("#pq-chat summary, #pq-sources summary").all():
        summary.click()
    page.wait_for_timeout(1500)

    assert page.evaluate("typeof window.__xss") == "undefined"
    assert not [u for u in page.requests if "127.0.0.1:9/" in u or u.endswith("/x")], page.requests
    # The payload is shown as text, not silently dropped and not turned into elements.
    assert "onerror" in page.locator("#pq-sources").inner_text()
    assert "![p](http://127.0.0.1:9/track.png)" in page.locator("#pq-sources").inner_text()
    assert "2024年3月" in answer.inner_text()
    assert page.locator("#pq-chat img[src='x'], #pq-sources img, #pq-chat script, #pq-sources script").count() == 0
    _shot(page, "hostile-document-inert.png")


def test_rating_with_comment_is_stored(page: Any, home: Path) -> None:
    _ask(page, QUESTION)
    # Gradio's own thumb buttons, labelled in the browser's language (赞 in zh-CN).
    page.locator("#pq-chat button[aria-label='赞'], #pq-chat button[aria-label='Like']").last.click()
    # The thumb opens the rating panel on that answer; the comment is optional.
    page.wait_for_function("() => (document.querySelector('#pq-fb-line') || {innerText: ''}).innerText.includes('第 1 条')")
    assert page.locator("#pq-rating input[value='up']").is_checked()
    # The thumb alone is already stored: a user who closes the tab now has still rated.
    rows = FeedbackStore(home / FEEDBACK_FILE).list()
    assert len(rows) == 1 and rows[0]["rating"] == "up" and rows[0]["comment"] == ""
    page.fill("#pq-comment textarea", "很有用，电话13812345678")
    page.click("#pq-fb-submit")
    page.wait_for_function("() => document.querySelector('#pq-fb-line').innerText.includes('感谢')")
    rows = FeedbackStore(home / FEEDBACK_FILE).list()
    assert len(rows) == 1 and rows[0]["rating"] == "up"  # the comment completed the same row
    assert rows[0]["comment"].startswith("很有用") and "13812345678" not in rows[0]["comment"]
    assert "13家" in rows[0]["answer"] and rows[0]["citations"][0]["n"] == 1


def test_traditional_script_and_english_interface(page: Any) -> None:
    answer = _ask(page, QUESTION)
    page.get_by_label("繁體").check()
    page.wait_for_function("() => document.querySelector('#pq-chat .pq-answer-text').innerText.includes('養老')")
    assert "13家線下" in page.locator("#pq-chat .pq-answer-text").last.inner_text()

    page.get_by_label("English").check()
    page.wait_for_function("() => document.documentElement.lang === 'en'")
    page.wait_for_function("() => document.querySelector('#pq-send').innerText.trim() === 'Send'")
    assert page.locator("#pq-new").inner_text().strip() == "New chat"
    assert "Offline extractive" in page.locator("#pq-header").inner_text()
    assert "Sources cited" in page.locator("#pq-chat").inner_text()
    assert answer is not None


# ---- the chat as a phone user, a portal visitor, a keyboard user and an older trainee meet it ----


def _visible_in(page: Any, selector: str) -> dict[str, Any]:
    """Where the last element matching ``selector`` sits against the viewport (and its
    scroll box), in CSS pixels."""
    return page.evaluate(
        """(sel) => { const all = document.querySelectorAll(sel); const e = all[all.length - 1];
          const r = e.getBoundingClientRect();
          let box = e.parentElement; while (box && !['auto', 'scroll'].includes(getComputedStyle(box).overflowY)) box = box.parentElement;
          const b = box ? box.getBoundingClientRect() : {top: 0, bottom: innerHeight};
          return {top: r.top, bottom: r.bottom, height: innerHeight, width: innerWidth,
                  boxTop: b.top, boxBottom: b.bottom, scrollWidth: document.documentElement.scrollWidth}; }""",
        selector,
    )


def test_enter_sends_and_shift_enter_starts_a_new_line(page: Any) -> None:
    box = page.locator("#pq-question textarea")
    box.click()
    box.type("常德建了多少家")
    page.keyboard.press("Shift+Enter")
    box.type("线下智能养老服务站点？")
    assert box.input_value() == "常德建了多少家\n线下智能养老服务站点？"
    page.wait_for_timeout(500)
    assert page.locator("#pq-chat .message-row").count() == 0, "Shift+Enter sent the question"
    page.keyboard.press("Enter")
    page.wait_for_selector("#pq-chat .pq-answer:not(.pq-streaming)", timeout=120_000)
    assert "13家" in page.locator("#pq-chat .pq-answer-text").last.inner_text()
    assert box.input_value() == ""


def test_the_direct_answer_stays_in_view_and_the_text_streams(page: Any) -> None:
    # A short answer (「13家[1]。」 and one sentence) still grows in visibly.
    _ask(page, QUESTION)
    lengths = page.evaluate("window.__pqLengths")
    assert len(lengths) >= 3 and lengths == sorted(lengths), f"the text did not grow in steps: {lengths}"
    answer = _ask(page, LONG_QUESTION)
    head = _visible_in(page, "#pq-chat .pq-answer .pq-answer-text p:first-child")
    # The answer's first line is inside the chat's scroll box and the window: not
    # scrolled past to the citation cards.
    assert head["boxTop"] - 1 <= head["top"] and head["bottom"] <= head["boxBottom"] + 1, head
    assert 0 <= head["top"] and head["bottom"] <= head["height"], head
    assert "政策建议" in answer.locator(".pq-answer-text p").first.inner_text()
    # One card per cited spot, and a [n] marker opens its card's passage.
    cards = answer.locator(".pq-cite")
    assert cards.count() == 6 and answer.locator("button.pq-ref").count() == 12
    answer.locator("button.pq-ref").nth(1).click()  # [2]: the first recommendation's sentence
    opened = answer.locator(".pq-for-2 details")
    assert opened.get_attribute("open") is not None
    assert "健全组织领导体系" in answer.locator(".pq-for-2").inner_text()
    _shot(page, "long-answer-in-view.png")


def _phone_checks(frame: Any, where: str) -> None:
    """Two answers, then: nothing wider than the screen, the question box on screen."""
    for q in (QUESTION, LONG_QUESTION):
        _ask(frame, q)
    frame.wait_for_timeout(300)
    box = _visible_in(frame, "#pq-question textarea")
    assert box["scrollWidth"] <= box["width"], f"{where}: the page is {box['scrollWidth']} px wide in {box['width']} px"
    assert 0 <= box["top"] and box["bottom"] <= box["height"], f"{where}: the question box is off screen: {box}"
    new = frame.evaluate("() => document.querySelector('#pq-new').getBoundingClientRect().right")
    assert new <= box["width"], f"{where}: 新对话 is cut off at {new} px of {box['width']}"


def test_phone_layout_has_no_overflow_and_the_question_box_first(browser: Any, server: str) -> None:
    pg = _open(browser, server, 390, 844)
    try:
        # Before anything is asked the question box is on the first screen, not under the settings.
        box = _visible_in(pg, "#pq-question textarea")
        assert box["bottom"] <= box["height"], box
        _phone_checks(pg, "phone")
        _shot(pg, "phone-after-two-answers.png")
        problems = _axe(pg)
        assert not problems, problems
    finally:
        pg.context.close()


def test_portal_embed_fits_its_panel_and_esc_closes_it(browser: Any, server: str, portal: str) -> None:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    pg = context.new_page()
    try:
        pg.goto(portal)
        pg.get_by_role("button", name="打开政策问答助手").click()
        pg.wait_for_selector("iframe.pqa-frame")
        frame = pg.frame_locator("iframe.pqa-frame")
        frame.locator("#pq-question textarea").wait_for(timeout=60_000)
        inner = next(f for f in pg.frames if f.url.startswith(server))
        box = _visible_in(inner, "#pq-question textarea")
        assert box["bottom"] <= box["height"], f"the question box is below the panel: {box}"
        _phone_checks(inner, "embed")
        _shot(pg, "portal-embed-after-two-answers.png")
        problems = _axe(inner)
        assert not problems, problems
        # Esc with focus inside the iframe closes the panel and gives focus back to the button.
        inner.locator("#pq-question textarea").focus()
        pg.keyboard.press("Escape")
        pg.wait_for_function("() => !document.querySelector('#pqa-panel').hasAttribute('data-open')")
        assert pg.evaluate("document.activeElement.className") == "pqa-btn"
    finally:
        context.close()


def test_skip_link_is_the_first_tab_stop_and_moves_focus_to_the_question(page: Any) -> None:
    page.keyboard.press("Tab")
    first = page.evaluate("() => ({cls: document.activeElement.className, text: document.activeElement.innerText})")
    assert first["cls"] == "pq-skip" and first["text"] == "跳到提问框", first
    link = page.locator("a.pq-skip").bounding_box()
    assert link is not None and link["y"] >= 0 and link["height"] >= 24  # it shows when focused
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement === document.querySelector('#pq-question textarea')")


def _small_buttons(page: Any, least: float) -> list[str]:
    """Visible buttons smaller than ``least`` × ``least`` px."""
    return page.evaluate(
        """(least) => [...document.querySelectorAll('button')].filter(b => {
             const r = b.getBoundingClientRect(); const s = getComputedStyle(b);
             return r.width > 0 && r.height > 0 && s.visibility !== 'hidden' && (r.width < least - 0.5 || r.height < least - 0.5);
           }).map(b => `${(b.innerText || b.getAttribute('aria-label') || b.className).trim().slice(0, 20)} ${Math.round(b.getBoundingClientRect().width)}x${Math.round(b.getBoundingClientRect().height)}`)""",
        least,
    )


def test_every_button_is_a_real_target_and_large_text_makes_them_larger(page: Any) -> None:
    _ask(page, QUESTION)
    page.locator("#pq-feedback button.label-wrap, #pq-feedback > button").first.click()  # the rating panel open
    page.wait_for_selector("#pq-fb-submit", state="visible")
    assert not (small := _small_buttons(page, 24)), small
    page.locator("#pq-large input").check()
    page.wait_for_function("() => document.documentElement.classList.contains('pq-large')")
    page.wait_for_timeout(300)
    assert not (small := _small_buttons(page, 44)), small
    _shot(page, "large-text-targets.png")


def test_traditional_interface_is_one_script_and_english_mode_is_english(page: Any) -> None:
    from rag.text.script import to_traditional

    page.get_by_label("繁體").check()
    page.wait_for_function("() => document.querySelector('#pq-send').innerText.trim() === '發送'")
    _ask(page, QUESTION)
    labels = page.evaluate(
        """() => [...document.querySelectorAll('label, button, h1, h2, h3, summary, dt, p.pq-sub, .pq-mode, .pq-privacy, .pq-fb-line, a.pq-skip')]
              .map(e => e.innerText.trim()).concat([...document.querySelectorAll('textarea')].map(t => t.placeholder)).filter(t => t)"""
    )
    mixed = [t for t in labels if to_traditional(t) != t]
    assert not mixed, mixed
    assert page.evaluate("document.documentElement.lang") == "zh-Hant"
    assert "章節" in page.locator("#pq-chat").inner_text() or "出處" in page.locator("#pq-chat").inner_text()
    _shot(page, "traditional-interface.png")

    # A Traditional question with 简体 on: the answer and the interface follow the question's script.
    fresh = page.context.new_page()
    try:
        fresh.goto(page.url)
        fresh.wait_for_selector("#pq-question textarea", timeout=60_000)
        answer = _ask(fresh, "常德建了多少家線下智能養老服務站點？")
        assert "13家" in answer.inner_text() and "養老" in answer.inner_text()
        fresh.wait_for_function("() => document.querySelector('#pq-send').innerText.trim() === '發送'")
        assert fresh.locator("#pq-script input[value='traditional']").is_checked()
    finally:
        fresh.close()

    page.get_by_label("English").check()
    page.wait_for_function("() => document.querySelector('#pq-send').innerText.trim() === 'Send'")
    examples = page.locator("button.pq-example").all_inner_texts()
    assert examples and not [e for e in examples if has_cjk(e)], examples
    refusal = _ask(page, "What will the weather be in Beijing tomorrow?")
    text = refusal.inner_text()
    assert "Not enough evidence" in text and "The documents say nothing about Beijing weather" in text
    _shot(page, "english-refusal.png")


def test_api_docs_render_with_the_network_blocked(browser: Any, server: str) -> None:
    context = browser.new_context()
    pg = context.new_page()
    outside: list[str] = []

    def guard(route: Any) -> None:
        if route.request.url.startswith(server):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    pg.route("**/*", guard)
    try:
        pg.goto(server + "/docs")
        pg.wait_for_selector(".opblock", timeout=30_000)
        assert pg.locator(".opblock").count() >= 5
        assert "/api/ask" in pg.locator("#swagger-ui").inner_text()
        assert not outside, outside
        _shot(pg, "api-docs-offline.png")
    finally:
        context.close()


def test_corpus_page_uploads_a_docx_that_the_chat_then_cites(browser: Any, server: str, tmp_path: Path) -> None:
    import docx

    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    try:
        # Without the token nothing of the corpus shows, and a wrong token is said so.
        pg.goto(server + "/admin")
        assert pg.locator("#manage").is_hidden() and pg.locator("#signin").is_visible()
        assert httpx.get(server + "/api/admin/documents").status_code == 401
        pg.fill("#token", "not-the-token")
        pg.click("#signin-form button")
        pg.wait_for_function("() => document.querySelector('#signin-msg').innerText.includes('令牌不对')")
        assert pg.locator("#manage").is_hidden()

        pg.fill("#token", ADMIN_TOKEN)
        pg.click("#signin-form button")
        pg.wait_for_selector("#docs tbody tr")
        before = pg.locator("#docs tbody tr").count()
        assert before >= 18  # the bundled corpus, with passage counts
        assert int(pg.locator("#docs tbody tr").first.locator("td.chunks").inner_text()) >= 1

        path = tmp_path / "qingliu-elderly.docx"
        d = docx.Document()
        d.add_heading("青柳市数字助老服务办法", level=1)
        d.add_paragraph("第一条 青柳市在2025年建成了27个数字助老服务驿站，为老年人提供智能手机使用培训和代办服务。")
        d.save(str(path))
        form = pg.locator("#upload-form")
        form.locator("input[name=file]").set_input_files(str(path))
        form.locator("input[name=title]").fill("青柳市数字助老服务办法")
        form.locator("select[name=kind]").select_option("policy")
        form.locator("input[name=issuer]").fill("青柳市民政局")
        form.locator("input[name=doc_number]").fill("青民发〔2025〕3号")
        form.locator("input[name=date]").fill("2025-05-01")
        form.locator("input[name=cities]").fill("青柳")
        form.locator("input[name=domains]").fill("养老")
        pg.evaluate(
            """() => { window.__pqBars = [];
                 new MutationObserver(() => document.querySelectorAll('#uploads progress').forEach(
                   b => window.__pqBars.push(Number(b.value)))).observe(document.querySelector('#uploads'),
                   {subtree: true, childList: true, attributes: true, characterData: true}); }"""
        )
        form.locator("button[type=submit]").click()
        pg.wait_for_selector("#uploads .job.done, #uploads .job.failed", timeout=120_000)
        line = pg.locator("#uploads .job").first.inner_text()
        assert "已加入资料库" in line, line
        assert pg.locator("#uploads .job progress").first.evaluate("b => b.value") == 100
        pg.wait_for_function("n => document.querySelectorAll('#docs tbody tr').length > n", arg=before)
        row = pg.locator("#docs tbody tr", has_text="青柳市数字助老服务办法")
        assert "青柳市民政局" in row.inner_text() and "青民发〔2025〕3号" in row.inner_text()
        _shot(pg, "corpus-page.png")
        problems = _axe(pg)
        assert not problems, problems
        # A record is cleared by its own button.
        pg.locator("#uploads .job button", has_text="清除").first.click()
        assert pg.locator("#uploads .job").count() == 0

        # Withdraw a bundled document, restore it: its row comes back re-indexed, with its bar.
        pg.on("dialog", lambda dialog: dialog.accept())
        hangzhou = "#docs tbody tr[data-doc='hangzhou-chengshi-danao-tiaoli-2020']"
        pg.locator(f"{hangzhou} button", has_text="撤下").click()
        pg.wait_for_selector("#withdrawn li:has-text('杭州城市大脑')")
        assert pg.locator(hangzhou).count() == 0
        pg.locator("#withdrawn button", has_text="恢复").click()
        pg.wait_for_function("() => document.querySelector('#reindex-msg').innerText.includes('重新索引完成')", timeout=300_000)
        pg.wait_for_selector(hangzhou)
        assert pg.locator(f"{hangzhou} td.indexing .state").inner_text() == "已更新"
        assert pg.locator(f"{hangzhou} td.indexing progress").evaluate("b => b.value") == 3
        # Re-index everything: a bar per document, and the upload is unchanged.
        pg.click("#reindex")
        pg.wait_for_function("() => document.querySelector('#reindex-msg').innerText.includes('重新索引完成')", timeout=300_000)
        # (The hostile test document was ingested from another folder: no job touches it.)
        shown = pg.locator("#docs tbody td.indexing progress:not([hidden])").evaluate_all("bs => bs.map(b => b.value)")
        assert len(shown) == before and all(v == 3 for v in shown), shown  # 18 bundled + the upload
        assert pg.locator("#docs tbody tr", has_text="青柳市数字助老服务办法").locator(".state").inner_text() == "无变化"

        chat = _open(browser, server)
        try:
            answer = _ask(chat, "青柳市建成了多少个数字助老服务驿站？")
            assert "27个" in answer.locator(".pq-answer-text").inner_text()
            assert "青柳市数字助老服务办法" in answer.locator(".pq-cite .pq-title").first.inner_text()
        finally:
            chat.context.close()
    finally:
        context.close()


def test_keyboard_radio_groups_are_one_tab_stop_and_tab_does_not_pop_dropdowns_open(page: Any) -> None:
    active = "() => { const a = document.activeElement; return {group: a.closest('[id]').id, expanded: a.getAttribute('aria-expanded')}; }"
    page.focus("#pq-lang input[value='zh']")
    page.keyboard.press("Tab")
    assert page.evaluate(active)["group"] == "pq-script"  # not the English option of the same group
    page.focus("#pq-large input")
    page.keyboard.press("Tab")
    page.wait_for_timeout(300)
    assert page.evaluate(active) == {"group": "pq-domain", "expanded": "false"}
    page.keyboard.press("ArrowDown")  # asked for: the list opens
    page.wait_for_function("() => document.activeElement.getAttribute('aria-expanded') === 'true'")
