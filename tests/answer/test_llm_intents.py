"""LLM mode on open questions, end to end against the loopback OpenAI-protocol server.

The model writes from the evidence the question's intent gathered — the six items of
the paper's 政策建议, the sentences about a place — and is told the answer's shape; what
the corpus does not cover is said first whatever the model writes; an answer none of
whose sentences the sources support gives way to the extractive composition.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rag.answer.messages import status_line
from rag.answer.prompts import SHAPE
from rag.answer.turn import Turn
from rag.pipeline import Pipeline, final_answer
from rag.retrieve import Filters
from rag.types import Passage, StatusEvent
from tests.answer.test_llm import llm_settings
from tests.fakes.openai_server import FakeOpenAIServer, fake_llm, openai_server, text  # noqa: F401 - fixtures

RECOMMENDATIONS = "文章提出了哪些对策建议？"


@pytest.fixture
def llm_pipe(bundled: Pipeline, cache_dir: Path, fake_llm: FakeOpenAIServer) -> Pipeline:
    return Pipeline(llm_settings(bundled.settings.home, cache_dir, fake_llm.base_url), index=bundled.index)


def evidence(pipe: Pipeline, question: str) -> list[Passage]:
    """The sources the LLM mode will number for ``question`` (as the prompt shows them)."""
    refs = pipe.searcher.references(question)
    turn = Turn.read(question, question, refs)
    passages = pipe.retrieve(question, Filters(), refs=refs)
    composed = pipe.extractive.composed(turn, passages)
    sources, _ = pipe.modes["llm"].sources(turn, passages, composed.draft)  # type: ignore[attr-defined]
    return sources


def test_a_list_question_gives_the_model_the_sections_items_and_the_list_shape(
    llm_pipe: Pipeline, fake_llm: FakeOpenAIServer
) -> None:
    sources = evidence(llm_pipe, RECOMMENDATIONS)
    heads = [(n, p.text) for n, p in enumerate(sources, 1) if p.text.startswith("（")]
    assert len(heads) == 6 and heads[0][1].startswith("（一）健全组织领导体系")
    fake_llm.push(text("".join(f"{t}[{n}]。\n" for n, t in heads)))
    a = final_answer(llm_pipe.run(RECOMMENDATIONS))
    assert a.mode == "llm" and not a.refused and a.status == "ok"
    for _, t in heads:
        assert t in a.answer
    assert {c.section.split(" > ")[0] for c in a.citations} == {"三、政策建议"}
    system, user = (m["content"] for m in fake_llm.requests[-1]["messages"])
    assert SHAPE["measures"] in system and "积极借鉴经验" in user
    # The gathered evidence, not the retrieved passages: the abstract's 「提出对策建议」 is not a source.
    assert "提出对策建议" not in user


def test_what_the_corpus_lacks_is_said_first_in_llm_mode_too(llm_pipe: Pipeline, fake_llm: FakeOpenAIServer) -> None:
    q = "民法典和个人信息保护法分别怎么定义个人信息？"
    sources = evidence(llm_pipe, q)
    n = next(i for i, p in enumerate(sources, 1) if "个人信息是以电子或者其他方式记录" in p.text)
    fake_llm.push(text(f"{sources[n - 1].text}[{n}]"))
    a = final_answer(llm_pipe.run(q))
    assert a.mode == "llm" and not a.refused and a.status == "ok"
    assert a.answer.startswith("资料库中没有《民法典》")
    assert "个人信息是以电子或者其他方式记录" in a.citations[0].quote


def test_a_place_without_practice_is_refused_in_llm_mode_without_asking_the_model(
    llm_pipe: Pipeline, fake_llm: FakeOpenAIServer
) -> None:
    a = final_answer(llm_pipe.run("北京在教育公共服务方面做了什么？"))
    assert a.refused and a.mode == "llm" and a.answer.startswith("资料中没有北京在教育方面的具体做法。")
    assert fake_llm.requests == []


def test_an_unsupported_model_answer_falls_back_to_the_extractive_list(
    llm_pipe: Pipeline, fake_llm: FakeOpenAIServer
) -> None:
    fake_llm.push(text("文章建议每个城市建设100所智慧学校[1]。并设立数字部长[2]。"))
    events = list(llm_pipe.run(RECOMMENDATIONS))
    a = events[-1].answer
    assert a is not None and a.status.startswith("llm_fallback: no sentence of the model's answer is supported")
    assert "100所" not in a.answer and "健全组织领导体系" in a.answer and len(a.citations) >= 6
    fallback = next(e for e in events if isinstance(e, StatusEvent) and e.step == "fallback")
    # The step carries its reason as data: an English front end says it in English.
    assert status_line(fallback.step, fallback.data, english=True).startswith("The language model is unavailable")


def test_a_traditional_list_question_in_llm_mode_is_answered_in_traditional(
    llm_pipe: Pipeline, fake_llm: FakeOpenAIServer
) -> None:
    q = "文章提出了哪些對策建議？"
    sources = evidence(llm_pipe, "文章提出了哪些对策建议？")
    fake_llm.push(text(f"{sources[0].text}[1]。"))
    a = final_answer(llm_pipe.run(q))
    assert a.mode == "llm" and "健全組織領導體系" in a.answer
    assert "健全组织领导体系" in a.citations[0].quote
