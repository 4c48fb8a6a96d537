"""Speed benchmarks: embedding throughput and latency per model, retrieval latency.

Prints figures; asserts nothing (timed unit tests would be flaky on shared machines).

    python -m eval.bench [--models e5-small,use-m3] [--squad ../shared/bench/cmrc2018_dev.json]

* indexing throughput: passages embedded per second, uncached, on CMRC contexts
  (or the bundled corpus's chunks when no SQuAD file is given);
* query latency: one question embedded, p50/p95 over the gold questions;
* retrieval latency: a full hybrid search on the bundled corpus, p50/p95;
* with ``--revision FILE`` (a JSONL of ``{"text": …}`` documents, e.g.
  ``../shared/bench/lawrefbook.jsonl.gz``) only the per-search check of the index
  revision, with every document of the file stored, against the full scan it replaced.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from eval.datasets import load_gold, load_squad
from rag.config import get_settings
from rag.index.embeddings import make_embeddings
from rag.ingest.chunk import chunk_document
from rag.ingest.indexer import Indexer
from rag.pipeline import Pipeline
from rag.retrieve import Filters


def pct(xs: list[float], q: float) -> float:
    return round(float(np.percentile(xs, q)), 1)


def revision_cost(path: Path, calls: int = 200) -> dict[str, float]:
    """Milliseconds per `DocStore.revision` call with every document of ``path`` stored,
    and per call of the full scan it does only when the store changed."""
    import gzip
    import hashlib

    from rag.index.docstore import DocStore
    from rag.types import Chunk, Document, DocumentMeta

    with tempfile.TemporaryDirectory() as tmp:
        store = DocStore(Path(tmp) / "docs.sqlite")
        with (gzip.open(path, "rt", encoding="utf-8") if path.suffix == ".gz" else path.open(encoding="utf-8")) as f:
            for i, line in enumerate(f):
                text = json.loads(line)["text"]
                meta = DocumentMeta(doc_id=f"doc-{i:06d}", title=f"doc {i}")
                store.put(Document(meta, text, hashlib.sha1(text.encode()).hexdigest()), "bench",
                          [Chunk(f"chunk-{i}", meta.doc_id, 0, min(len(text), 200), text[:200], "", 0)])
        db = store._db()

        def full_scan() -> str:
            rows = db.execute("SELECT doc_id, content_hash FROM documents ORDER BY doc_id").fetchall()
            return hashlib.sha1(repr(rows).encode()).hexdigest()

        out: dict[str, float] = {"documents": float(store.count_chunks())}
        for name, fn in (("full_scan_ms", full_scan), ("revision_ms", store.revision)):
            fn()
            t0 = time.perf_counter()
            for _ in range(calls):
                fn()
            out[name] = round((time.perf_counter() - t0) / calls * 1000, 4)
        store.close()
        return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="e5-small,use-m3")
    ap.add_argument("--squad", type=Path, help="SQuAD-format file whose contexts are embedded for throughput")
    ap.add_argument("--passages", type=int, default=160, help="passages embedded for the throughput figure")
    ap.add_argument("--revision", type=Path, help="JSONL(.gz) of documents: time the revision check only")
    args = ap.parse_args()
    if args.revision:
        print(json.dumps(revision_cost(args.revision), ensure_ascii=False, indent=2))
        return
    questions = [i.question for i in load_gold()]
    if args.squad:
        texts = list(load_squad(args.squad).contexts.values())
        passages = [c.text for t in texts[: args.passages] for c in chunk_document("x", t)][: args.passages]
    else:
        text = (Path(__file__).resolve().parent.parent / "corpus/documents/digital-tech-urban-public-services.txt").read_text(encoding="utf-8")
        passages = [c.text for c in chunk_document("x", text)]
    results = {}
    for name in args.models.split(","):
        model = make_embeddings(name, get_settings().embedding.threads)
        model.embed_query("预热")  # load weights outside the timings
        t0 = time.perf_counter()
        for i in range(0, len(passages), 16):
            model.embed_documents(passages[i : i + 16])
        throughput = len(passages) / (time.perf_counter() - t0)
        lat = []
        for q in questions:
            t1 = time.perf_counter()
            model.embed_query(q)
            lat.append((time.perf_counter() - t1) * 1000)
        results[name] = {
            "passages_per_s": round(throughput, 1),
            "avg_passage_chars": round(sum(map(len, passages)) / len(passages)),
            "query_p50_ms": pct(lat, 50),
            "query_p95_ms": pct(lat, 95),
        }
        base = get_settings()
        with tempfile.TemporaryDirectory() as tmp:
            settings = base.model_copy(update={
                "home": Path(tmp), "chroma": base.chroma.model_copy(update={"host": None}),
                "embedding": base.embedding.model_copy(update={"model": name}),
            })
            pipe = Pipeline(settings)
            Indexer(pipe.index).ingest_bundled()
            pipe.retrieve("预热", Filters())
            lat = []
            for q in questions:
                t1 = time.perf_counter()
                pipe.retrieve(q, Filters())
                lat.append((time.perf_counter() - t1) * 1000)
            results[name]["retrieval_p50_ms"] = pct(lat, 50)
            results[name]["retrieval_p95_ms"] = pct(lat, 95)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
