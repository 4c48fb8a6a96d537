"""Vectors of the bundled corpus, shipped with the package so a fresh install embeds nothing.

Embedding the bundled corpus with e5-small takes minutes on two cores; a first
``policy-qa serve`` must be ready in seconds. So the vectors of every text the bundled
corpus makes the model read — each passage as the index embeds it, each sentence and
heading the extractive answerer scores — are computed once, here, and shipped in
``corpus/vectors/<model>.npz``. They are keyed like the embedding cache, by the SHA-256
of the text, and the file carries a fingerprint of the model, the cleaning and chunking
versions and every text: when the chunker or a document changes, the texts change, the
fingerprint no longer matches (a test checks it) and the file is regenerated with

    python -m rag.index.shipped            # writes corpus/vectors/e5-small.npz

A text the file does not hold is simply embedded as before, so a stale file costs time,
never correctness.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from functools import lru_cache
from pathlib import Path

import numpy as np

from rag.config import Settings
from rag.text.outline import structure
from rag.text.sentences import split_sentences

FORMAT = 1


def text_key(text: str) -> str:
    """The key of a text's vector, the same as the embedding cache's."""
    return hashlib.sha256(text.encode()).hexdigest()


def vectors_path(model: str) -> Path:
    from rag.ingest.manifest import bundled_corpus_dir

    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in model)
    return bundled_corpus_dir() / "vectors" / f"{safe}.npz"


def bundled_texts(settings: Settings) -> list[str]:
    """Every text the bundled corpus makes the model embed, in a stable order: each
    passage's embedding text, then each passage sentence and each heading."""
    from rag.ingest.chunk import chunk_document, embedding_text
    from rag.ingest.clean import clean_text, load_fixes
    from rag.ingest.loaders import load_file
    from rag.ingest.manifest import MANIFEST_NAME, bundled_corpus_dir, read_manifest

    passages: list[str] = []
    pieces: list[str] = []
    for entry in read_manifest(bundled_corpus_dir() / MANIFEST_NAME):
        fixes = load_fixes(entry.fixes) if entry.fixes else None
        text = clean_text(load_file(entry.path).text, fixes)
        chunks = chunk_document(entry.meta.doc_id, text, settings.chunk.max_tokens, settings.chunk.overlap_sentences)
        passages += [embedding_text(entry.meta.title, c.section, c.text) for c in chunks]
        for c in chunks:
            pieces += [c.text[s - c.start : e - c.start] for s, e in split_sentences(c.text, offset=c.start)]
        pieces += [n.title for n in structure(text).nodes if n.kind == "heading"]
    return list(dict.fromkeys(passages + pieces))


def fingerprint(model: str, texts: list[str]) -> str:
    """What the shipped vectors are valid for: the model, the text versions, every text."""
    from rag.ingest.chunk import CHUNKER_VERSION
    from rag.ingest.clean import CLEANING_VERSION

    h = hashlib.sha256(f"{FORMAT}|{model}|clean={CLEANING_VERSION}|chunker={CHUNKER_VERSION}".encode())
    for key in sorted(text_key(t) for t in texts):
        h.update(key.encode())
    return h.hexdigest()[:16]


@lru_cache(maxsize=4)
def shipped(model: str) -> dict[str, np.ndarray]:
    """text key → vector for ``model`` (empty when no file ships for it)."""
    path = vectors_path(model)
    if not path.exists():
        return {}
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("model") != model or meta.get("format") != FORMAT:
            return {}
        keys = [bytes(k).hex() for k in data["keys"]]
        vecs = data["vectors"].astype(np.float32)
    return dict(zip(keys, vecs))


def shipped_meta(model: str) -> dict[str, object]:
    """The fingerprint and counts recorded in the shipped file ({} when there is none)."""
    path = vectors_path(model)
    if not path.exists():
        return {}
    with np.load(path, allow_pickle=False) as data:
        return dict(json.loads(str(data["meta"])))


def write(settings: Settings) -> Path:
    """Embed every bundled text with the configured model (through the cache) and write
    the file. float16 halves the size; cosines move by about 1e-3, far below any gap
    retrieval or refusal relies on."""
    from rag.index.embeddings import CachedEmbeddings, make_embeddings

    model = settings.embedding.model
    texts = bundled_texts(settings)
    emb = CachedEmbeddings(make_embeddings(model, settings.embedding.threads), settings.cache_dir,
                           settings.embedding.batch_size, use_shipped=False)
    vecs = np.asarray(emb.embed_documents(texts), dtype=np.float32)
    path = vectors_path(model)
    path.parent.mkdir(parents=True, exist_ok=True)
    meta = {"format": FORMAT, "model": model, "dim": int(vecs.shape[1]), "texts": len(texts),
            "fingerprint": fingerprint(model, texts)}
    keys = np.frombuffer(b"".join(bytes.fromhex(text_key(t)) for t in texts), dtype=np.uint8).reshape(-1, 32)
    np.savez_compressed(path, keys=keys, vectors=vecs.astype(np.float16), meta=np.array(json.dumps(meta)))
    shipped.cache_clear()
    return path


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m rag.index.shipped", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="e5-small", help="embedding model (default e5-small, the product default)")
    args = p.parse_args(argv)
    from rag.config import get_settings

    base = get_settings()
    settings = base.model_copy(update={"embedding": base.embedding.model_copy(update={"model": args.model}),
                                       "chunk": type(base.chunk)()})  # the default chunking, as shipped
    path = write(settings)
    meta = shipped_meta(args.model)
    print(f"wrote {path} ({path.stat().st_size / 1e6:.1f} MB, {meta['texts']} texts, fingerprint {meta['fingerprint']})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
