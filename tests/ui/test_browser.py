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
def server(home: Path, cache_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`policy-qa serve` on a free port over the bundled corpus plus the hostile document."""
    docs = tmp_path_factory.mktemp("browser-docs")
    hostile = docs / "qingliu-notice.txt"
    hostile.write_text(XSS_DOC, encoding="utf-8")
    for args in (["ingest"], ["ingest", str(hostile)]):
        done = run_cli(args, home, cache_dir)
        assert done.returncode == 0, done.stderr

    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    env.update({"POLICY_QA_HOME": str(home), "POLICY_QA_CACHE_DIR": str(cache_dir)})
    log_path = docs / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "rag.cli", "serve", "--port", str(port)],
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


@pytest.fixture
def page(browser: Any, server: str) -> Iterator[Any]:
    """A fresh tab (fresh chat session) on the UI, with every request it makes recorded."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
    pg = context.new_page()
    pg.requests = []  # type: ignore[attr-defined]
    pg.on("request", lambda req: pg.requests.append(req.url))  # type: ignore[attr-defined]
    pg.goto(server + "/")
    pg.wait_for_selector("#pq-question textarea", timeout=60_000)
    yield pg
    context.close()


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
          const chat = document.querySelector('#pq-chat');
          new MutationObserver(() => {
            if (chat.querySelector('.pq-status')) window.__pqSeen.push('status');
            if (chat.querySelector('.pq-streaming')) window.__pqSeen.push('streaming');
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
