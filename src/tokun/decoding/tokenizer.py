"""The user-facing tokenizer: text -> latent vectors -> text, with a pretrained model.

>>> from tokun import Tokenizer
>>> tok = Tokenizer.load()                      # the shipped default, "4x16"
>>> latents = tok.encode("Hello, 世界! 👋")      # (N, 256): one vector per 16 characters
>>> tuple(latents.shape)
(1, 256)
>>> tok.decode(latents, length=12)
'Hello, 世界! 👋'
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from ..core import checkpoint, codec
from ..core.config import BYTES_PER_CHAR
from ..core.errors import InputError
from ..core.model import AutoEncoder, count_parameters
from .inference import Inference
from .prior import CharPrior, shipped_prior
from .verify import VerifyConfig, VerifyStats, verify


class Tokenizer:
    """Encode text into latents and decode latents into text with a tokun autoencoder.

    Work is done in chunks of ``batch_size`` blocks under ``torch.inference_mode``; the model, its folded encoder
    and its decoder in ``decode_dtype`` are the :class:`~tokun.decoding.inference.Inference` object ``inference``.
    ``verify``: decoded blocks are re-encoded and the decoder's rare slips corrected
    (:mod:`tokun.decoding.verify`), about one encode's cost. ``prior``: a character prior
    (:mod:`tokun.decoding.prior`) with which verified decoding reads noisy latents (a language model's
    predictions) by their posterior, likelihood and prior together, instead of by the decoder's reading. Each
    block is decoded from its own latent: the text does not depend on how latents are grouped into calls.
    """

    def __init__(
        self,
        model: AutoEncoder,
        *,
        name: str = "custom",
        fingerprint: str = "",
        batch_size: int = 512,
        decode_dtype: torch.dtype | None = None,
        verify: bool = True,
        prior: CharPrior | str | Path | None = None,
        search: VerifyConfig = VerifyConfig(),
    ) -> None:
        self.inference = Inference(model, decode_dtype=decode_dtype, batch_size=batch_size)
        self.verify = verify
        self.search = search
        self._prior = prior  # a file is read on first use
        self.prior_name = None if prior is None else "custom" if isinstance(prior, CharPrior) else str(prior)
        self.prior_file = None if prior is None or isinstance(prior, CharPrior) else str(prior)  # for other processes
        if isinstance(prior, (str, Path)) and Path(prior) == shipped_prior():
            self.prior_name = "shipped"
        self.name = name
        self.fingerprint = fingerprint

    @property
    def model(self) -> AutoEncoder:
        return self.inference.model

    @property
    def batch_size(self) -> int:
        return self.inference.batch_size

    @batch_size.setter
    def batch_size(self, value: int) -> None:
        self.inference.batch_size = value

    @property
    def prior(self) -> CharPrior | None:
        """The character prior of posterior decoding (:mod:`tokun.decoding.prior`), or None."""
        if self._prior is not None and not isinstance(self._prior, CharPrior):
            self._prior = CharPrior.load(self._prior)
        return self._prior

    @classmethod
    def load(
        cls,
        model: str | Path | None = None,
        *,
        device: str | torch.device = "cpu",
        dtype: torch.dtype = torch.float32,
        decode_dtype: torch.dtype | None = None,
        batch_size: int = 512,
        verify: bool = True,
        prior: bool | str | Path | CharPrior = True,
    ) -> Tokenizer:
        """A shipped model by name (default ``"4x16"``) or a model directory, on ``device`` in ``dtype``
        (the decoder in ``decode_dtype``, default ``dtype``); ``verify`` as in the class; ``prior``: the shipped
        character prior (True), none (False), a prior file or a :class:`~tokun.decoding.prior.CharPrior`."""
        folder = checkpoint.resolve(model)
        net = checkpoint.load_model(folder, device=device)
        first = copy.deepcopy(
            net.decoder.blocks[0]
        )  # kept in float32 for float16 (``decoder``): weights may pass 65,504
        net = net.to(dtype)
        if dtype == torch.float16:
            net.decoder.blocks[0] = first.float()
        digest = checkpoint.fingerprint(folder)
        name = folder.name if folder.parent == checkpoint.weights_root() else str(folder)
        chosen = shipped_prior() if prior is True else (prior or None)
        if chosen is not None and not isinstance(chosen, CharPrior) and not Path(chosen).is_file():
            raise InputError(f"no character prior at {chosen}")
        return cls(
            net,
            name=name,
            fingerprint=digest,
            batch_size=batch_size,
            decode_dtype=decode_dtype,
            verify=verify,
            prior=chosen,
        )

    @property
    def block_chars(self) -> int:
        """Characters per latent vector."""
        return self.model.cfg.block_chars

    @property
    def latent_dim(self) -> int:
        return self.model.cfg.latent_dim

    @property
    def device(self) -> torch.device:
        return self.inference.device

    def info(self) -> dict:
        """The ``tokun info --json`` object: name, weights' sha256, configuration, parameters, compression."""
        cfg = self.model.cfg
        return {
            "model": self.name,
            "sha256": self.fingerprint,
            "config": cfg.to_dict(),
            "parameters": {
                "encoder": count_parameters(self.model.encoder),
                "decoder": count_parameters(self.model.decoder),
                "total": count_parameters(self.model),
            },
            "compression": {
                "chars_per_latent": cfg.block_chars,
                "bytes_per_latent_utf32": cfg.block_bytes,
                "latent_dim": cfg.latent_dim,
                "sequence_length_per_1000_chars": -(-1000 // cfg.block_chars),
            },
        }

    # -- bytes <-> latents ---------------------------------------------------------------------

    def encode_bytes(self, rows: np.ndarray) -> torch.Tensor:
        """``(N, block_bytes)`` uint8 rows -> ``(N, latent_dim)`` float32 latents (on CPU)."""
        return self.inference.encode_bytes(rows)

    def decode_bytes(self, latents: torch.Tensor | np.ndarray) -> np.ndarray:
        """``(N, latent_dim)`` latents -> ``(N, block_bytes)`` uint8 bytes (verified: ``verify``)."""
        return self.read(latents)[0]

    def read(self, latents: torch.Tensor | np.ndarray) -> tuple[np.ndarray, VerifyStats]:
        """:meth:`decode_bytes` and what verified decoding did (:class:`~tokun.decoding.verify.VerifyStats`)."""
        z = self._check_latents(latents)
        bytes_ = self.inference.read(z)
        if not self.verify:
            return bytes_, VerifyStats(blocks=len(z))
        return verify(self.inference, z, bytes_, prior=self.prior, cfg=self.search)

    # -- text <-> latents ----------------------------------------------------------------------

    def encode(self, text: str) -> torch.Tensor:
        """Text -> ``(ceil(len(text) / block_chars), latent_dim)`` float32 latents."""
        if not isinstance(text, str):
            raise InputError(f"encode takes a str, got {type(text).__name__}")
        return self.encode_bytes(codec.encode(text, block_chars=self.block_chars))

    def decode(self, latents: torch.Tensor | np.ndarray, *, length: int | None = None) -> str:
        """Latents -> text. Pass the original ``length`` (characters) to keep trailing U+0000;
        without it the padding, and any U+0000 the text ended with, is dropped."""
        return codec.decode(self.decode_bytes(latents), length=length)

    def encode_batch(self, texts: Sequence[str]) -> list[torch.Tensor]:
        """Several texts in one pass through the model; one ``(N_i, latent_dim)`` tensor each."""
        rows = [codec.encode(t, block_chars=self.block_chars) for t in texts]
        latents = self.encode_bytes(
            np.concatenate(rows) if rows else np.zeros((0, BYTES_PER_CHAR * self.block_chars), np.uint8)
        )
        return list(latents.split([len(r) for r in rows]))

    def decode_batch(
        self, latents: Sequence[torch.Tensor], *, lengths: Sequence[int | None] | None = None
    ) -> list[str]:
        """Several latent tensors in one pass; ``lengths`` as in :meth:`decode`."""
        if lengths is None:
            lengths = [None] * len(latents)
        if len(lengths) != len(latents):
            raise InputError(f"{len(latents)} latent tensors but {len(lengths)} lengths")
        checked = [self._check_latents(z) for z in latents]
        data = self.decode_bytes(torch.cat(checked) if checked else torch.zeros(0, self.latent_dim))
        parts = np.split(data, np.cumsum([len(z) for z in checked])[:-1])
        return [codec.decode(p, length=n) for p, n in zip(parts, lengths)]

    def _check_latents(self, latents: torch.Tensor | np.ndarray) -> torch.Tensor:
        z = torch.as_tensor(latents)
        if z.ndim != 2 or z.shape[-1] != self.latent_dim:
            raise InputError(
                f"latents must have shape (N, {self.latent_dim}) for model {self.name!r}, got {tuple(z.shape)}"
            )
        if not z.is_floating_point():
            raise InputError(f"latents must be floating point, got {z.dtype}")
        if not torch.isfinite(z).all():
            bad = int((~torch.isfinite(z)).any(-1).nonzero()[0, 0])
            raise InputError(f"latents hold NaN or infinite values (first in row {bad})")
        return z
