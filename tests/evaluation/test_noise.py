import numpy as np
import pytest
import torch

from tokun.core import codec
from tokun.core.model import latent_sigma
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation import noise

from ..conftest import FIXTURE


def test_int8_roundtrip_is_close() -> None:
    z = torch.randn(100, 8) * torch.arange(1, 9)
    q = noise.int8_roundtrip(z)
    step = z.abs().amax(0) / 127
    assert ((q - z).abs() <= step / 2 + 1e-6).all()


def test_isotropic_noise_has_the_spread_it_is_asked_for() -> None:
    z = torch.randn(4000, 32) * torch.linspace(0.5, 2.0, 32) + 3.0  # (N, L): uneven dimensions, off centre
    sigma = float(latent_sigma(z))
    noisy = noise.isotropic_noise(z, 0.5, generator=torch.Generator().manual_seed(1))
    d = noisy - z
    assert abs(float(d.mean())) < 0.01 and abs(float(d.std()) / (0.5 * sigma) - 1) < 0.01  # N(0, (k sigma)^2)
    assert abs(float(d.std(0).std()) / float(d.std())) < 0.05  # the same on every dimension
    # sigma defaults to the latents' own; a seed gives the same draw; k = 0 leaves the latents as they are
    again = noise.isotropic_noise(z, 0.5, sigma, generator=torch.Generator().manual_seed(1))
    assert torch.equal(again, noisy)
    assert not torch.equal(noise.isotropic_noise(z, 0.5, generator=torch.Generator().manual_seed(2)), noisy)
    assert torch.equal(noise.isotropic_noise(z, 0.0, generator=torch.Generator().manual_seed(1)), z)
    twice = noise.isotropic_noise(z, 0.5, 2 * sigma, generator=torch.Generator().manual_seed(1))
    torch.testing.assert_close(twice - z, 2 * d)


def test_participation_ratio_counts_the_directions_in_use() -> None:
    torch.manual_seed(0)
    even = torch.randn(20000, 6)
    assert abs(noise.participation_ratio(even) - 6) < 0.1
    assert abs(noise.participation_ratio(even * torch.tensor([1.0, 1, 1, 0, 0, 0])) - 3) < 0.05
    # one direction with 3x the spread of the five others: (9 + 5)^2 / (81 + 5) = 2.28
    assert abs(noise.participation_ratio(even * torch.tensor([3.0, 1, 1, 1, 1, 1])) - 196 / 86) < 0.05


def test_spearman() -> None:
    x = np.arange(50, dtype=float)
    assert abs(noise._spearman(x, x**3) - 1.0) < 1e-12
    assert abs(noise._spearman(x, -x) + 1.0) < 1e-12


@pytest.mark.slow
def test_sweep_on_the_shipped_model() -> None:
    tok = Tokenizer.load()
    cps = noise.corpus_blocks(tok, [str(FIXTURE)], max_blocks=64)
    latents = tok.encode_bytes(codec.codepoints_to_bytes(cps))
    result = noise.sweep(tok, latents, cps, ks=(0.0, 5.0), draws=1)
    iso = dict(map(tuple, result["isotropic"]["curve"]))
    assert iso[0.0] > 0.99 and iso[5.0] < iso[0.0]  # k=0 is the clean accuracy; heavy noise hurts
    assert result["sigma"] > 0
    near = noise.neighbours(latents, cps, 0, count=3)
    assert len(near) == 3 and near[0]["distance"] <= near[-1]["distance"]


@pytest.mark.slow
def test_measure_is_what_tokun_noise_prints() -> None:
    """One measurement, shared by `tokun noise` and scripts/noise_study.py; structured noise of the
    centred default is mostly a shift common to all dimensions, which it ignores."""
    tok = Tokenizer.load()
    result = noise.measure(tok, [str(FIXTURE)], max_blocks=64, draws=1)
    assert result["blocks"] == 64 and result["model"] == "4x16"
    assert 0 < result["sigma_d_spread"] < 1
    assert 1 <= result["participation_ratio"] <= tok.latent_dim
    structured = dict(map(tuple, result["structured"]["curve"]))
    isotropic = dict(map(tuple, result["isotropic"]["curve"]))
    assert structured[1.0] > isotropic[1.0]
    assert -1 <= result["distance"]["spearman_l2_vs_edit"] <= 1
