"""The model zoo of ``tokun lm compare``: every model kind behind one small interface, :class:`LanguageModel`.

    kind          reads text as                                   network (the same Body in each)
    TokenModel    UTF-8 bytes (``bytes``) or BPE tokens (``bpe``)  TokenLM: embedding, body, tied head
    DirectModel   16-character tokun blocks (``tokun-direct``)     TokunLM: frozen encoder in, frozen decoder out
    PatchModel    word or fixed patches (``tokun-*``,              PatchLM: tokun encoder (or a learned embedding)
                  ``patch-learned``)                              in, a local decoder of the patch's bytes out

A :class:`LanguageModel` is fitted to the training text when made (BPE's merges, the latents' spread), and
``build(cfg)`` gives it a fresh network. The interface: ``encode`` (text -> :class:`~tokun.lm.data.Encoded`
positions, the shared start first), ``batch`` (training windows), ``nll`` / ``loss`` (per position / summed,
nats), ``flop_parts`` (for training and inference FLOPs), ``begin`` / ``step`` (generation), ``save`` /
:func:`load_lm`. Nothing else in :mod:`tokun.lm` asks which kind a model is.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import asdict
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import nn

from ..core import codec
from ..core.checkpoint import load_model, read_config, resolve
from ..core.errors import InputError, ModelError
from .data import STX, SYMBOL_OF_BYTE, Encoded, TokenText
from .flops import Mode, Part, macs_per_block
from .local import LocalConfig, draw
from .model import LMConfig, TokenLM, TokunLM
from .patch_model import BLOCK_CHARS, LearnedPatchEmbedding, Patched, PatchLM, TokunPatchEmbedding, patches_of

MODELS = (
    "tokun",
    "tokun-words",
    "tokun-words8",
    "tokun-words8-tuned",
    "tokun-16",
    "tokun-8",
    "tokun-4",
    "patch-learned",
    "tokun-direct",
    "bytes",
    "bpe",
)
PATCH_MODELS = {  # name -> patching; every patch is read by the same 16-character tokun encoder, padded with U+0000
    "tokun-words": "words",
    "tokun-words8": "words-8",  # word patches of at most 8 characters: long runs of unspaced scripts cut shorter
    "tokun-words8-tuned": "words-8",  # the same, its tokun encoder fine-tuned end to end instead of frozen
    "tokun-16": "fixed-16",
    "tokun-8": "fixed-8",
    "tokun-4": "fixed-4",
    "patch-learned": "words-8",  # the ablation: the patches of the best tokun scheme
}
TUNED = ("tokun-words8-tuned",)  # patch models whose tokun encoder trains with the language model
# `tokun` is the best of these tokun patch models on the tune split (frozen encoder or fine-tuned)
BEST_OF = ("tokun-words", "tokun-words8", "tokun-words8-tuned", "tokun-16")
PATCH_NAMES = {"tokun-direct": "fixed-16", "bytes": "byte", "bpe": "bpe-4096"}  # the JSON's `patch` of the others
BPE_VOCAB = 4096


class LanguageModel(ABC):
    """One model of the comparison: how it reads text (fitted on the training text) and its network ``net``."""

    def __init__(self, name: str, tokun_model: str) -> None:
        self.name, self.tokun_model = name, tokun_model
        self.net: nn.Module | None = None

    @property
    def cfg(self) -> LMConfig:
        return self.network.cfg

    @property
    def network(self) -> nn.Module:
        if self.net is None:
            raise ModelError(f"{self.name}: no network yet (build it first)")
        return self.net

    # text -> positions
    @abstractmethod
    def encode(self, text: str) -> Encoded:
        """The shared start (:data:`~tokun.lm.data.STX`), then ``text``, as positions."""

    def batch(self, data: Encoded, rng: np.random.Generator, size: int) -> Any:
        """``size`` random training windows of ``context + 1`` positions of ``data``."""
        return data.windows(rng, size, self.cfg.context)

    # the network
    @abstractmethod
    def build(self, cfg: LMConfig) -> nn.Module:
        """A fresh network of body ``cfg`` (its weights drawn from torch's generator), kept as ``net``."""

    def nll(self, batch: Any) -> torch.Tensor:
        """``(B, T)`` NLL (nats) of each position after the first of ``(B, T+1)`` positions."""
        return self.network.nll(batch)

    def loss(self, batch: Any) -> tuple[torch.Tensor, int]:
        """Summed NLL (nats) and the count of units predicted (the training loss is their ratio)."""
        return self.network.loss(batch)

    @abstractmethod
    def flop_parts(self, positions: int, batch: Any = None) -> list[Part]:
        """The network's parts run over ``positions`` predicted positions (``batch``: what they hold, for models
        whose cost depends on it), in training modes (:mod:`tokun.lm.flops`)."""

    # generation
    @abstractmethod
    def begin(self, prompt: str) -> torch.Tensor:
        """``(1, n, ...)`` positions of the shared start and ``prompt``, for the global model (resets the reader)."""

    @abstractmethod
    def step(
        self, state: torch.Tensor, *, temperature: float, top_p: float, generator: torch.Generator,
        forced: tuple[np.ndarray, ...] | None = None,
    ) -> tuple[str, torch.Tensor]:  # fmt: skip
        """From the global state ``(1, 1, dim)`` after the last position: the next piece of text and its
        ``(1, 1, ...)`` position. With ``forced`` (a position of :meth:`encode`, one row of each array), the piece
        is drawn as always, then replaced by the forced one: the same work, on a given text."""

    # files
    def meta(self) -> dict[str, Any]:
        return {"kind": self.name, "lm": asdict(self.cfg), "tokun_model": self.tokun_model}

    def save(self, folder: Path) -> None:
        """``model.safetensors`` and ``config.json`` (:func:`load_lm` reads them back)."""
        folder.mkdir(parents=True, exist_ok=True)
        state = {k: v.detach().cpu().contiguous() for k, v in self.network.state_dict().items()}
        save_file(state, str(folder / "model.safetensors"))
        (folder / "config.json").write_text(json.dumps(self.meta(), indent=2) + "\n")


class TokenModel(LanguageModel):
    """UTF-8 bytes (``bytes``) or a byte-level BPE of :data:`BPE_VOCAB` tokens trained on the text (``bpe``)."""

    def __init__(self, name: str, train: str = "", *, bpe: Any = None, tokun_model: str = "4x16") -> None:
        super().__init__(name, tokun_model)
        if name == "bpe" and bpe is None:
            from tokenizers import ByteLevelBPETokenizer

            bpe = ByteLevelBPETokenizer()
            bpe.train_from_iterator(train.splitlines(), vocab_size=BPE_VOCAB, min_frequency=2, show_progress=False)
        self.bpe = bpe
        self.reader = TokenText(bpe)
        self.start = 2 if bpe is None else bpe.token_to_id(SYMBOL_OF_BYTE[2])  # STX: one byte, one token
        # UTF-8 bytes of each token: a byte-level BPE token is one character of its alphabet per byte
        self.token_bytes = np.ones(self.vocab, dtype=np.int64)
        if bpe is not None:
            self.token_bytes = np.array([len(bpe.id_to_token(i) or "") for i in range(self.vocab)], dtype=np.int64)

    @property
    def vocab(self) -> int:
        return 256 if self.bpe is None else self.bpe.get_vocab_size()

    def encode(self, text: str) -> Encoded:
        ids = np.array([self.start, *self.reader.ids(text)], dtype=np.int64)  # (N,)
        nbytes = self.token_bytes[ids]
        nbytes[0] = 0
        return Encoded((ids,), nbytes)

    def build(self, cfg: LMConfig) -> nn.Module:
        self.net = TokenLM(self.vocab, cfg)
        return self.net

    def flop_parts(self, positions: int, batch: Any = None) -> list[Part]:
        net = self.network
        body = sum(p.numel() for p in net.body.parameters() if p.ndim >= 2)
        head = net.embed.weight.numel()  # the tied head is a matrix product; the embedding a lookup
        return [
            Part("body", body, positions, Mode.TRAINED, self.cfg.layers, self.cfg.context, self.cfg.dim),
            Part("vocabulary layers", head, positions, Mode.TRAINED),
        ]

    def begin(self, prompt: str) -> torch.Tensor:
        self.reader = TokenText(self.bpe)
        return torch.tensor([[self.start, *self.reader.ids(prompt)]])  # (1, n)

    def step(self, state, *, temperature, top_p, generator, forced=None):  # type: ignore[no-untyped-def]
        logits = self.network.head(state)[0, -1].float()  # (V,)
        token = int(draw(logits, temperature=temperature, top_p=top_p, generator=generator))
        token = token if forced is None else int(forced[0])
        return self.reader.piece(token), torch.tensor([[token]])

    def save(self, folder: Path) -> None:
        super().save(folder)
        if self.bpe is not None:
            self.bpe.save(str(folder / "bpe.json"))


def latent_scale(auto: nn.Module, blocks: np.ndarray) -> float:
    """Std of the tokun latents of ``(N, 64)`` blocks of the training text (the input projection's scale)."""
    with torch.no_grad():
        return float(auto.encoder(torch.from_numpy(blocks)).std())


START_BLOCK = " " * (BLOCK_CHARS - 1) + STX  # tokun-direct's first position: a whole block ending with the start


class DirectModel(LanguageModel):
    """``tokun-direct``: 16-character blocks in, the frozen tokun decoder as the output head (the design before)."""

    def __init__(self, train: str = "", *, scale: float | None = None, tokun_model: str = "4x16") -> None:
        super().__init__("tokun-direct", tokun_model)
        self.train_cps = codec.to_codepoints(train) if train else None  # training windows start at any character
        if scale is None:
            sample = codec.pad_codepoints(self.train_cps[:200_000], BLOCK_CHARS)  # type: ignore[index]
            scale = latent_scale(load_model(tokun_model), codec.codepoints_to_bytes(sample))
        self.latent_scale = scale

    def encode(self, text: str) -> Encoded:
        blocks = codec.encode(START_BLOCK + text)  # (N, 64): the start block, then the text's blocks
        nbytes = np.array(
            [0] + [len(text[i : i + BLOCK_CHARS].encode("utf-8")) for i in range(0, len(text), BLOCK_CHARS)]
        )
        return Encoded((blocks,), nbytes)

    def batch(self, data: Encoded, rng: np.random.Generator, size: int) -> Any:
        assert self.train_cps is not None
        n = BLOCK_CHARS * (self.cfg.context + 1)
        starts = rng.integers(0, len(self.train_cps) - n, size=size)
        cps = self.train_cps[starts[:, None] + np.arange(n)].reshape(size, self.cfg.context + 1, BLOCK_CHARS)
        return torch.from_numpy(codec.codepoints_to_bytes(cps))  # (B, T+1, 64)

    def build(self, cfg: LMConfig) -> nn.Module:
        self.net = TokunLM(load_model(self.tokun_model), cfg, latent_scale=self.latent_scale)
        return self.net

    def flop_parts(self, positions: int, batch: Any = None) -> list[Part]:
        net = self.network
        body = sum(p.numel() for p in net.body.parameters() if p.ndim >= 2)
        trained = sum(p.numel() for p in net.parameters() if p.requires_grad and p.ndim >= 2)
        enc, dec = macs_per_block(net.input.encoder.cfg)
        return [
            Part("body", body, positions, Mode.TRAINED, self.cfg.layers, self.cfg.context, self.cfg.dim),
            Part("vocabulary layers", trained - body, positions, Mode.TRAINED),
            Part("tokun encoder (frozen)", enc, positions, Mode.FROZEN),
            Part("tokun decoder (frozen, backward)", dec, positions, Mode.FROZEN_BACKWARD),
        ]

    def begin(self, prompt: str) -> torch.Tensor:
        text = START_BLOCK + prompt
        return torch.from_numpy(codec.encode(" " * (-len(text) % BLOCK_CHARS) + text))[None]  # (1, n, 64)

    def step(self, state, *, temperature, top_p, generator, forced=None):  # type: ignore[no-untyped-def]
        nxt = self.network.output(state)[:, -1].argmax(-1).to(torch.uint8)  # (1, 64): greedy
        nxt = nxt if forced is None else torch.from_numpy(forced[0])[None]
        return codec.decode(nxt.numpy(), length=BLOCK_CHARS), nxt[:, None]

    def meta(self) -> dict[str, Any]:
        return {**super().meta(), "latent_scale": self.latent_scale}


class PatchModel(LanguageModel):
    """A patch model: each patch of ``scheme`` read by the tokun encoder (frozen, or fine-tuned for :data:`TUNED`),
    or by a learned embedding (``patch-learned``); a local decoder writes the next patch's UTF-8 bytes."""

    def __init__(
        self, name: str, train: str = "", *, scale: float | None = None, local: LocalConfig | None = None,
        tokun_model: str = "4x16",
    ) -> None:  # fmt: skip
        super().__init__(name, tokun_model)
        self.scheme, self.local = PATCH_MODELS[name], local
        if scale is None and name != "patch-learned":
            blocks = Patched.of(train[:200_000], self.scheme).blocks[:12_500]
            scale = latent_scale(load_model(tokun_model), blocks)
        self.latent_scale = scale

    def encode(self, text: str) -> Encoded:
        data = Patched.of_patches([STX, *patches_of(text, self.scheme)])
        nbytes = data.nbytes.copy()
        nbytes[0] = 0
        return Encoded((data.blocks, data.units), nbytes)

    def build(self, cfg: LMConfig) -> nn.Module:
        if self.name == "patch-learned":
            embedding: nn.Module = LearnedPatchEmbedding(cfg.dim)
        else:
            auto, scale = load_model(self.tokun_model), self.latent_scale
            embedding = TokunPatchEmbedding(auto, cfg.dim, latent_scale=scale, tune=self.name in TUNED)  # type: ignore[arg-type]
        self.local = self.local or PatchLM.local_config(cfg)
        self.net = PatchLM(embedding, cfg, self.local)
        return self.net

    def flop_parts(self, positions: int, batch: Any = None) -> list[Part]:
        runs = self.network.local.runs(batch[1][:, 1:]) if batch is not None else None  # what the decoder ran
        return self.network.flop_parts(positions, runs)

    def begin(self, prompt: str) -> torch.Tensor:
        return torch.from_numpy(Patched.of_patches([STX, *patches_of(prompt, self.scheme)]).blocks)[None]

    def step(self, state, *, temperature, top_p, generator, forced=None):  # type: ignore[no-untyped-def]
        follow = None if forced is None else torch.from_numpy(forced[1]).view(1, 1, -1)  # (1, 1, U)
        local = self.network.local
        units = local.sample(state, temperature=temperature, top_p=top_p, generator=generator, forced=follow)[0, 0]
        piece = bytes(units.tolist()).split(b"\0", 1)[0].decode("utf-8", errors="replace")[:BLOCK_CHARS] or " "
        block = Patched.of(piece.replace("\0", " "), f"fixed-{BLOCK_CHARS}").blocks[:1]  # (1, 64)
        return piece, torch.from_numpy(block)[None]

    def meta(self) -> dict[str, Any]:
        meta = {**super().meta(), "scheme": self.scheme, "local": asdict(self.network.local.cfg)}
        return meta if self.latent_scale is None else {**meta, "latent_scale": self.latent_scale}


def check_tokun_model(name: str) -> None:
    """Refuse, before any training, a model whose blocks are not the comparison's 16 characters."""
    try:
        cfg = read_config(resolve(name))
    except ModelError as err:
        raise InputError(f"lm compare --model: {err}") from None
    if cfg.block_chars != BLOCK_CHARS:
        raise InputError(
            f"lm compare --model {name}: its blocks hold {cfg.block_chars} characters; the comparison's models read "
            f"{BLOCK_CHARS}-character blocks (4x16, 4x16-exact)"
        )


def make(name: str, train: str, tokun_model: str = "4x16") -> LanguageModel:
    """Model ``name`` of :data:`MODELS` (not the alias ``tokun``), fitted to the training text ``train``."""
    if name in PATCH_MODELS:
        return PatchModel(name, train, tokun_model=tokun_model)
    if name == "tokun-direct":
        return DirectModel(train, tokun_model=tokun_model)
    if name in ("bytes", "bpe"):
        return TokenModel(name, train, tokun_model=tokun_model)
    raise InputError(f"unknown language model {name!r}; models: {', '.join(MODELS)}")


def load_lm(folder: Path) -> LanguageModel:
    """A model saved by ``tokun lm compare`` (``folder`` = ``--out``/NAME), its network loaded (eval mode)."""
    try:
        meta = json.loads((Path(folder) / "config.json").read_text())
    except FileNotFoundError:
        raise ModelError(f"{folder} holds no trained language model: run `tokun lm compare` first") from None
    kind, cfg, tokun_model = meta.get("kind"), LMConfig(**meta.get("lm", {})), meta.get("tokun_model", "4x16")
    model: LanguageModel
    if kind == "tokun-direct":
        model = DirectModel(scale=meta["latent_scale"], tokun_model=tokun_model)
    elif kind in PATCH_MODELS:
        if "local" not in meta or (kind != "patch-learned" and "latent_scale" not in meta):
            raise ModelError(f"{folder} was saved by an older `tokun lm compare` without what generate needs: rerun it")
        scale, local = meta.get("latent_scale"), LocalConfig(**meta["local"])
        model = PatchModel(kind, scale=scale, local=local, tokun_model=tokun_model)
    elif kind in ("bytes", "bpe"):
        bpe = None
        if kind == "bpe":
            from tokenizers import Tokenizer as HFTokenizer

            bpe = HFTokenizer.from_file(str(Path(folder) / "bpe.json"))
        model = TokenModel(kind, bpe=bpe, tokun_model=tokun_model)
    else:
        raise ModelError(f"{folder} holds a {kind!r} model, which generate does not know")
    model.build(cfg).load_state_dict(load_file(str(Path(folder) / "model.safetensors")))
    model.network.eval()
    return model
