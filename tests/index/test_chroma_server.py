"""Scale-out mode: the index on a real Chroma server started on 127.0.0.1."""

from __future__ import annotations

import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from rag.errors import StoreUnavailable
from rag.index.index import Index
from rag.ingest.indexer import Indexer
from rag.pipeline import Pipeline, final_answer
from rag.types import DocumentMeta
from tests.conftest import make_settings, run_cli

CHROMA = shutil.which("chroma") or str(Path(__import__("sys").executable).parent / "chroma")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    if not Path(CHROMA).exists():
        pytest.skip("the chroma server command is not installed")
    port = free_port()
    proc = subprocess.Popen(
        [CHROMA, "run", "--host", "127.0.0.1", "--port", str(port), "--path", str(tmp_path_factory.mktemp("chroma"))],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail("the Chroma server did not start within 60 s")
    yield port
    proc.terminate()
    proc.wait(timeout=20)


def test_answers_from_an_index_on_a_chroma_server(chroma_server: int, home: Path, cache_dir: Path) -> None:
    settings = make_settings(home, cache_dir, chroma={"host": "127.0.0.1", "port": chroma_server, "collection": "srv_a"})
    pipe = Pipeline(settings)
    assert pipe.ensure_index()
    assert pipe.index.vectors.count() == pipe.index.docs.count_chunks() > 20
    answer = final_answer(pipe.run("常德建了多少家线下智能养老服务站点？"))
    assert "13家" in answer.answer
    # The vectors really live on the server: a client of the server sees them.
    import chromadb

    client = chromadb.HttpClient(host="127.0.0.1", port=chroma_server)
    assert client.get_collection("srv_a").count() == pipe.index.docs.count_chunks()


def test_a_new_empty_server_is_filled_from_the_local_document_store(chroma_server: int, home: Path, cache_dir: Path) -> None:
    Indexer(Index(make_settings(home, cache_dir))).ingest_bundled()  # embedded first
    moved = Index(make_settings(home, cache_dir, chroma={"host": "127.0.0.1", "port": chroma_server, "collection": "srv_b"}))
    report = Indexer(moved).ingest_bundled()
    assert report.unchanged and moved.vectors.count() == moved.docs.count_chunks()


def test_server_down_is_a_clear_error(home: Path, cache_dir: Path) -> None:
    port = free_port()  # nothing listens here
    settings = make_settings(home, cache_dir, chroma={"host": "127.0.0.1", "port": port, "timeout_s": 1})
    index = Index(settings)
    assert index.vectors.ping() is False
    started = time.monotonic()
    with pytest.raises(StoreUnavailable, match=f"cannot reach the Chroma server at 127.0.0.1:{port}"):
        Indexer(index).ingest_bundled()
    assert time.monotonic() - started < 10


def test_cli_reports_a_down_server_in_one_line(cli) -> None:  # type: ignore[no-untyped-def]
    r = cli("ask", "养老", POLICY_QA_CHROMA_HOST="127.0.0.1", POLICY_QA_CHROMA_PORT=str(free_port()), POLICY_QA_CHROMA_TIMEOUT_S="1")
    assert r.returncode == 1
    assert "cannot reach the Chroma server" in r.stderr and "POLICY_QA_CHROMA_HOST" in r.stderr


def test_a_running_pipeline_sees_what_another_process_ingested(chroma_server: int, tmp_path: Path, cache_dir: Path) -> None:
    """The revision each search checks is cheap when nothing changed (no scan of the
    documents table) and still sees an ingest the CLI made in another process."""
    home = tmp_path / "home"
    chroma = {"host": "127.0.0.1", "port": chroma_server, "collection": "srv_rev"}
    served = Pipeline(make_settings(home, cache_dir, chroma=chroma))
    Indexer(served.index).ingest_texts(
        [(DocumentMeta(doc_id="canteen", title="老年食堂简报", kind="report"), "杭州老年食堂可以刷长者码付款。\n")], root="test")
    first = served.index.docs.revision()
    assert served.index.docs.revision() == first
    assert "长者码" in final_answer(served.run("杭州老年食堂怎么付款？")).answer

    folder = tmp_path / "more"
    folder.mkdir()
    (folder / "parking.txt").write_text("常德市新建了无障碍停车位二百个，优先供肢体残疾人驾驶的机动车使用。\n", encoding="utf-8")
    done = run_cli(["ingest", str(folder)], home, cache_dir, POLICY_QA_CHROMA_HOST="127.0.0.1",
                   POLICY_QA_CHROMA_PORT=str(chroma_server), POLICY_QA_CHROMA_COLLECTION="srv_rev")
    assert done.returncode == 0, done.stderr

    # Nobody told the running pipeline; the revision it checks before each search changed.
    assert served.index.docs.revision() != first
    a = final_answer(served.run("常德新建了多少个无障碍停车位？"))
    assert not a.refused and "二百个" in a.answer, a.status
