"""tokun as the input and output layers of a ``transformers`` LlamaModel, through ``inputs_embeds``.

    text ──TokunTokenizer──▶ input_ids (B, N * 64) flat ids, viewed as blocks (B, N, 64) by tok.blocks
         ──frozen tokun encoder + Linear (TokunInput)──▶ inputs_embeds (B, N, hidden)
         ──LlamaModel (causal, over blocks)──▶ hidden states (B, N, hidden)
         ──Linear + frozen tokun decoder (TokunOutput)──▶ the next block's byte logits (B, N, 64, 256)

The model learns to predict each next 16-character block's 64 bytes (cross-entropy through the frozen decoder;
padding blocks are masked). The way back to text: the Linear's output, times the latents' scale, is a predicted
latent (:meth:`TokunLlama.next_latents`), which ``tokun.Tokenizer.decode`` reads (verified decoding; a latent that
no text encodes to is read by its posterior, with the character prior). A local decoder that predicts the next patch
byte by byte (``tokun.lm.local``, as ``tokun lm compare``'s patch models do) is the other way back.

    python examples/llama_inputs_embeds.py          # trains a tiny model a few steps on the fixture, prints the loss
"""

from __future__ import annotations

from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn
from transformers import LlamaConfig, LlamaModel

import tokun
from tokun.integrations.hf_tokenizer import TokunTokenizer
from tokun.lm.model import TokunInput, TokunOutput

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "multilingual.txt"


class TokunLlama(nn.Module):
    """A LlamaModel between tokun's frozen encoder and decoder (module docstring)."""

    def __init__(self, autoencoder: tokun.AutoEncoder, config: LlamaConfig, latent_scale: float) -> None:
        super().__init__()
        self.input = TokunInput(autoencoder, config.hidden_size, latent_scale)
        self.body = LlamaModel(config)
        self.output = TokunOutput(autoencoder, config.hidden_size, latent_scale)

    def hidden(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``(B, N, 64)`` bytes and ``(B, N)`` mask -> ``(B, N, hidden)``: the state after each block."""
        embeds = self.input(input_ids)  # (B, N, hidden)
        return self.body(inputs_embeds=embeds, attention_mask=attention_mask).last_hidden_state

    def forward(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Byte logits ``(B, N, 64, 256)`` of the block after each position."""
        return self.output(self.hidden(input_ids, attention_mask))

    def loss(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """Mean cross-entropy (nats per byte) of each next block's bytes, over the blocks that hold text."""
        logits = self(input_ids[:, :-1], attention_mask[:, :-1])  # (B, N-1, 64, 256)
        target = input_ids[:, 1:].long()  # (B, N-1, 64)
        nll = F.cross_entropy(logits.flatten(0, 2), target.flatten(), reduction="none").view_as(target)
        keep = attention_mask[:, 1:].unsqueeze(-1).expand_as(target).float()  # (B, N-1, 64)
        return (nll * keep).sum() / keep.sum()

    @torch.no_grad()
    def next_latents(self, input_ids: torch.Tensor, attention_mask: torch.Tensor) -> torch.Tensor:
        """``(B, N, 256)``: the latent predicted for the block after each position (read it with
        ``tokun.Tokenizer.decode``)."""
        return self.output.proj(self.hidden(input_ids, attention_mask)) * self.output.latent_scale


def tiny_llama(autoencoder: tokun.AutoEncoder, texts: list[str], *, hidden: int = 64, layers: int = 2) -> TokunLlama:
    """A small LlamaModel (``vocab_size`` 1: its embedding table goes unused) over tokun's latents."""
    config = LlamaConfig(
        vocab_size=1,
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=4,
        max_position_embeddings=256,
    )
    blocks, mask = blocks_of(TokunTokenizer(block_chars=autoencoder.cfg.block_chars), texts)
    with torch.no_grad():  # the latents' spread: the scale the output Linear aims at
        scale = float(autoencoder.encoder(blocks)[mask.bool()].std())
    return TokunLlama(autoencoder, config, latent_scale=scale)


def blocks_of(tok: TokunTokenizer, texts: list[str]) -> tuple[torch.Tensor, torch.Tensor]:
    """The tokenizer's flat ids ``(B, N * 64)`` and mask -> the model's ``(B, N, 64)`` bytes and ``(B, N)`` mask."""
    batch = tok(texts, padding=True, return_tensors="pt")
    return tok.blocks(batch["input_ids"]), tok.block_mask(batch["attention_mask"])


def train(model: TokunLlama, tok: TokunTokenizer, texts: list[str], *, steps: int, lr: float = 3e-3) -> list[float]:
    """``steps`` AdamW steps on ``texts`` (one batch); the loss of each step."""
    input_ids, attention_mask = blocks_of(tok, texts)
    params = [p for p in model.parameters() if p.requires_grad]  # the tokun encoder and decoder stay frozen
    optimizer = torch.optim.AdamW(params, lr=lr)
    losses = []
    model.train()
    for _ in range(steps):
        loss = model.loss(input_ids, attention_mask)
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        losses.append(loss.item())
    return losses


def main(steps: int = 30) -> None:
    torch.manual_seed(0)
    texts = [line for line in SAMPLE.read_text(encoding="utf-8").splitlines() if line][:8]
    autoencoder = tokun.load_model("4x16")
    tok = TokunTokenizer.for_model("4x16")
    model = tiny_llama(autoencoder, texts)
    losses = train(model, tok, texts, steps=steps)
    print(f"loss (nats per byte): step 1 {losses[0]:.3f} -> step {steps} {losses[-1]:.3f}")
    blocks, mask = blocks_of(tok, texts[:1])
    predicted = model.eval().next_latents(blocks, mask)[0, -1:]  # (1, 256)
    print(f"next block, predicted: {tokun.Tokenizer.load().decode(predicted)!r}")


if __name__ == "__main__":
    main()
