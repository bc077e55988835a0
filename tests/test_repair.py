import numpy as np
import pytest
import torch

from tokun import Tokenizer, codec
from tokun.config import ModelConfig
from tokun.data import random_codepoints
from tokun.model import AutoEncoder, add_noise
from tokun.repair import SlotTerms, alternatives, repair

from .conftest import FIXTURE


@pytest.fixture(scope="module")
def robust() -> Tokenizer:
    return Tokenizer.load("4x16-robust", verify=False)


def rows_of(tok: Tokenizer, cps: np.ndarray) -> np.ndarray:
    return codec.codepoints_to_bytes(codec.pad_codepoints(cps, tok.block_chars))


def char_errors(read: np.ndarray, rows: np.ndarray) -> int:
    return int((~(read == rows).reshape(-1, 4).all(-1)).sum())


@pytest.mark.parametrize("name", ["4x16", "4x4x8"])
def test_slot_terms_add_up_to_the_latent(name: str) -> None:
    """The latent of a linear last block is a constant plus one term per slot, the search's shortcut."""
    tok = Tokenizer.load(name)
    rows = rows_of(tok, random_codepoints("planes0-3", 20 * tok.block_chars, seed=3))  # (20, T)
    terms = SlotTerms(tok.model.encoder)
    with torch.inference_mode():
        data = torch.from_numpy(rows.astype(np.int64)).view(-1, terms.slot_bytes)  # (20 * G, S)
        summed = terms(data, torch.arange(terms.slots).repeat(len(rows))).view(len(rows), terms.slots, -1).sum(1)
    rest = tok.encode_bytes(rows) - summed  # (20, L): the bias, the same for every block
    assert (rest - rest[0]).norm(dim=-1).max() < 1e-5 * summed.norm(dim=-1).mean()


def test_slot_terms_only_for_a_linear_last_block() -> None:
    assert SlotTerms.applies(AutoEncoder(ModelConfig(token_dim=(4, 4), embed_dim=8, latent_dim=16)).encoder)
    cfg = ModelConfig(token_dim=(4, 4), embed_dim=8, latent_dim=16, latent_activation=True)
    assert not SlotTerms.applies(AutoEncoder(cfg).encoder)


def test_alternatives_hold_the_runner_ups() -> None:
    logp = torch.log_softmax(torch.randn(2, 3, 4, 256), -1)
    alts = alternatives(logp, top=5)  # (F, C, A, 4)
    assert alts.shape == (2, 3, 4 * 5 + 6, 4)
    best, second = logp.argmax(-1), logp.topk(2, -1).indices[..., 1]
    assert (alts == best.unsqueeze(2)).all(-1).any(-1).all()  # the decoder's own reading is a candidate
    for j in range(4):  # each byte's runner-up, the others kept
        want = best.clone()
        want[..., j] = second[..., j]
        assert (alts == want.unsqueeze(2)).all(-1).any(-1).all()


@pytest.mark.parametrize("linear", [True, False])
def test_slips_are_corrected(robust: Tokenizer, linear: bool, monkeypatch) -> None:
    """One or two characters of a block read as the decoder's runner-up are put back, with the slot-term
    shortcut and with whole re-encodings alike."""
    if not linear:
        monkeypatch.setattr(SlotTerms, "applies", staticmethod(lambda encoder: False))
    text = FIXTURE.read_text(encoding="utf-8")
    rows = codec.encode(text)
    z = robust.encode_bytes(rows)
    read = robust.decode_bytes(z)
    with torch.inference_mode():
        runner_up = robust.model.decoder(z).topk(2, -1).indices[..., 1].numpy()  # (N, T)
    slipped = rows.copy()
    rng = np.random.default_rng(0)
    blocks = rng.choice(np.flatnonzero((read == rows).all(1)), 4, replace=False)  # blocks the decoder reads right
    for n, b in enumerate(blocks):
        for c in rng.choice(16, 1 + n % 2, replace=False):  # one slip, or two in the same block
            slipped[b, 4 * c + 3] = runner_up[b, 4 * c + 3]
    assert char_errors(slipped, rows) == 6
    assert (repair(robust, z, slipped) == rows).all()


def test_real_slips_are_corrected(robust: Tokenizer) -> None:
    """The robust model misreads a few random characters of clean latents; verified decoding reads them all."""
    rows = rows_of(robust, random_codepoints("planes0-3", 100_000, seed=1))
    z = robust.encode_bytes(rows)
    read = robust.decode_bytes(z)
    assert char_errors(read, rows) > 0
    fixed = np.concatenate([repair(robust, z[i : i + 512], read[i : i + 512]) for i in range(0, len(z), 512)])
    assert char_errors(fixed, rows) == 0
    verified = Tokenizer.load("4x16-robust")  # verify=True is the default
    assert (verified.decode_bytes(z) == rows).all()


def test_int8_latents_are_read_exactly(robust: Tokenizer) -> None:
    from tokun.noise import int8_roundtrip

    rows = rows_of(robust, random_codepoints("assigned", 100_000, seed=2))
    z = int8_roundtrip(robust.encode_bytes(rows))
    verified = Tokenizer.load("4x16-robust")
    assert char_errors(verified.decode_bytes(z), rows) < char_errors(robust.decode_bytes(z), rows)
    assert char_errors(verified.decode_bytes(z), rows) == 0


def test_noisy_latents_are_left_as_the_decoder_reads_them(robust: Tokenizer) -> None:
    """Latents that are no encoder output are near no codeword: a chunk of them is not searched."""
    rows = codec.encode(FIXTURE.read_text(encoding="utf-8"))
    z = add_noise(robust.encode_bytes(rows), 0.5)
    read = robust.decode_bytes(z)
    assert char_errors(read, rows) > 0
    assert repair(robust, z, read) is read
    # a small chunk is searched anyway, but nothing comes twice as close: the reading stays
    assert (repair(robust, z[:4], read[:4]) == read[:4]).all()

