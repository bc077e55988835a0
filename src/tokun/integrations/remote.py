"""Saved directories that ``transformers`` loads in a fresh process: beside the ``auto_map`` of their config, a small
module that imports tokun's classes from the installed package (``trust_remote_code=True`` runs it)."""

from __future__ import annotations

from pathlib import Path


def write_remote_module(folder: str | Path, module: str, source: str, names: list[str], loader: str) -> Path:
    """``folder/module.py``, importing ``names`` from ``tokun.integrations.<source>``; ``loader`` (the call that loads
    the directory) goes into its docstring. The file's path."""
    path = Path(folder) / f"{module}.py"
    path.write_text(
        f'"""tokun for transformers: this file imports {", ".join(names)} from the installed package\n'
        f"(pip install 'tokun[hf]'). {loader}(this_directory, trust_remote_code=True) loads it through the\n"
        'auto_map of the directory\'s config.\n"""\n\n'
        f"from tokun.integrations.{source} import {', '.join(names)}\n\n"
        f"__all__ = {names!r}\n",
        encoding="utf-8",
    )
    return path
