"""The ``>>>`` examples in the docstrings run and give what they show."""

import doctest
import importlib
import re

import pytest

from .conftest import ROOT


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


REPO_PATH = re.compile(r"(?<![\w./-])((?:src|tests|docs|recipes|benchmarks|experiments|examples|scripts|\.ci)/[\w./-]*\w)")


def cited_paths(text: str) -> set[str]:
    """The repository paths a text names: ``src/tokun/cli/``, ``benchmarks/train_step_bench.py``, ..."""
    return {m.group(1).rstrip(".") for m in REPO_PATH.finditer(text)}


def test_cited_paths_finds_paths() -> None:
    text = "run `python benchmarks/bench.py`, see docs/RESULTS.md. and (tests/core/); not xsrc/a.py"
    assert cited_paths(text) == {"benchmarks/bench.py", "docs/RESULTS.md", "tests/core"}
    assert concrete("recipes/NAME.toml") == "recipes" and concrete("docs/RESULTS.md") == "docs/RESULTS.md"


PLACEHOLDERS = {"NAME", "OUT", "DIR", "FILE", "N"}  # the names docs write for "any": recipes/NAME.toml


def concrete(path: str) -> str:
    """A path up to its first placeholder (``recipes/NAME.toml``: ``recipes``), which must exist."""
    parts = path.split("/")
    for i, part in enumerate(parts):
        if part.split(".")[0] in PLACEHOLDERS:
            return "/".join(parts[:i])
    return path


@pytest.mark.parametrize(
    "doc",
    ["README.md", *(str(p.relative_to(ROOT)) for p in sorted((ROOT / "docs").glob("*.md")))]
    + [str(p.relative_to(ROOT)) for p in sorted((ROOT / "src").rglob("*.py"))],
)
def test_docs_cite_only_files_that_exist(doc: str) -> None:
    """Every repository path that a document or a module's text names exists (``runs/`` is not in the repository
    and is never cited as a file)."""
    text = (ROOT / doc).read_text(encoding="utf-8")
    missing = sorted(p for p in cited_paths(text) if not (ROOT / concrete(p)).exists())
    assert not missing, f"{doc} cites {missing}"
