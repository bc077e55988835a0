"""The shared schedule and optimiser (core.optim): training's lr_at and the language models' shares use them."""

import pytest
import torch

from tokun.core.optim import adamw, lr_scale


def test_lr_scale_warms_up_holds_then_decays_to_the_floor() -> None:
    scales = [lr_scale(s, 100, warmup=10, decay=50, min_ratio=0.1) for s in range(100)]
    assert scales[0] == pytest.approx(0.1) and scales[9] == 1.0  # linear warm-up over 10 steps
    assert all(s == 1.0 for s in scales[10:50])  # constant until the last 50
    assert all(a >= b for a, b in zip(scales[50:], scales[51:]))
    assert scales[99] == pytest.approx(0.1, abs=1e-3)


def test_adamw_decays_matrices_only() -> None:
    net = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.LayerNorm(4))
    decayed, kept = adamw(net.named_parameters(), lr=1e-3, weight_decay=0.1).param_groups
    assert [p.shape for p in decayed["params"]] == [(4, 3)] and decayed["weight_decay"] == 0.1
    assert len(kept["params"]) == 3 and kept["weight_decay"] == 0.0
