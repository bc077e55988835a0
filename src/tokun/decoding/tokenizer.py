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
from ..core.errors import InputError
from ..core.folded import FoldedEncoder
from ..core.model import AutoEncoder, InFloat32
from .prior import CharPrior, shipped_prior
from .verify import SlotTerms, repair


class Tokenizer:
    """Encode text into latents and decode latents into text with a tokun autoencoder.

    Work is done in chunks of ``batch_size`` blocks under ``torch.inference_mode``. ``verify``: decoded blocks
    are re-encoded and the decoder's rare slips corrected (:mod:`tokun.repair`); it changes nothing for
    latents that are not encoder outputs, and costs about one encode. ``prior``: a character prior
    (:mod:`tokun.prior`) with which verified decoding reads noisy latents (a language model's predictions) by
    their posterior, likelihood and prior together, instead of leaving the decoder's reading.
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
    ) -> None:
        self.model = model.eval()
        self.verify = verify
        self._prior = prior  # a file is read on first use
        self.prior_name = None if prior is None else "custom" if isinstance(prior, CharPrior) else str(prior)
        if isinstance(prior, (str, Path)) and Path(prior) == shipped_prior():
            self.prior_name = "shipped"
        self.name = name
        self.fingerprint = fingerprint
        self.batch_size = batch_size
        self.decode_dtype = decode_dtype or next(model.parameters()).dtype
        self._encoder: torch.nn.Module | None = None
        self._decoder: torch.nn.Module | None = None
        self._terms: SlotTerms | None = None

    @property
    def decoder(self) -> torch.nn.Module:
        """The decoder used for inference, in ``decode_dtype`` (bfloat16 pays for wide models: docs/RESULTS.md)."""
        if self._decoder is None:
            decoder = self.model.decoder
            half = self.decode_dtype == torch.float16  # the first block's pre-activations can pass float16's 65,504
            if half or self.decode_dtype != next(self.model.parameters()).dtype:
                first = copy.deepcopy(decoder.blocks[0]).float() if half else None  # before its weights are cast
                decoder = copy.deepcopy(decoder).to(self.decode_dtype)
                if first is not None:  # so are its weights, in a model whose latents were rescaled down
                    decoder.blocks[0] = InFloat32(first)
            self._decoder = decoder
        return self._decoder

    @property
    def prior(self) -> CharPrior | None:
        """The character prior of posterior decoding (:mod:`tokun.prior`), or None."""
        if self._prior is not None and not isinstance(self._prior, CharPrior):
            self._prior = CharPrior.load(self._prior)
        return self._prior

    @property
    def slot_terms(self) -> SlotTerms | None:
        """The last tokenize block as per-slot terms, for verified decoding's search (None if it is not linear)."""
        if self._terms is None and SlotTerms.applies(self.model.encoder):
            self._terms = SlotTerms(self.model.encoder, self.encoder)
        return self._terms

    @property
    def encoder(self) -> torch.nn.Module:
        """The encoder used for inference: first block folded into tables where possible (same outputs)."""
        if self._encoder is None:
            self._encoder = self.model.encoder if self.model.cfg.attention else FoldedEncoder(self.model.encoder)
        return self._encoder

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
        character prior (True), none (False), a prior file or a :class:`~tokun.prior.CharPrior`."""
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
        return next(self.model.parameters()).device

    # -- bytes <-> latents ---------------------------------------------------------------------

    @torch.inference_mode()
    def encode_bytes(self, rows: np.ndarray) -> torch.Tensor:
        """``(N, block_bytes)`` uint8 rows -> ``(N, latent_dim)`` float32 latents (on CPU)."""
        data = torch.from_numpy(np.require(rows, dtype=np.uint8, requirements=["C", "W"]))  # a copy only if read-only
        out = torch.empty(len(data), self.latent_dim)
        for i in range(0, len(data), self.batch_size):
            out[i : i + self.batch_size] = self.encoder(data[i : i + self.batch_size].to(self.device)).float().cpu()
        return out

    @torch.inference_mode()
    def decode_bytes(self, latents: torch.Tensor | np.ndarray) -> np.ndarray:
        """``(N, latent_dim)`` latents -> ``(N, block_bytes)`` uint8 predicted bytes (verified: ``verify``)."""
        z = self._check_latents(latents)
        out = np.empty((len(z), self.model.cfg.block_bytes), dtype=np.uint8)
        step = min(self.batch_size, 512)  # logits are 256x larger than bytes: smaller chunks bound memory
        for i in range(0, len(z), step):
            chunk = z[i : i + step].to(device=self.device, dtype=self.decode_dtype)
            out[i : i + step] = self.decoder(chunk).argmax(-1).to(torch.uint8).cpu().numpy()
        return repair(self, z, out) if self.verify else out

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
            np.concatenate(rows) if rows else np.zeros((0, self.model.cfg.block_bytes), np.uint8)
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
