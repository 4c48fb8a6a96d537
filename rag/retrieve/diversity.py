"""Shaping the top k: no paragraph five times, no one document crowding out the others.

Near-duplicates (overlapping spans of one document) are pushed down so the top k is not
one paragraph five times. When a question is about several documents (「上海和深圳的数据
条例分别……」), each of them gets its share of the k places, best document first, so a
long law with many matching articles cannot take them all.
"""

from __future__ import annotations

from rag.types import Chunk


def diversify(order: list[int], chunks: list[Chunk], k: int, threshold: float) -> list[int]:
    """Take in order, but defer a chunk whose span mostly overlaps one already taken."""
    taken: list[int] = []
    deferred: list[int] = []
    for i in order:
        c = chunks[i]
        dup = any(
            chunks[j].doc_id == c.doc_id
            and (min(c.end, chunks[j].end) - max(c.start, chunks[j].start))
            > threshold * min(c.end - c.start, chunks[j].end - chunks[j].start)
            for j in taken
        )
        (deferred if dup else taken).append(i)
        if len(taken) >= k:
            return taken
    return (taken + deferred)[:k]


def share_between_documents(order: list[int], chunks: list[Chunk], doc_ids: list[str]) -> list[int]:
    """Interleave the ranking by document: the best passage of each named document first
    (documents in the order their best passage ranks), then each one's second best …
    Passages of other documents keep their place after those."""
    per_doc: dict[str, list[int]] = {d: [] for d in doc_ids}
    rest: list[int] = []
    for i in order:
        (per_doc[chunks[i].doc_id] if chunks[i].doc_id in per_doc else rest).append(i)
    ranked = sorted((d for d in per_doc if per_doc[d]), key=lambda d: order.index(per_doc[d][0]))
    out: list[int] = []
    depth = 0
    while any(len(per_doc[d]) > depth for d in ranked):
        out.extend(per_doc[d][depth] for d in ranked if len(per_doc[d]) > depth)
        depth += 1
    return out + rest
