import numpy as np
import pytest
import torch

from tokun import Tokenizer
from tokun.core import codec
from tokun.core.config import ModelConfig
from tokun.core.model import AutoEncoder, add_noise
from tokun.core.sources import random_codepoints
from tokun.decoding.posterior import posterior_alternatives
from tokun.decoding.slots import SlotTerms, read_scalar_values, scalar_values
from tokun.decoding.verify import Reading, alternatives, deep, greedy, verify, wide_alternatives

from ..conftest import FIXTURE


def repair(tok: Tokenizer, z: torch.Tensor, read: np.ndarray) -> np.ndarray:
    """Verified decoding of the decoder's reading ``read`` of ``z``, with ``tok``'s prior."""
    return verify(tok.inference, z, read, prior=tok.prior)[0]


@pytest.fixture(scope="module")
def plain() -> Tokenizer:
    """The default model, its decoder's reading unverified."""
    return Tokenizer.load("4x16", verify=False)


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
    assert alts.shape == (2, 3, 4 * 5 + 6 + 4 + 1, 4)  # one byte among its top 5; 2, 3 or 4 bytes at runner-ups
    best, second = read_scalar_values(logp.flatten(1, 2)).view(2, 3, 4), logp.topk(2, -1).indices[..., 1]
    assert (best[..., 0] == 0).all() and (best[..., 1] <= 0x10).all()  # the reading is of scalar values' bytes
    assert (alts == best.unsqueeze(2)).all(-1).any(-1).all()  # the decoder's own reading is a candidate
    for j in range(4):  # each byte's runner-up, the others kept
        want = best.clone()
        want[..., j] = second[..., j]
        assert (alts == want.unsqueeze(2)).all(-1).any(-1).all()
    want = second.clone()
    want[..., 0] = best[..., 0]  # three bytes at their runner-ups
    assert (alts == want.unsqueeze(2)).all(-1).any(-1).all()


@pytest.mark.parametrize("linear", [True, False])
def test_slips_are_corrected(plain: Tokenizer, linear: bool) -> None:
    """One or two characters of a block read as the decoder's runner-up are put back, with the slot-term
    shortcut and with whole re-encodings alike."""
    if not linear:
        plain = Tokenizer.load("4x16", verify=False)
        plain.inference.__dict__["slot_terms"] = None  # as for a non-linear last block: whole re-encodings
    text = FIXTURE.read_text(encoding="utf-8")
    rows = codec.encode(text)
    z = plain.encode_bytes(rows)
    read = plain.decode_bytes(z)
    with torch.inference_mode():
        runner_up = plain.model.decoder(z).topk(2, -1).indices[..., 1].numpy()  # (N, T)
    slipped = rows.copy()
    rng = np.random.default_rng(0)
    blocks = rng.choice(np.flatnonzero((read == rows).all(1)), 4, replace=False)  # blocks the decoder reads right
    for n, b in enumerate(blocks):
        for c in rng.choice(16, 1 + n % 2, replace=False):  # one slip, or two in the same block
            slipped[b, 4 * c + 3] = runner_up[b, 4 * c + 3]
    assert char_errors(slipped, rows) == 6
    assert (repair(plain, z, slipped) == rows).all()


@pytest.mark.parametrize("name", ["4x16", "4x4x8"])
def test_real_slips_are_corrected(name: str) -> None:
    """The decoders misread a few random characters of clean latents (the default's, trained with noise, and
    4x4x8's, 32 characters a vector); verified decoding reads them all."""
    plain = Tokenizer.load(name, verify=False)
    rows = rows_of(plain, random_codepoints("planes0-3", 100_000, seed=1))
    z = plain.encode_bytes(rows)
    read = plain.decode_bytes(z)
    assert char_errors(read, rows) > 0
    assert char_errors(repair(plain, z, read), rows) == 0
    assert (Tokenizer.load(name).decode_bytes(z) == rows).all()  # verify=True is the default


def test_int8_latents_are_read_exactly(plain: Tokenizer) -> None:
    from tokun.evaluation.noise import int8_roundtrip

    rows = rows_of(plain, random_codepoints("assigned", 100_000, seed=2))
    z = int8_roundtrip(plain.encode_bytes(rows))
    verified = Tokenizer.load("4x16")
    assert char_errors(verified.decode_bytes(z), rows) < char_errors(plain.decode_bytes(z), rows)
    assert char_errors(verified.decode_bytes(z), rows) == 0


