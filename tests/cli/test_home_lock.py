"""One writer per embedded home: a running `serve` refuses a second writer, clearly.

Real processes, as an official would start them: `policy-qa serve` in one terminal,
`policy-qa ingest` in another.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import REPO, run_cli
from tests.ui.conftest import free_port


def _env(home: Path, cache_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    env.update({"POLICY_QA_HOME": str(home), "POLICY_QA_CACHE_DIR": str(cache_dir)})
    return env


@pytest.fixture
def running_server(home: Path, cache_dir: Path, tmp_path: Path) -> Iterator[tuple[subprocess.Popen[str], int]]:
    port = free_port()
    log = (tmp_path / "serve.log").open("w", encoding="utf-8")  # a file: a full pipe would stall the server
    proc = subprocess.Popen(
        [sys.executable, "-m", "cli", "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=_env(home, cache_dir), cwd=REPO, stdout=log, stderr=subprocess.STDOUT, text=True,
    )
    deadline = time.monotonic() + 120
    while True:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"server did not start: {(tmp_path / 'serve.log').read_text(encoding='utf-8')}")
        time.sleep(0.2)
    yield proc, port
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
    log.close()


def _doc_ids(home: Path, cache_dir: Path) -> set[str]:
    r = run_cli(["docs", "--json"], home, cache_dir)
    assert r.returncode == 0, r.stderr
    return {d["doc_id"] for d in json.loads(r.stdout)["documents"]}


def test_ingest_while_serve_runs_is_refused_and_loses_nothing(
    running_server: tuple[subprocess.Popen[str], int], home: Path, cache_dir: Path, tmp_path: Path
) -> None:
    proc, port = running_server
    note = tmp_path / "hangzhou-canteens.md"
    note.write_text("# 杭州老年食堂\n\n杭州老年食堂支持长者码刷脸付款。\n", encoding="utf-8")

    r = run_cli(["ingest", str(note)], home, cache_dir)
    assert r.returncode == 2
    assert f"policy-qa serve on 127.0.0.1:{port}" in r.stderr and "/api/admin/documents" in r.stderr
    assert "Traceback" not in r.stderr

    # A second server on the same home is refused the same way, at once.
    second = run_cli(["serve", "--port", str(free_port())], home, cache_dir, timeout=60)
    assert second.returncode == 2 and "in use by" in second.stderr

    # The first server is unharmed.
    assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200

    # Once it stops, the same ingest goes through: the lock died with the process.
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=30)
    r = run_cli(["ingest", str(note)], home, cache_dir)
    assert r.returncode == 0, r.stderr
    assert any("hangzhou" in d for d in _doc_ids(home, cache_dir))


def test_a_crashed_writer_leaves_no_lock_behind(home: Path, cache_dir: Path, tmp_path: Path) -> None:
    # A process that holds the lock and is killed outright (no cleanup at all).
    code = (
        "import time, sys\n"
        "from rag.config import get_settings\n"
        "from rag.index.lock import exclusive_home\n"
        "with exclusive_home(get_settings(), 'a test writer'):\n"
        "    print('locked', flush=True)\n"
        "    time.sleep(300)\n"
    )
    holder = subprocess.Popen([sys.executable, "-c", code], env=_env(home, cache_dir), cwd=REPO,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    note = tmp_path / "note.txt"
    note.write_text("杭州老年食堂支持长者码付款。", encoding="utf-8")
    busy = run_cli(["ingest", str(note)], home, cache_dir)
    assert busy.returncode == 2 and "a test writer" in busy.stderr
    holder.kill()
    holder.wait(timeout=10)
    r = run_cli(["ingest", str(note)], home, cache_dir)
    assert r.returncode == 0, r.stderr


def test_a_data_folder_that_cannot_be_written_is_named_in_one_line(cache_dir: Path, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder's parent should be", encoding="utf-8")
    r = run_cli(["ingest"], blocker / "home", cache_dir)
    assert r.returncode == 2
    assert "cannot write the data folder" in r.stderr and "POLICY_QA_HOME" in r.stderr
    assert "Traceback" not in r.stderr
