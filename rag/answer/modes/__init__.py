"""The answer modes, peers behind one protocol: ``compose(turn, passages) -> events``.

- `ExtractiveMode` (offline, the default): decides from the evidence whether to answer,
  and composes the answer from cited sentences of the corpus by the question's intent.
- `LLMMode`: the same decision, then any OpenAI-compatible model writes from the
  intent's evidence; only sentences the sources support are shown; on any failure the
  extractive composition is the answer.

Which mode answers is decided in one place, `mode_of`, which the UI's badge reads too.
Modes yield Simplified Chinese (or English); the pipeline converts script at the end.
"""

from rag.answer.modes.base import AnswerMode, mode_of, pieces
from rag.answer.modes.extractive import ExtractiveMode
from rag.answer.modes.llm import LLMMode

__all__ = ["AnswerMode", "ExtractiveMode", "LLMMode", "mode_of", "pieces"]
