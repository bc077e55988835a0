"""examples/llama_inputs_embeds.py: tokun's encoder feeds a transformers LlamaModel through inputs_embeds."""

import importlib.util

import torch
from transformers import LlamaModel

import tokun
from tokun.integrations.hf_tokenizer import TokunTokenizer

from ..conftest import FIXTURE, ROOT


def load_example():
    spec = importlib.util.spec_from_file_location("llama_inputs_embeds", ROOT / "examples" / "llama_inputs_embeds.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_tiny_llama_over_tokun_learns_and_its_latents_read_back() -> None:
    example = load_example()
    texts = [line for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line][:4]
    autoencoder = tokun.load_model("4x16")
    tok = TokunTokenizer.for_model("4x16")
    model = example.tiny_llama(autoencoder, texts, hidden=32, layers=1)
    assert isinstance(model.body, LlamaModel)
    frozen = {k: v.clone() for k, v in autoencoder.state_dict().items()}
    losses = example.train(model, tok, texts, steps=12)
    assert losses[-1] < 0.7 * losses[0]  # the loss falls
    assert all(torch.equal(v, autoencoder.state_dict()[k]) for k, v in frozen.items())  # tokun stays frozen
    blocks, mask = example.blocks_of(tok, texts)  # the tokenizer's flat ids as (batch, blocks, 64)
    latents = model.eval().next_latents(blocks, mask)
    assert latents.shape == (len(texts), blocks.shape[1], 256)
    text = tokun.Tokenizer.load(prior=False).decode(latents[0, :1])  # the way back: a predicted block's text
    assert isinstance(text, str) and len(text) <= 16
