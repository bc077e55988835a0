"""``save_pretrained`` / ``from_pretrained`` for tokun's models, through ``huggingface_hub``'s PyTorchModelHubMixin.

The files are tokun's own: a model directory (``config.json``, the :class:`~tokun.core.config.ModelConfig`, and
``model.safetensors``, checksummed) is a pretrained directory and the other way round, so a shipped model, a
``tokun train`` output and a ``save_pretrained`` directory all load with ``tokun.load_model(dir)``, ``--model dir``
and ``TokunAutoEncoder.from_pretrained(dir)`` alike. The language models of ``tokun lm compare`` keep their files
too (``config.json``: kind, body, tokun model, ...; ``model.safetensors``): :class:`TokunLanguageModel`.

    net = TokunAutoEncoder.from_pretrained("4x16")     # a shipped name, a directory or a Hub repo id
    net.save_pretrained("runs/my-tokun")                # config.json + model.safetensors (+ a README.md card)

A repo id is downloaded into the Hugging Face cache (``HF_HUB_OFFLINE=1``: the cache only); when that fails, the
error is a one-line :class:`~tokun.core.errors.ModelError` with the Hub's first error. A name that looks like a path
(:func:`looks_like_path`: ``runs/typo-dir``, ``./x``) but is no directory is "no such model directory" at once.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from huggingface_hub import PyTorchModelHubMixin, snapshot_download
from huggingface_hub.errors import EntryNotFoundError
from safetensors.torch import save_file
from torch import nn

from ..core import checkpoint
from ..core.config import ModelConfig
from ..core.errors import ModelError
from ..core.model import AutoEncoder
from ..lm import load_lm

HUB_FILES = [checkpoint.CONFIG, checkpoint.WEIGHTS, "bpe.json"]  # what a tokun model directory may hold
METADATA = {"library_name": "tokun", "repo_url": "https://github.com/apehex/tokun", "tags": ["tokenizer", "tokun"]}


def looks_like_path(name: str) -> bool:
    """Whether ``name`` reads as a local path rather than a Hub repo id: it starts with ``.``, ``/`` or ``~``, or
    it holds a path separator and its parent directory exists (``runs/typo-dir``)."""
    return name.startswith((".", "/", "~")) or (os.sep in name and Path(name).parent.is_dir())


def hub_error(model_id: str, err: Exception) -> ModelError:
    """The one-line ModelError for a repo id the Hub could not provide, with ``err``'s first line as the reason."""
    reason = (str(err).strip().splitlines() or [type(err).__name__])[0]
    return ModelError(
        f"{model_id!r} is no shipped model ({', '.join(checkpoint.shipped_models())}) nor a model directory, and "
        f"the Hugging Face Hub could not provide it ({type(err).__name__}: {reason})"
    )


def local_folder(model_id: str, **download: Any) -> Path:
    """A shipped model name or a directory -> its folder; a name that looks like a path (:func:`looks_like_path`)
    but is no directory -> ModelError at once; anything else is a Hub repo id, downloaded (tokun's files only) with
    ``download`` (revision, cache_dir, token, ...). ModelError, on one line, when neither works."""
    try:
        return checkpoint.resolve(model_id)
    except ModelError:
        if Path(model_id).is_dir():
            raise
    if looks_like_path(model_id):
        raise ModelError(f"no such model directory: {model_id}")
    try:
        return Path(snapshot_download(repo_id=model_id, allow_patterns=HUB_FILES, **download))
    except (OSError, ValueError, EntryNotFoundError) as err:
        raise hub_error(model_id, err) from None


class _HubModel(PyTorchModelHubMixin):
    """Loading shared by tokun's hub models: shipped names and directories first, one-line errors."""

    @classmethod
    def _from_folder(cls, folder: Path) -> Any:
        raise NotImplementedError

    @classmethod
    def _from_pretrained(
        cls,
        *,
        model_id: str,
        revision: str | None,
        cache_dir: str | Path | None,
        force_download: bool,
        local_files_only: bool,
        token: str | bool | None,
        map_location: str = "cpu",
        **_: Any,
    ) -> Any:
        folder = local_folder(
            model_id,
            revision=revision,
            cache_dir=cache_dir,
            force_download=force_download,
            local_files_only=local_files_only,
            token=token,
        )
        return cls._from_folder(folder).to(map_location).eval()

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, **kwargs: Any) -> Any:  # type: ignore[override]
        """A shipped model name, a model directory, or a Hub repo id (downloaded once into the HF cache)."""
        name = str(pretrained_model_name_or_path)
        try:  # a shipped name reads like a repo id: the mixin must see its directory
            name = str(checkpoint.resolve(name))
        except ModelError:
            if Path(name).is_dir() or looks_like_path(name):
                local_folder(name)  # raises at once: the directory's own error, or no such model directory
        try:
            return super().from_pretrained(name, **kwargs)
        except (OSError, ValueError, EntryNotFoundError) as err:  # the mixin fetching config.json
            if isinstance(err, ModelError):
                raise
            raise hub_error(name, err) from None


class TokunAutoEncoder(AutoEncoder, _HubModel, **METADATA):  # type: ignore[call-arg]
    """:class:`~tokun.core.model.AutoEncoder` with ``save_pretrained`` / ``from_pretrained`` / ``push_to_hub``."""

    def __init__(self, cfg: ModelConfig) -> None:
        super().__init__(cfg)

    @classmethod
    def of(cls, model: AutoEncoder) -> TokunAutoEncoder:
        """The hub model holding a copy of ``model``'s weights (``tokun.load_model(...)`` or a trained one)."""
        net = cls(model.cfg)
        net.load_state_dict(model.state_dict())
        return net.to(next(model.parameters()).device).eval()

    def _save_pretrained(self, save_directory: Path) -> None:
        checkpoint.write_model(self, Path(save_directory))

    @classmethod
    def _from_folder(cls, folder: Path) -> TokunAutoEncoder:
        net = cls(checkpoint.read_config(folder))
        checkpoint.load_weights_into(net, checkpoint.read_weights(folder / checkpoint.WEIGHTS), source=folder)
        return net


class TokunLanguageModel(nn.Module, _HubModel, **METADATA):  # type: ignore[call-arg]
    """A language model of ``tokun lm compare`` (tokun-direct or a patch model: ``model``, with its ``config``, the
    metadata of its ``config.json``) with ``save_pretrained`` / ``from_pretrained``; ``forward`` is the model's."""

    def __init__(self, model: nn.Module, config: dict[str, Any]) -> None:
        super().__init__()
        self.model = model
        self.config = dict(config)

    def forward(self, *args: Any, **kwargs: Any) -> torch.Tensor:
        return self.model(*args, **kwargs)

    def _save_pretrained(self, save_directory: Path) -> None:
        """The files ``tokun lm compare`` writes: the model's own state (no wrapper prefix) and its metadata."""
        state = {k: v.detach().cpu().contiguous() for k, v in self.model.state_dict().items()}
        save_file(state, str(Path(save_directory) / checkpoint.WEIGHTS), metadata={"format": "pt"})
        (Path(save_directory) / checkpoint.CONFIG).write_text(json.dumps(self.config, indent=2) + "\n")

    @classmethod
    def _from_folder(cls, folder: Path) -> TokunLanguageModel:
        model = load_lm(folder)
        return cls(model.network, model.meta())
