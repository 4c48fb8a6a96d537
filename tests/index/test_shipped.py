"""The bundled corpus's vectors ship with the package: a fresh install embeds none of it."""

from __future__ import annotations

from pathlib import Path

from rag.config import Settings
from rag.index.embeddings import CachedEmbeddings, E5Small
from rag.index.index import Index
from rag.index.shipped import bundled_texts, fingerprint, shipped, shipped_meta, text_key
from rag.ingest.indexer import Indexer
from rag.pipeline import Pipeline, final_answer
from tests.conftest import make_settings


def test_shipped_vectors_match_the_current_chunker_and_corpus() -> None:
    """Fails when chunking, cleaning or a bundled document changed without regenerating
    the file: run ``python -m rag.index.shipped`` and commit corpus/vectors/."""
    texts = bundled_texts(Settings(chunk=Settings().chunk))
    meta = shipped_meta("e5-small")
    assert meta, "corpus/vectors/e5-small.npz is missing: run python -m rag.index.shipped"
    assert meta["fingerprint"] == fingerprint("e5-small", texts), "stale: run python -m rag.index.shipped"
    vectors = shipped("e5-small")
    assert all(text_key(t) in vectors for t in texts)
    assert next(iter(vectors.values())).shape == (384,)


class _CountingE5(E5Small):
    """The real e5-small, counting the texts it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.passages = 0

    def _embed(self, texts, *, is_query):  # type: ignore[no-untyped-def]
        if not is_query:
            self.passages += len(texts)
        return super()._embed(texts, is_query=is_query)


def test_a_fresh_home_and_cache_embed_nothing_of_the_bundled_corpus(tmp_path: Path) -> None:
    settings = make_settings(tmp_path / "home", tmp_path / "empty-cache")
    index = Index(settings)
    model = _CountingE5()
    index.__dict__["embeddings"] = CachedEmbeddings(model, settings.cache_dir, settings.embedding.batch_size)
    report = Indexer(index).ingest_bundled()
    assert len(report.added) == 18 and report.chunks > 900
    pipe = Pipeline(settings, index)
    answer = final_answer(pipe.run("常德建了多少家线下智能养老服务站点？"))
    assert "13家" in answer.answer
    # Passages at ingest and sentences at question time all came from the shipped file.
    assert model.passages == 0
