"""Shared fixtures: real Chroma, real SQLite, the real bundled corpus, real models.

The embedding cache is shared by the whole session, so the bundled corpus is embedded
once however many temporary homes the tests create.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from rag.config import Settings
from rag.pipeline import Pipeline

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"
CORPUS_DOC = REPO / "corpus" / "documents" / "digital-tech-urban-public-services.txt"
DOC_ID = "digital-tech-urban-public-services"


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    # CI may point this at a persistent folder to save re-embedding between runs.
    env = os.environ.get("POLICY_QA_TEST_CACHE_DIR")
    return Path(env) if env else tmp_path_factory.mktemp("embed-cache")


def make_settings(home: Path, cache_dir: Path, **groups: dict) -> Settings:
    """Settings for a test: its own home, the shared cache, nothing from the environment's Chroma/LLM."""
    base = Settings(home=home, cache_dir=cache_dir)
    updates = {"chroma": base.chroma.model_copy(update={"host": None}),
               "llm": base.llm.model_copy(update={"base_url": None})}
    for name, values in groups.items():
        updates[name] = getattr(base, name).model_copy(update=values)
    return base.model_copy(update=updates)


@pytest.fixture(scope="session")
def bundled(tmp_path_factory: pytest.TempPathFactory, cache_dir: Path) -> Pipeline:
    """A pipeline over the bundled corpus, indexed once for the session."""
    pipe = Pipeline(make_settings(tmp_path_factory.mktemp("home"), cache_dir))
    assert pipe.ensure_index()
    return pipe


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


def run_cli(args: list[str], home: Path, cache_dir: Path, timeout: float = 300, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``policy-qa`` in a subprocess, as a user would."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("POLICY_QA_")}
    full_env.update({"POLICY_QA_HOME": str(home), "POLICY_QA_CACHE_DIR": str(cache_dir), **env})
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, env=full_env, timeout=timeout, cwd=REPO
    )


@pytest.fixture
def cli(home: Path, cache_dir: Path) -> Iterator:
    yield lambda *args, **env: run_cli(list(args), home, cache_dir, **env)
