"""The one FLOP counter of the comparison: 6N / 4N / 2N per token and Kaplan's attention term."""

import pytest

from tokun.lm.flops import Mode, Part, attention_flops, dense_flops, flops_by_part, model_train_flops, part_flops


def test_dense_flops_by_mode() -> None:
    assert dense_flops(1_000, 7) == 42_000
    assert dense_flops(1_000, 7, Mode.FROZEN_BACKWARD) == 28_000
    assert dense_flops(1_000, 7, Mode.FROZEN) == 14_000


def test_attention_flops() -> None:
    # 2 layers x context 4 x width 8 x 2 = 128 forward FLOPs per token; 5 tokens; x3 with a backward pass
    assert attention_flops(layers=2, context=4, dim=8, tokens=5, mode=Mode.FROZEN) == 640
    assert attention_flops(layers=2, context=4, dim=8, tokens=5) == 1920
    assert attention_flops(layers=2, context=4, dim=8, tokens=5, mode=Mode.FROZEN_BACKWARD) == 1920
    assert attention_flops(layers=0, context=4, dim=8, tokens=5) == 0


def test_a_tiny_patch_model_by_hand() -> None:
    """4 patches of 16 characters: frozen encoder, trained projection + 1-layer body, local decoder over 64 bytes."""
    parts = [
        Part("encoder", parameters=300, tokens=4, mode=Mode.FROZEN),  # 2 * 300 * 4 = 2_400
        Part("projection", parameters=20, tokens=4),  # 6 * 20 * 4 = 480
        Part("body", parameters=100, tokens=4, layers=1, context=4, attention_dim=10),  # 2_400 + 2*1*4*10*4*3 = 3_360
        Part("local", parameters=10, tokens=4 * 64, layers=1, context=64, attention_dim=2),  # 15_360 + 196_608
    ]
    assert [part_flops(p) for p in parts] == [2_400, 480, 3_360, 211_968]
    assert model_train_flops(parts) == 2_400 + 480 + 3_360 + 211_968
    assert flops_by_part(parts + [Part("body", 1, 1)])["body"] == 3_360 + 6


@pytest.mark.parametrize("attention", [(0, 0, 0), (2, 16, 64)])
def test_a_frozen_encoder_with_backward_costs_two_thirds_of_it_trained(attention: tuple[int, int, int]) -> None:
    layers, context, dim = attention
    trained = Part("encoder", 1_000_000, 512, Mode.TRAINED, layers, context, dim)
    frozen = Part("encoder", 1_000_000, 512, Mode.FROZEN_BACKWARD, layers, context, dim)
    forward_only = Part("encoder", 1_000_000, 512, Mode.FROZEN)
    if not layers:
        assert part_flops(frozen) * 3 == part_flops(trained) * 2
        assert part_flops(forward_only) * 3 == part_flops(trained)
    else:  # the attention term has no weights: its backward is the same whether the weights train or not
        dense = dense_flops(1_000_000, 512)
        assert part_flops(frozen) - dense * 2 // 3 == part_flops(trained) - dense
    assert model_train_flops([]) == 0
