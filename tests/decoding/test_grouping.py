"""Decoding is a function of the block: the text read from a latent does not depend on the other latents of the
call, the batch, the chunk size or the call's length, for clean, noisy and mixed latents alike."""

import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from tokun import Tokenizer
from tokun.cli import main
from tokun.core import codec
from tokun.core.model import add_noise
from tokun.streaming.latents_file import decode_file

from ..conftest import FIXTURE


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer.load()  # verified decoding and the shipped prior: every path that decides per block


BLOCKS = 12  # the fixture's first 12 blocks


def source(tok: Tokenizer) -> str:
    """The text the clean latents encode: the fixture's first ``BLOCKS`` blocks."""
    return FIXTURE.read_text(encoding="utf-8")[: BLOCKS * tok.block_chars]


def latents(tok: Tokenizer, kind: str) -> torch.Tensor:
    clean = tok.encode(source(tok))  # (12, L)
    assert len(clean) == BLOCKS
    noisy = add_noise(clean, 0.3, generator=torch.Generator().manual_seed(0))
    if kind == "clean":
        return clean
    if kind == "noisy":
        return noisy
    return torch.where((torch.arange(len(clean)) % 3 == 0).unsqueeze(-1), noisy, clean)  # every third noisy


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["clean", "noisy", "mixed"])
def test_every_grouping_reads_the_same_text(tok: Tokenizer, kind: str, tmp_path, capsys) -> None:
    z = latents(tok, kind)
    whole, stats = tok.read(z)  # (N, T)
    assert (stats.posterior > 0) == (kind != "clean")  # the noisy blocks, and only they, read by their posterior
    text = codec.decode(whole, length=len(z) * tok.block_chars)
    blocks = [text[i : i + tok.block_chars] for i in range(0, len(text), tok.block_chars)]
    truth = [source(tok)[i : i + tok.block_chars] for i in range(0, len(text), tok.block_chars)]
    exact = [i for i in range(len(z)) if blocks[i] == truth[i]]
    if kind == "clean":
        assert text == source(tok)  # the clean reading is the source text, exactly
    elif kind == "mixed":  # its clean blocks (two of every three) are read exactly, whatever their neighbours
        assert {i for i in range(len(z)) if i % 3} <= set(exact)
    one_by_one = np.concatenate([tok.decode_bytes(z[i : i + 1]) for i in range(len(z))])
    assert (one_by_one == whole).all()
    reversed_ = tok.decode_bytes(z.flip(0))[::-1]  # other neighbours, other order
    assert (reversed_ == whole).all()
    sizes = [1, 4, 2, 5]
    texts = tok.decode_batch(list(z.split(sizes)), lengths=[n * tok.block_chars for n in sizes])
    assert "".join(texts) == codec.decode(whole, length=len(z) * tok.block_chars)
    path = tmp_path / "z.safetensors"
    save_file({"latents": z.contiguous()}, str(path))
    for chunk in (1, 5, 64):
        decode_file(tok, str(path), str(tmp_path / f"out{chunk}.txt"), chunk_rows=chunk)
        assert (tmp_path / f"out{chunk}.txt").read_bytes() == codec.decode(whole).encode("utf-8")
    assert main(["decode", str(path), "-o", str(tmp_path / "cli.txt")]) == 0
    assert (tmp_path / "cli.txt").read_bytes() == codec.decode(whole).encode("utf-8")


def test_a_noisy_block_beside_clean_ones_is_read_as_when_alone(tok: Tokenizer) -> None:
    """The old rule (noisy when more than half of a call's blocks are) read one noisy block among clean ones as a
    slip and many of them as noise; now a block is read the same wherever it stands."""
    clean, noisy = latents(tok, "clean"), latents(tok, "noisy")
    for i in (0, 5, 11):
        alone = tok.decode_bytes(noisy[i : i + 1])
        among_clean = tok.decode_bytes(torch.cat([clean[:i], noisy[i : i + 1], clean[i + 1 :]]))[i : i + 1]
        among_noisy = tok.decode_bytes(noisy)[i : i + 1]
        assert (alone == among_clean).all() and (alone == among_noisy).all()