def test_noisy_latents_without_a_prior_are_read_by_the_search_alone() -> None:
    """Latents that are no encoder output lie near no codeword: without a prior, each such block is found noisy, no
    posterior runs, and the gain test keeps the search from making the reading worse."""
    plain = Tokenizer.load("4x16", verify=False, prior=False)
    rows = codec.encode(FIXTURE.read_text(encoding="utf-8"))
    torch.manual_seed(0)
    z = add_noise(plain.encode_bytes(rows), 0.5)
    read = plain.decode_bytes(z)
    fixed, stats = verify(plain.inference, z, read)
    assert char_errors(read, rows) > 0
    assert stats.flagged == len(rows) and stats.noisy == stats.flagged and stats.posterior == 0
    assert char_errors(fixed, rows) <= char_errors(read, rows)


def test_posterior_reads_noisy_latents_better_than_the_decoder(plain: Tokenizer) -> None:
    """With the shipped character prior, noisy latents of text the prior never saw (the fixture) are read by
    likelihood and prior together: fewer errors than the decoder's own reading, and clean latents untouched."""
    rows = codec.encode(FIXTURE.read_text(encoding="utf-8"))
    clean = plain.encode_bytes(rows)
    assert plain.prior is not None
    torch.manual_seed(0)
    z = torch.cat([add_noise(clean, 0.5) for _ in range(6)])  # (6N, L): six noise draws
    truth = np.concatenate([rows] * 6)
    read = plain.decode_bytes(z)
    fixed = repair(plain, z, read)
    assert char_errors(fixed, truth) < 0.6 * char_errors(read, truth)
    assert (repair(plain, clean, plain.decode_bytes(clean)) == rows).all()
    padded = (truth.reshape(len(truth), -1, 4) == 0).all(-1)  # U+0000 pads the last block: it stays
    assert (fixed.reshape(len(truth), -1, 4)[padded] == 0).all()


def test_posterior_is_blind_to_a_shift_common_to_every_dimension(plain: Tokenizer) -> None:
    """Codewords sum to zero and the decoder is blind to a common shift: so is verification. A shifted codeword is
    still an encoder output, its slips found by the exact search (a posterior that weighed the shift as noise
    would let the prior rewrite rare characters)."""
    rows = codec.encode(FIXTURE.read_text(encoding="utf-8"))
    z = plain.encode_bytes(rows)
    shifted = z + 3 * float(z.std())
    read = plain.decode_bytes(shifted)
    assert char_errors(read, rows) > 0  # the decoder's own slips on the fixture's rare characters
    assert (repair(plain, shifted, read) == rows).all()


def test_scalar_values() -> None:
    cps = np.array([0, 0x41, 0xD7FF, 0xD800, 0xDFFF, 0xE000, 0x10FFFF, 0x110000, 0x1000000], dtype=np.uint32)
    got = scalar_values(torch.from_numpy(codec.codepoints_to_bytes(cps[None]).reshape(-1, 4).astype(np.int64)))
    assert got.tolist() == [True, True, True, False, False, True, True, False, False]


def test_wide_alternatives_hold_every_value_of_a_byte_next_to_a_runner_up() -> None:
    logp = torch.log_softmax(torch.randn(1, 2, 4, 256), -1)
    alts = wide_alternatives(logp)  # (F, C, A, 4)
    assert alts.shape == (1, 2, 5 * (17 + 256 + 256), 4)  # bytes 1-3 (plane 0-16, any, any), alone or by a runner-up
    ranked = logp.topk(3, -1).indices
    want = ranked[..., 0].clone()
    want[..., 0] = 0
    want[..., 1], want[..., 2] = ranked[..., 1, 2], 77  # a high byte at its second runner-up, a low byte anywhere
    assert (alts == want.unsqueeze(2)).all(-1).any(-1).all()


