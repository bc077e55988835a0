"""TokunForCausalLM: loss from labels, Trainer on a datasets.Dataset, generate, loading in a fresh process."""

import importlib.util
import json
import os
import subprocess
import sys

import pytest
import torch

import tokun
from tokun.core.errors import InputError, ModelError
from tokun.integrations.hf_model import TokunForCausalLM
from tokun.integrations.hf_tokenizer import PAD_ID, TokunTokenizer

from ..conftest import FIXTURE, ROOT

SHAPE = {"dim": 32, "layers": 1, "heads": 2, "ffn": 64, "context": 8, "local_dim": 32}


def load_example():
    spec = importlib.util.spec_from_file_location("trainer_causal_lm", ROOT / "examples" / "trainer_causal_lm.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def tok() -> TokunTokenizer:
    return TokunTokenizer.for_model("4x16")


def test_loss_ignores_padding_and_the_encoder_is_tokun(tok) -> None:
    model = TokunForCausalLM.from_tokun("4x16", **SHAPE)
    auto = tokun.load_model("4x16")
    assert all(torch.equal(v, auto.encoder.state_dict()[k]) for k, v in model.patch.input.encoder.state_dict().items())
    texts = ["Hello, world! Bonjour, 世界 👋 and more text", "short"]
    enc = tok(texts, padding=True, return_tensors="pt")
    one = tok(texts[:1], return_tensors="pt")
    padded = model(**enc, labels=enc["input_ids"]).loss
    alone = model(**one, labels=one["input_ids"]).loss
    assert torch.allclose(padded, alone, atol=1e-6)  # the second text (one block) and the padding add nothing
    assert model(enc["input_ids"]).logits.shape == (2, 2, 64, 256)
    with pytest.raises(InputError, match=r"flat ids \(batch, blocks \* 64\).*flatten"):
        model(enc["input_ids"].view(2, -1, 64))


@pytest.mark.slow
def test_trainer_on_a_dataset_lowers_the_loss_and_generate_samples(tok, tmp_path) -> None:
    example = load_example()
    torch.manual_seed(0)
    model = example.tiny_model(**SHAPE)
    data = example.dataset(tok, FIXTURE.read_text(encoding="utf-8"))
    assert set(data.column_names) == {"input_ids", "attention_mask"}
    losses = example.train(model, tok, data, str(tmp_path / "out"), steps=12)
    assert len(losses) == 12 and sum(losses[-3:]) / 3 < 0.8 * sum(losses[:3]) / 3  # the loss falls
    model.eval()
    prompt = tok(["Hello, world! 16"], return_tensors="pt")["input_ids"]  # one whole block
    ids = model.generate(prompt, max_new_tokens=2, temperature=0.8, top_p=0.9, seed=0)
    assert ids.shape[1] in (64 * 2, 64 * 3) and torch.equal(ids[:, :64], prompt)
    assert torch.equal(ids, model.generate(prompt, max_new_tokens=2, temperature=0.8, top_p=0.9, seed=0))
    greedy = model.generate(prompt, max_new_tokens=2, do_sample=False)
    assert torch.equal(greedy, model.generate(prompt, max_new_tokens=2, do_sample=False))
    text = model.generate_text("Hello", max_new_chars=20, seed=1)
    assert text.startswith("Hello") and len(text) <= 25
    with pytest.raises(InputError, match="no option num_beams"):
        model.generate(prompt, num_beams=2)


FRESH = """
import json, sys
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer
model = AutoModelForCausalLM.from_pretrained(sys.argv[1], trust_remote_code=True)
tok = AutoTokenizer.from_pretrained(sys.argv[1], trust_remote_code=True)
enc = tok(["Hello, world! Bonjour, 世界 👋 and more text"], return_tensors="pt")
loss = model(**enc, labels=enc["input_ids"]).loss
print(json.dumps({"model": type(model).__name__, "tok": type(tok).__name__, "loss": loss.item()}))
"""


def run_fresh(code: str, folder) -> subprocess.CompletedProcess:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_MODULES_CACHE": str(folder) + "-modules"}
    return subprocess.run([sys.executable, "-c", code, str(folder)], capture_output=True, text=True, env=env)


def test_auto_model_for_causal_lm_loads_in_a_fresh_process(tok, tmp_path) -> None:
    model = TokunForCausalLM.from_tokun("4x16", **SHAPE).eval()
    folder = tmp_path / "lm"
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    config = json.loads((folder / "config.json").read_text())
    assert config["model_type"] == "tokun-lm" and config["auto_map"]["AutoModelForCausalLM"] == (
        "modeling_tokun.TokunForCausalLM"
    )
    enc = tok(["Hello, world! Bonjour, 世界 👋 and more text"], return_tensors="pt")
    expected = model(**enc, labels=enc["input_ids"]).loss.item()
    out = run_fresh(FRESH, folder)
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout)
    assert got["model"] == "TokunForCausalLM" and got["tok"] == "TokunTokenizer"
    assert abs(got["loss"] - expected) < 1e-5
    refused = run_fresh(FRESH.replace(", trust_remote_code=True", "", 1), folder)
    assert refused.returncode != 0 and "trust_remote_code=True" in refused.stderr.strip().splitlines()[-1]


def test_bad_directories_are_one_line_errors(tok, tmp_path) -> None:
    with pytest.raises(ModelError, match="holds no tokun language model") as err:
        TokunForCausalLM.from_pretrained(tmp_path)
    assert "\n" not in str(err.value)
    weights = tokun.core.checkpoint.resolve("4x16")
    with pytest.raises(ModelError, match=r"is a tokun autoencoder, not a language model: TokunForCausalLM.from_tokun"):
        TokunForCausalLM.from_pretrained(weights)
    tok.save_pretrained(tmp_path / "tok")
    with pytest.raises(ModelError, match="is a tokenizer directory, not a model"):
        TokunForCausalLM.from_pretrained(tmp_path / "tok")
    model_dir = tmp_path / "lm"
    TokunForCausalLM.from_tokun("4x16", **SHAPE).save_pretrained(model_dir)
    with pytest.raises(ModelError, match="is a model directory, not a tokenizer"):
        TokunTokenizer.from_pretrained(model_dir)
    assert PAD_ID == TokunForCausalLM.from_pretrained(model_dir).config.pad_token_id
