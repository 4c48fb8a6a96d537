"""What the evaluation counts as a hit: gold anchors matched against real chunks.

A wrong relevance rule makes every figure in the README wrong at once, so it is
checked on the bundled corpus as chunked, not on hand-made passages.
"""

from __future__ import annotations

from eval.datasets import Gold, Item, load_gold
from eval.metrics import hit_at, mrr, ndcg_at
from eval.runner import relevance
from rag.pipeline import Pipeline
from rag.types import Passage
from tests.conftest import DOC_ID


def _passages(pipe: Pipeline) -> list[Passage]:
    return [Passage(c.chunk_id, c.doc_id, "", c.section, c.text, 0.0, c.start, c.end) for c in pipe.index.docs.chunks()]


def _item(*anchors: str) -> Item:
    return Item("t", "?", [Gold(DOC_ID, a) for a in anchors], [])


def test_a_body_anchor_is_held_only_by_the_chunk_that_contains_it(bundled: Pipeline) -> None:
    passages = _passages(bundled)
    rel = relevance(_item("线下智能养老服务站点"), passages, bundled.index.docs)
    assert sum(rel) == 1
    assert "线下智能养老服务站点" in passages[rel.index(True)].text


def test_a_heading_anchor_counts_the_chunks_of_that_section(bundled: Pipeline) -> None:
    # Headings are not chunk text (they become the section path), so no span overlaps them.
    heading = "在解决长期形成的制度性、根源性问题仍有局限"
    passages = _passages(bundled)
    assert not any(heading in p.text for p in passages)
    rel = relevance(_item(heading), passages, bundled.index.docs)
    assert sum(rel) == 1 and heading in passages[rel.index(True)].section


def test_every_answerable_gold_item_has_a_reachable_passage(bundled: Pipeline) -> None:
    passages = _passages(bundled)
    unreachable = [i.id for i in load_gold() if i.answerable and not any(relevance(i, passages, bundled.index.docs))]
    assert unreachable == []


def test_a_gold_passage_counts_once_however_many_chunks_repeat_it(bundled: Pipeline) -> None:
    passages = _passages(bundled)
    target = next(p for p in passages if "线下智能养老服务站点" in p.text)
    rel = relevance(_item("线下智能养老服务站点"), [target, target], bundled.index.docs)
    assert rel == [True, False]


def test_metrics_on_known_ranks() -> None:
    ranks = [1, 3, None, 2]
    assert hit_at(ranks, 1) == 0.25 and hit_at(ranks, 3) == 0.75
    assert abs(mrr(ranks) - (1 + 1 / 3 + 0 + 1 / 2) / 4) < 1e-9
    assert ndcg_at([[True, False]], [1]) == 1.0
    assert ndcg_at([[False, True]], [1]) < 1.0
    assert ndcg_at([[True, True]], [2]) == 1.0