def test_a_slip_of_two_bytes_is_found_by_the_wide_search(plain: Tokenizer) -> None:
    """The decoder guesses bytes one by one: when its reading of a character is off in a high byte (right value
    its runner-up) and a low byte (right value far down its list), the wide search still lands on the codeword."""
    rows = codec.encode(FIXTURE.read_text(encoding="utf-8"))[:8]  # (8, 64)
    z = plain.encode_bytes(rows)
    truth = torch.from_numpy(rows.astype(np.int64)).view(8, 16, 4)
    slipped = truth.clone()
    slipped[3, 5, 1] = (truth[3, 5, 1] + 1) % 256
    slipped[3, 5, 2] = (truth[3, 5, 2] + 100) % 256
    logp = torch.full((1, 16, 4, 256), -30.0).scatter(-1, slipped[3:4].unsqueeze(-1), 0.0)  # reads the slip
    logp[0, 5, 1, truth[3, 5, 1]] = -1.0  # the right high byte: runner-up; the right low byte: nowhere near
    cur = slipped[3:4].reshape(1, -1).clone()
    now = plain.encode_bytes(cur.numpy().astype(np.uint8))
    start = Reading(cur, now, (now - z[3:4]).norm(dim=-1))
    terms = SlotTerms(plain.model.encoder)
    with torch.inference_mode():
        narrow = greedy(plain.inference, terms, z[3:4], start, alternatives(logp, 8), 4)
        assert (narrow.cur.view(16, 4) != truth[3]).any()  # the narrow search cannot reach it
        assert scalar_values(narrow.cur.view(16, 4)).all()  # nor does it wander off Unicode
        wide = greedy(plain.inference, terms, z[3:4], narrow, wide_alternatives(logp), 4)
    assert (wide.cur.view(16, 4) == truth[3]).all()
    assert wide.dist.item() < 1e-3 * z[3].norm()
    assert torch.equal(start.cur, slipped[3:4].reshape(1, -1))  # the searches returned new readings


@pytest.mark.parametrize("name", ["4x16", "4x4x8"])
def test_deep_search_finds_a_slip_of_two_bytes_far_down_the_lists(name: str) -> None:
    """The last resort: a character whose two low bytes are both wrong (U+10072 read as U+17176) is found among
    every character of the decoder's likeliest planes, whatever its lists of low bytes say; a noisy latent, which
    no single character explains, is left alone."""
    tok = Tokenizer.load(name)
    rows = rows_of(tok, np.array([ord(c) for c in "deep search: \U00010072 and more " * 2]))[:1]  # (1, T)
    z = tok.encode_bytes(rows)[0]
    terms = tok.inference.slot_terms
    with torch.inference_mode():
        logp = torch.log_softmax(tok.inference.decoder(z.unsqueeze(0)).float(), -1)[0].view(-1, 4, 256)
        noisy = z + 0.5 * float(z.std()) * torch.randn(z.shape, generator=torch.Generator().manual_seed(0))
        for latent, fixed in ((z, True), (noisy, False)):
            cur = torch.from_numpy(rows[0].astype(np.int64))
            at = 4 * 13  # the U+10072
            assert cur[at : at + 4].tolist() == [0, 1, 0x00, 0x72]
            cur[at + 2 : at + 4] = torch.tensor([0x71, 0x76])
            now = tok.encode_bytes(cur.unsqueeze(0).numpy().astype(np.uint8))
            block = Reading(cur.unsqueeze(0), now, (now - latent).norm(dim=-1))
            before = cur.clone()
            got = deep(tok.inference, terms, latent, block, logp, 0.025 * float(latent.norm()))
            assert (got.cur[0].numpy() == rows[0]).all() if fixed else torch.equal(got.cur[0], before)
            assert torch.equal(cur, before)  # its input is left as it was


def test_posterior_alternatives_are_the_likeliest_characters_of_independent_bytes() -> None:
    gen = torch.Generator().manual_seed(0)
    logp = torch.log_softmax(3 * torch.randn(2, 3, 4, 256, generator=gen), -1)
    alts = posterior_alternatives(logp, 10, planes=17, width=256)  # (2, 3, 10, 4): exhaustive at these sizes
    for f in range(2):
        for c in range(3):
            lp = logp[f, c]
            every = lp[1, :17, None, None] + lp[2, None, :, None] + lp[3, None, None, :]  # (17, 256, 256)
            want = every.flatten().topk(10).indices
            got = alts[f, c]
            assert (got[:, 0] == 0).all()
            assert (got[:, 1] * 65536 + got[:, 2] * 256 + got[:, 3]).tolist() == want.tolist()


@pytest.mark.slow
def test_blocks_across_script_boundaries_read_exactly() -> None:
    """A block that holds the end of one script's line, a line break and the start of another's is where the
    decoder slips on several characters at once (Thai after Tamil read as Oriya and Hangul): every such block of
    the fixture's lines, joined in several orders, reads back exactly at every cut offset."""
    from tokun.evaluation.accuracy import text_metrics

    tok = Tokenizer.load()
    lines = [line for line in FIXTURE.read_text(encoding="utf-8").splitlines() if line.strip()]
    for order in (lines * 2, lines[::-1], lines[1::2] + lines[::2]):
        text = "\n".join(order)
        worst = text_metrics(tok, text)  # the worst of every cut offset
        assert worst["char_accuracy"] == 1.0, worst
