"""Errors a user can act on. Each message says what went wrong and what to do."""

from __future__ import annotations


class PolicyQAError(Exception):
    """Base class; ``str(err)`` is a one-line message fit for a user."""

    exit_code = 1


class InputError(PolicyQAError):
    """The user gave us something we cannot use (empty question, unknown file type ...)."""

    exit_code = 2


class LoadError(InputError):
    """One file could not be read; a batch goes on with the others."""

    def __init__(self, path: object, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class StoreUnavailable(PolicyQAError):
    """The vector store (e.g. a Chroma server) cannot be reached."""


class ModelMismatch(PolicyQAError):
    """The index was built with another embedding model than the one configured."""

    exit_code = 2


class LLMUnavailable(PolicyQAError):
    """The OpenAI-compatible endpoint failed, timed out or answered garbage."""


class HomeBusy(PolicyQAError):
    """Another process is writing the same embedded home (see rag/index/lock.py)."""

    exit_code = 2


class IndexDamaged(StoreUnavailable):
    """A file of the index cannot be read (truncated, overwritten, not a database).

    The message names the file and the repair (``policy-qa ingest --rebuild``). A
    `StoreUnavailable`, so the HTTP API answers 503 like for any store it cannot use.
    """
