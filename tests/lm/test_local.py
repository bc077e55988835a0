"""The local decoder's likelihood is a normalised distribution over patches; sampling is seeded."""

import itertools

import pytest
import torch

from tokun.core.errors import ConfigError, InputError
from tokun.lm.local import LocalConfig, LocalDecoder, draw

TINY = LocalConfig(units=4, unit_vocab=3, global_dim=8, dim=16, layers=2, heads=2)


def every_sequence(cfg: LocalConfig) -> torch.Tensor:
    """``(vocab ** units, units)``: every unit sequence of one patch."""
    return torch.tensor(list(itertools.product(range(cfg.unit_vocab), repeat=cfg.units)))


def patch_of(sequence: list[int], cfg: LocalConfig) -> tuple[int, ...]:
    """The patch a unit sequence stands for: up to and including its first end character, or all of it."""
    for start in range(0, cfg.units, cfg.char_units):
        if cfg.end_unit is not None and all(x == cfg.end_unit for x in sequence[start : start + cfg.char_units]):
            return tuple(sequence[: start + cfg.char_units])
    return tuple(sequence)


def total_probability(decoder: LocalDecoder, state: torch.Tensor) -> float:
    """Sum of the probabilities of every distinct patch (sequences equal up to their end character count once)."""
    sequences = every_sequence(decoder.cfg)  # (S, U)
    logp = decoder.log_prob(state.expand(1, len(sequences), -1), sequences[None]).double()[0]  # (S,)
    patches = {patch_of(seq, decoder.cfg): lp for seq, lp in zip(sequences.tolist(), logp.tolist())}
    assert len(patches) < len(sequences) or decoder.cfg.end_unit is None
    return float(torch.tensor(list(patches.values()), dtype=torch.float64).exp().sum())


@pytest.mark.parametrize(
    "cfg",
    [
        TINY,  # fixed length: all 3**4 sequences
        LocalConfig(units=4, unit_vocab=3, global_dim=8, dim=16, layers=2, heads=2, end_unit=0),
        LocalConfig(units=4, unit_vocab=3, global_dim=8, dim=16, layers=2, heads=2, end_unit=2, char_units=2),
        LocalConfig(units=6, unit_vocab=2, global_dim=8, dim=16, layers=1, heads=2, end_unit=0, char_units=3),
    ],
    ids=["fixed", "end-unit", "end-char-of-2-units", "end-char-of-3-units"],
)
def test_probabilities_of_every_patch_sum_to_one(cfg: LocalConfig) -> None:
    torch.manual_seed(1)
    decoder = LocalDecoder(cfg).eval()
    for p in decoder.parameters():  # random weights at a scale that makes the distribution far from uniform
        torch.nn.init.normal_(p, std=0.5)
    for _ in range(3):
        state = torch.randn(1, 1, cfg.global_dim)
        assert abs(total_probability(decoder, state) - 1.0) < 1e-5


def test_the_end_character_closes_a_patch() -> None:
    cfg = LocalConfig(units=8, unit_vocab=5, global_dim=4, dim=8, heads=2, end_unit=0, char_units=2)
    decoder = LocalDecoder(cfg)
    units = torch.tensor([[[1, 0, 0, 0, 3, 3, 0, 0], [0, 0, 4, 4, 0, 0, 0, 0], [1, 2, 3, 4, 1, 2, 3, 0]]])
    assert decoder.scored(units).sum(-1).tolist() == [[4, 2, 8]]
    # units after the end character are neither scored nor seen by the scored ones
    changed = units.clone()
    changed[0, 0, 4:] = 2
    changed[0, 1, 2:] = 1
    state = torch.randn(1, 3, 4)
    assert torch.allclose(decoder.log_prob(state, units), decoder.log_prob(state, changed), atol=1e-6)
    assert torch.allclose(decoder.log_prob(state, units), decoder.log_prob(state, units, trim=False), atol=1e-6)


def test_log_prob_is_the_sum_of_per_unit_log_softmax() -> None:
    cfg = LocalConfig(units=8, unit_vocab=256, global_dim=12, dim=16, heads=4, layers=2)
    decoder = LocalDecoder(cfg)
    state, units = torch.randn(2, 3, 12), torch.randint(0, 256, (2, 3, 8), dtype=torch.uint8)
    logits = decoder(state, units)  # (B, P, U, V)
    expected = logits.log_softmax(-1).gather(-1, units.long()[..., None]).squeeze(-1).sum(-1)
    assert torch.allclose(decoder.log_prob(state, units), expected, atol=1e-5)


