"""Parameter arithmetic of llama-style models, with their vocabulary layers replaced by tokun.

    real counting        GQA (kv_heads), SwiGLU FFN of ``ffn`` (3 matrices), RMSNorm weights, untied head
    simplified counting  the original article's: full attention 4 dim^2, FFN 3 x dim x 4 dim, norms, no biases

With tokun, the embedding table becomes the tokun encoder (+ a Linear(256 -> dim) when the model is
wider than the latent) and the head becomes Linear(dim -> 256) + the tokun decoder; or tokun is built
at the model's width (latent_dim = dim) and needs no projection. One position stands for 16 characters.

>>> count(LLMS["llama3-8b"])["total"]
8030261248
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from ..core.config import ModelConfig, preset
from ..core.errors import ConfigError


@dataclass(frozen=True)
class LLMConfig:
    dim: int
    layers: int
    heads: int
    kv_heads: int
    ffn: int
    vocab: int
    tied: bool = False


LLMS: dict[str, LLMConfig] = {
    "llama3-8b": LLMConfig(dim=4096, layers=32, heads=32, kv_heads=8, ffn=14336, vocab=128256),
    "llama3-8b-simplified": LLMConfig(dim=4096, layers=32, heads=32, kv_heads=32, ffn=4 * 4096, vocab=128000),
    "llama3.2-1b": LLMConfig(dim=2048, layers=16, heads=32, kv_heads=8, ffn=8192, vocab=128256, tied=True),
    "llama3.2-3b": LLMConfig(dim=3072, layers=28, heads=24, kv_heads=8, ffn=8192, vocab=128256, tied=True),
    "tiny-256": LLMConfig(dim=256, layers=6, heads=8, kv_heads=8, ffn=1024, vocab=32000, tied=True),
}


def count(llm: LLMConfig) -> dict[str, int]:
    """Parameters by part: embedding, one block, all blocks, final norm, head, total."""
    head_dim = llm.dim // llm.heads
    attention = 2 * llm.dim * llm.dim + 2 * llm.dim * llm.kv_heads * head_dim  # q, o + k, v
    block = attention + 3 * llm.dim * llm.ffn + 2 * llm.dim  # + SwiGLU + two RMSNorms
    embedding = llm.vocab * llm.dim
    head = 0 if llm.tied else llm.vocab * llm.dim
    total = embedding + llm.layers * block + llm.dim + head
    return {
        "embedding": embedding,
        "per_block": block,
        "blocks": llm.layers * block,
        "norm": llm.dim,
        "head": head,
        "total": total,
    }


def tokun_parts(cfg: ModelConfig) -> dict[str, int]:
    import torch

    from ..core.model import AutoEncoder, count_parameters

    with torch.device("meta"):
        model = AutoEncoder(cfg)
    return {"encoder": count_parameters(model.encoder), "decoder": count_parameters(model.decoder)}


def with_tokun(llm: LLMConfig, cfg: ModelConfig) -> dict[str, Any]:
    """The same model with tokun as its input and output layers (frozen or trained, counted alike)."""
    base = count(llm)
    parts = tokun_parts(cfg)
    proj = 0 if cfg.latent_dim == llm.dim else 2 * (cfg.latent_dim * llm.dim + llm.dim)  # in and out Linear
    total = base["blocks"] + base["norm"] + parts["encoder"] + parts["decoder"] + proj
    return {
        "latent_dim": cfg.latent_dim,
        "tokun_encoder": parts["encoder"],
        "tokun_decoder": parts["decoder"],
        "projections": proj,
        "blocks": base["blocks"],
        "total": total,
        "vocabulary_layers": parts["encoder"] + parts["decoder"] + proj,
        "positions_per_1000_chars": -(-1000 // cfg.block_chars),
    }


def report(name: str, tokun: str = "4x16", *, bpe_chars_per_token: float | None = None) -> dict[str, Any]:
    try:
        llm = LLMS[name]
    except KeyError:
        raise ConfigError(f"unknown model {name!r}; known: {', '.join(LLMS)}") from None
    cfg = preset(tokun)
    base = count(llm)
    out: dict[str, Any] = {
        "llm": name,
        "config": dataclasses.asdict(llm),
        "original": {**base, "vocabulary_layers": base["embedding"] + base["head"]},
        "tokun_at_256": with_tokun(llm, cfg),
        "tokun_at_model_width": with_tokun(
            llm, dataclasses.replace(cfg, latent_dim=llm.dim, hidden_dim=cfg.block_widths()[1])
        ),
    }
    if bpe_chars_per_token:
        out["original"]["positions_per_1000_chars"] = round(1000 / bpe_chars_per_token, 1)
    return out


def table_rows(result: dict[str, Any]) -> list[tuple[str, int, int, int]]:
    """``tokun params``' table: (layer, original, tokun at latent 256, tokun at the model's width) parameters; the
    projections between the 256-d latents and the model's width count half to the input layer, half to the output."""
    o, t256, tw = result["original"], result["tokun_at_256"], result["tokun_at_model_width"]
    return [
        ("input layer", o["embedding"], t256["tokun_encoder"] + t256["projections"] // 2, tw["tokun_encoder"]),
        ("blocks", o["blocks"], t256["blocks"], tw["blocks"]),
        ("output layer", o["head"], t256["tokun_decoder"] + t256["projections"] // 2, tw["tokun_decoder"]),
        ("total", o["total"], t256["total"], tw["total"]),
    ]
