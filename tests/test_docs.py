"""The ``>>>`` examples in the docstrings run and give what they show."""

import doctest
import importlib

import pytest


@pytest.mark.parametrize(
    "name",
    [
        "tokun",
        "tokun.core.codec",
        "tokun.core.config",
        "tokun.decoding.tokenizer",
        "tokun.lm.params",
        "tokun.lm.patching",
        "tokun.lm.local",
        "tokun.lm.flops",
        "tokun.core.splits",
        "tokun.integrations.hf_tokenizer",
    ],
)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name))
    assert result.attempted > 0 and result.failed == 0