def test_unit_u_sees_only_the_units_before_it() -> None:
    decoder = LocalDecoder(TINY).eval()
    state, units = torch.randn(1, 2, 8), torch.randint(0, 3, (1, 2, 4))
    changed = units.clone()
    changed[..., 2] = (units[..., 2] + 1) % 3
    a, b = decoder(state, units), decoder(state, changed)
    assert torch.allclose(a[..., :3, :], b[..., :3, :], atol=1e-6)
    assert not torch.allclose(a[..., 3, :], b[..., 3, :])


def test_gradients_reach_the_global_state() -> None:
    decoder = LocalDecoder(LocalConfig(units=8, unit_vocab=256, global_dim=12, dim=16, end_unit=0, char_units=4))
    state = torch.randn(2, 3, 12, requires_grad=True)
    units = torch.randint(0, 256, (2, 3, 8))
    decoder.log_prob(state, units).sum().backward()
    assert state.grad is not None and state.grad.abs().sum() > 0
    assert all(p.grad is not None for p in decoder.parameters())


@pytest.mark.parametrize("top_p", [1.0, 0.8])
def test_sampling_is_reproducible_with_a_seeded_generator(top_p: float) -> None:
    cfg = LocalConfig(units=12, unit_vocab=256, global_dim=12, dim=16, end_unit=0, char_units=4)
    decoder = LocalDecoder(cfg).eval()
    state = torch.randn(2, 5, 12)
    first = decoder.sample(state, temperature=1.0, top_p=top_p, generator=torch.Generator().manual_seed(7))
    again = decoder.sample(state, temperature=1.0, top_p=top_p, generator=torch.Generator().manual_seed(7))
    other = decoder.sample(state, temperature=1.0, top_p=top_p, generator=torch.Generator().manual_seed(8))
    assert first.shape == (2, 5, 12) and first.dtype == torch.long
    assert torch.equal(first, again) and not torch.equal(first, other)
    # after its end character a sampled patch is padding, so log_prob scores exactly what was drawn
    assert torch.equal(first.masked_fill(~decoder.scored(first), 0), first)


@pytest.mark.parametrize(("end_unit", "char_units"), [(None, 1), (0, 1), (0, 2), (0, 4)])
def test_cached_sampling_draws_from_the_teacher_forced_logits(end_unit: int | None, char_units: int) -> None:
    """Each unit the cached sampler draws at temperature 0 is the argmax of :meth:`forward` over the units drawn
    before it; sampled, the same seed draws what the uncached prefix-by-prefix reference draws."""
    cfg = LocalConfig(
        units=12, unit_vocab=7, global_dim=12, dim=16, layers=2, heads=2, end_unit=end_unit, char_units=char_units
    )
    decoder = LocalDecoder(cfg).eval()
    torch.nn.init.normal_(decoder.embed.weight, std=1.0)  # units that matter: the cache must carry them
    state = torch.randn(2, 3, 12)
    with torch.no_grad():
        greedy = decoder.sample(state, temperature=0)  # (2, 3, 12)
        logits = decoder(state, greedy)  # (2, 3, 12, 7): teacher-forced on what was drawn
        scored = decoder.scored(greedy)
        assert torch.equal(logits.argmax(-1)[scored], greedy[scored])
        assert scored.sum() > 6 and len(set(greedy[scored].tolist())) > 2  # not one unit repeated
        drawn = decoder.sample(state, temperature=1.0, top_p=0.9, generator=torch.Generator().manual_seed(3))
        gen, units = torch.Generator().manual_seed(3), torch.zeros(2, 3, 12, dtype=torch.long)
        for u in range(12):  # the uncached reference: the whole prefix through forward at every unit
            units[..., u] = draw(decoder(state, units[..., : u + 1])[..., u, :], top_p=0.9, generator=gen)
            if end_unit is not None and decoder.end_chars(units[..., : u + 1]).any(-1).all():
                break
        scored = decoder.scored(drawn)
        assert torch.equal(drawn[scored], units[scored]) and torch.equal(scored, decoder.scored(units))
        forced = torch.randint(0, 7, (2, 3, 12))  # forced units come back, up to each patch's end character
        again = decoder.sample(state, generator=torch.Generator().manual_seed(3), forced=forced)
        assert torch.equal(again[decoder.scored(forced)], forced[decoder.scored(forced)])
        with pytest.raises(InputError, match="forced units"):
            decoder.sample(state, forced=forced[:, :2])


