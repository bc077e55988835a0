"""The shipped tokenizer on a CUDA device (skipped without one: tests/conftest.py)."""

import pytest
import torch

from tokun.decoding.tokenizer import Tokenizer

from .conftest import FIXTURE


def check_device_against_cpu(device: str) -> None:
    """On ``device``: the fixture decodes exactly, and its latents are the CPU's within 1e-4."""
    text = FIXTURE.read_text(encoding="utf-8")
    cpu, other = Tokenizer.load(), Tokenizer.load(device=device)
    assert other.device.type == torch.device(device).type
    z_cpu, z = cpu.encode(text), other.encode(text)
    assert z.shape == z_cpu.shape == (-(-len(text) // 16), 256)
    assert (z.float().cpu() - z_cpu).abs().max().item() < 1e-4
    assert other.decode(z, length=len(text)) == text
    assert other.decode(z_cpu.to(other.device), length=len(text)) == text  # latents made elsewhere
    assert other.decode_batch(other.encode_batch([text, text[:100]]), lengths=[len(text), 100]) == [text, text[:100]]


@pytest.mark.gpu
def test_shipped_tokenizer_on_cuda_is_exact_and_matches_the_cpu() -> None:
    check_device_against_cpu("cuda")