def test_sampling_stops_at_the_end_character() -> None:
    cfg = LocalConfig(units=8, unit_vocab=4, global_dim=4, dim=8, heads=2, end_unit=3, char_units=2)
    decoder = LocalDecoder(cfg).eval()
    bias = torch.tensor([0.0, 0.0, 0.0, 50.0])  # the end unit is (almost) certain
    decoder.head.register_forward_hook(lambda _module, _input, out: out * 0 + bias)
    units = decoder.sample(torch.randn(1, 2, 4), generator=torch.Generator().manual_seed(0))
    assert units.tolist() == [[[3] * 8, [3] * 8]]
    assert decoder.scored(units).sum(-1).tolist() == [[2, 2]]


def test_greedy_and_nucleus_draws() -> None:
    logits = torch.tensor([[0.0, 3.0, 1.0], [5.0, 0.0, 4.9]])
    assert draw(logits, temperature=0).tolist() == [1, 0]
    gen = torch.Generator().manual_seed(0)
    # probabilities: row 0 (0.04, 0.84, 0.11), row 1 (0.52, 0.004, 0.47)
    picks = torch.stack([draw(logits, top_p=0.5, generator=gen) for _ in range(50)])
    assert (picks == torch.tensor([1, 0])).all()  # the top unit alone reaches half the mass
    picks = torch.stack([draw(logits, top_p=0.9, generator=gen) for _ in range(100)])
    assert set(picks[:, 0].tolist()) == {1, 2} and set(picks[:, 1].tolist()) == {0, 2}


def test_bad_configs_and_shapes_are_refused() -> None:
    with pytest.raises(ConfigError):
        LocalConfig(units=6, char_units=4)
    with pytest.raises(ConfigError):
        LocalConfig(units=4, dim=10, heads=4)
    with pytest.raises(ConfigError):
        LocalConfig(units=4, unit_vocab=3, end_unit=3)
    with pytest.raises(InputError):
        LocalDecoder(TINY).log_prob(torch.zeros(1, 1, 8), torch.zeros(1, 1, 5, dtype=torch.long))


def test_flop_parts_count_every_matrix_once() -> None:
    cfg = LocalConfig(units=8, unit_vocab=256, global_dim=12, dim=16, layers=2, heads=2)
    decoder = LocalDecoder(cfg)
    slots, blocks = decoder.flop_parts(patches=10)
    matrices = sum(p.numel() for name, p in decoder.named_parameters() if name.endswith("weight") and p.dim() == 2)
    # the slots' projection is counted per unit position run (one U-th of it), every other matrix once per unit
    assert slots.parameters * cfg.units + blocks.parameters == matrices - decoder.embed.weight.numel()
    assert (slots.tokens, blocks.tokens, blocks.context, blocks.layers) == (80, 80, 8, 2)
    slots, short, full = decoder.flop_parts(patches=10, runs=[(4, 7), (8, 3)])
    assert (slots.tokens, short.tokens, short.context, full.tokens, full.context) == (52, 28, 4, 24, 8)


def test_patches_run_by_length_buckets_score_as_one_padded_run() -> None:
    """Bucketing patches by length (a batch of short words does not run to its longest patch) changes nothing but the
    work: the log-probabilities equal those of every patch run at all U units, and the gradients too."""
    cfg = LocalConfig(units=68, unit_vocab=256, global_dim=12, dim=16, layers=1, heads=2, end_unit=0)
    decoder = LocalDecoder(cfg)
    units = torch.randint(1, 256, (3, 5, 68))
    for i, length in enumerate([1, 3, 4, 5, 7, 9, 12, 15, 20, 30, 40, 50, 60, 67, 0]):
        units.view(15, 68)[i, length:] = 0  # patch i: `length` bytes, then its closing 0 (67 bytes + 0: all 68)
    state = torch.randn(3, 5, 12, requires_grad=True)
    fast = decoder.log_prob(state, units)
    (grad_fast,) = torch.autograd.grad(fast.sum(), state)
    slow = decoder.log_prob(state, units, trim=False)
    (grad_slow,) = torch.autograd.grad(slow.sum(), state)
    assert torch.allclose(fast, slow, atol=1e-4) and torch.allclose(grad_fast, grad_slow, atol=1e-5)
    runs = decoder.runs(units)
    assert sum(k for _, k in runs) == 15 and sum(n * k for n, k in runs) < 15 * 68 // 2
    assert runs[0] == (4, 3) and runs[-1] == (68, 3)  # scored 2, 4 and 1 units fit 4; 51, 61, 68 need all U
