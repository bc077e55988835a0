import dataclasses

import pytest
import torch
from torch import nn

from tokun.core.config import PRESETS, ModelConfig
from tokun.core.model import ACTIVATIONS, AutoEncoder, Decoder, Encoder, byte_metrics, count_parameters, drop_dimensions


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_preset_shapes(name: str) -> None:
    cfg = PRESETS[name]
    model = AutoEncoder(cfg)
    data = torch.randint(0, 256, (2, 3, cfg.block_bytes), dtype=torch.uint8)
    latents = model.encode(data)
    assert latents.shape == (2, 3, cfg.latent_dim)
    assert model.decode(latents).shape == (2, 3, cfg.block_bytes, 256)


@pytest.mark.parametrize("token_dim", [(4,), (4, 4), (16, 4), (4, 4, 4), (4, 2, 2, 2)])
@pytest.mark.parametrize("attention", [False, True])
@pytest.mark.parametrize("layer_norm", [False, True])
def test_any_hierarchy(token_dim: tuple[int, ...], attention: bool, layer_norm: bool) -> None:
    cfg = ModelConfig(
        token_dim=token_dim,
        embed_dim=8,
        hidden_dim=12,
        latent_dim=20,
        attention=attention,
        heads=2,
        layer_norm=layer_norm,
    )
    model = AutoEncoder(cfg)
    x = torch.randint(0, 256, (5, cfg.block_bytes))
    assert model.encode(x).shape == (5, 20)
    assert model(x).shape == (5, cfg.block_bytes, 256)


def test_encoder_and_decoder_stand_alone(tiny_cfg: ModelConfig) -> None:
    enc, dec = Encoder(tiny_cfg), Decoder(tiny_cfg)
    z = enc(torch.randint(0, 256, (7, tiny_cfg.block_bytes)))
    assert z.shape == (7, tiny_cfg.latent_dim)
    # latents from anywhere, e.g. a language model's output with (batch, positions, L)
    assert dec(torch.randn(2, 9, tiny_cfg.latent_dim)).shape == (2, 9, tiny_cfg.block_bytes, 256)


def test_blocks_are_independent(tiny_cfg: ModelConfig) -> None:
    """Each latent depends only on its own block of bytes (no leak across blocks)."""
    model = AutoEncoder(tiny_cfg).eval()
    x = torch.randint(0, 256, (4, tiny_cfg.block_bytes))
    y = x.clone()
    y[2] = torch.randint(0, 256, (tiny_cfg.block_bytes,))
    zx, zy = model.encode(x), model.encode(y)
    assert torch.equal(zx[[0, 1, 3]], zy[[0, 1, 3]])
    assert not torch.equal(zx[2], zy[2])


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_activation_is_the_one_configured(activation: str) -> None:
    """Every block applies the configured activation (the latent only with ``latent_activation``), and the same
    weights under another activation give other latents and logits."""
    kind = ACTIVATIONS[activation]
    cfg = ModelConfig(token_dim=(4, 4), embed_dim=8, hidden_dim=12, latent_dim=16, activation=activation)
    model = AutoEncoder(cfg).eval()
    assert [type(b.act) for b in model.encoder.blocks] == [kind, nn.Identity]  # the default latent is linear
    assert [type(b.act) for b in model.decoder.blocks] == [kind, kind]
    x = torch.randint(0, 256, (32, cfg.block_bytes))
    z, logits = model.encode(x), model(x)
    for other in sorted(ACTIVATIONS.keys() - {activation}):
        twin = AutoEncoder(dataclasses.replace(cfg, activation=other)).eval()
        twin.load_state_dict(model.state_dict())  # activations hold no weights: the same model but for them
        assert not torch.allclose(twin.encode(x), z, atol=1e-4)
        assert not torch.allclose(twin(x), logits, atol=1e-4)


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_latent_activation_applies_the_activation_to_the_latent(activation: str) -> None:
    cfg = ModelConfig(
        token_dim=(4,), embed_dim=4, latent_dim=8, activation=activation, latent_activation=True, center_latent=False
    )
    model = AutoEncoder(cfg).eval()
    x = torch.randint(0, 256, (64, 4))
    z = model.encode(x)
    model.encoder.blocks[-1].act = nn.Identity()
    pre = model.encode(x)  # the same latents before the activation
    torch.testing.assert_close(z, ACTIVATIONS[activation]()(pre))
    assert not torch.allclose(z, pre)
    if activation == "relu":
        assert (z >= 0).all() and (pre < 0).any()
    if activation == "tanh":
        assert (z.abs() < 1).all()


def test_parameter_count_of_4x16() -> None:
    cfg = PRESETS["4x16"]
    e, h, lat = cfg.block_widths()  # embedding E, character vectors H, latent L
    model = AutoEncoder(cfg)
    # embedding 256*E; block 1: LN 2E, positions 4E, Linear 4E*H + H; block 2: LN 2H, positions 16H, Linear 16H*L + L
    encoder = 256 * e + 2 * e + 4 * e + 4 * e * h + h + 2 * h + 16 * h + 16 * h * lat + lat
    # the mirror (Linear L*16H + 16H, positions 16H, LN 2H; Linear H*4E + 4E, positions 4E, LN 2E), then the head
    decoder = lat * 16 * h + 16 * h + 16 * h + 2 * h + h * 4 * e + 4 * e + 4 * e + 2 * e + e * 256 + 256
    assert count_parameters(model.encoder) == encoder
    assert count_parameters(model.decoder) == decoder
    assert count_parameters(model) == encoder + decoder


def test_byte_metrics() -> None:
    target = torch.zeros(2, 8, dtype=torch.long)
    logits = torch.zeros(2, 8, 256)
    logits[..., 0] = 1.0
    logits[1, 7, 0], logits[1, 7, 5] = 0.0, 1.0  # one wrong byte in the second block
    m = byte_metrics(logits, target)
    assert m == {"byte_accuracy": 15 / 16, "char_accuracy": 3 / 4, "block_accuracy": 1 / 2}


def test_noise_only_on_the_chosen_rows(tiny_cfg: ModelConfig) -> None:
    model = AutoEncoder(tiny_cfg).eval()
    x = torch.randint(0, 256, (6, tiny_cfg.block_bytes))
    rows = torch.tensor([True, False, True, False, True, False])
    clean = model(x)
    noisy = model(x, noise=0.5, noise_rows=rows)
    assert torch.equal(noisy[~rows], clean[~rows])
    assert not torch.allclose(noisy[rows], clean[rows])
    assert not torch.allclose(model(x, noise=0.5)[~rows], clean[~rows])  # without rows: every row


def test_latent_dropout_zeroes_dimensions_of_the_chosen_rows() -> None:
    z = torch.randn(400, 64)
    rows = torch.arange(400) % 2 == 0
    dropped = drop_dimensions(z, 0.25, rows=rows)
    assert torch.equal(dropped[~rows], z[~rows])
    zeroed = dropped[rows] == 0
    assert 0.2 < zeroed.float().mean().item() < 0.3
    torch.testing.assert_close(dropped[rows][~zeroed], z[rows][~zeroed] / 0.75)


def test_centred_latents_ignore_a_common_shift() -> None:
    cfg = ModelConfig(token_dim=(4, 2), embed_dim=8, latent_dim=16, center_latent=True)
    model = AutoEncoder(cfg).eval()
    x = torch.randint(0, 256, (5, cfg.block_bytes))
    z = model.encode(x)
    assert torch.allclose(z.sum(-1), torch.zeros(5), atol=1e-5)
    shift = torch.randn(5, 1) * 10
    assert torch.allclose(model.decode(z + shift), model.decode(z), atol=1e-5)
    plain = AutoEncoder(ModelConfig(token_dim=(4, 2), embed_dim=8, latent_dim=16, center_latent=False)).eval()
    assert not torch.allclose(plain.decode(z + shift), plain.decode(z), atol=1e-3)


def test_shortcuts_decode_each_intermediate_level() -> None:
    cfg = ModelConfig(token_dim=(4, 4, 4), embed_dim=8, hidden_dim=12, latent_dim=20)
    model = AutoEncoder(cfg).eval()
    x = torch.randint(0, 256, (3, cfg.block_bytes))
    out = model(x, shortcuts=True, details=True)
    logits, below = out.logits, out.below
    assert torch.equal(logits, model(x))
    assert torch.equal(out.latents, model.encode(x))
    assert model(x, details=True).below == []
    assert [b.shape for b in below] == [(3, 64, 256), (3, 64, 256)]
    # level 2 (4-character vectors) enters the decoder's last two blocks, as the top tokenize block sees it
    mid = model.encoder.levels(x)[1]  # (3, 4, 12)
    assert mid.shape == (3, 4, 12)
    by_hand = model.decoder.head(model.decoder.blocks[2](model.decoder.blocks[1](model.encoder.blocks[2].norm(mid))))
    torch.testing.assert_close(below[1], by_hand)
    # the top level is the latent itself
    torch.testing.assert_close(model.decoder.from_level(model.encode(x).unsqueeze(1), 3), logits)


def test_decoder_mlp_starts_as_the_identity_and_sees_the_whole_block() -> None:
    plain_cfg = ModelConfig(token_dim=(4, 2), embed_dim=8, hidden_dim=6, latent_dim=16, center_latent=False)
    cfg = dataclasses.replace(plain_cfg, decoder_mlp=32)
    plain, with_mlp = Decoder(plain_cfg), Decoder(cfg)
    missing, unexpected = with_mlp.load_state_dict(plain.state_dict(), strict=False)
    assert not unexpected and all(k.startswith("mlp.") for k in missing) and missing
    z = torch.randn(6, 16)
    torch.testing.assert_close(with_mlp(z), plain(z))  # zero-initialised output layer
    torch.nn.init.normal_(with_mlp.mlp.down.weight)
    # once trained, the first character's logits depend on the latent's coordinates through the MLP:
    # a change the plain decoder's first projection cannot see still moves them
    w = with_mlp.blocks[0].proj.weight  # (G*D, L)
    blind = torch.linalg.svd(w[: w.shape[0] // 2]).Vh[-1]  # a latent direction slot 0 of the plain path ignores
    torch.testing.assert_close(plain(z + 3 * blind)[:, :4], plain(z)[:, :4])
    moved = with_mlp(z + 3 * blind)[:, :4] - with_mlp(z)[:, :4]
    assert moved.abs().max() > 1e-3


def test_decoder_mlp_is_validated() -> None:
    with pytest.raises(Exception, match="decoder_mlp"):
        ModelConfig(decoder_mlp=-1)


def test_rescaled_latents_decode_the_same() -> None:
    """Latents multiplied by a factor, and the decoder's first layer divided by it: same logits, scaled latents."""
    from tokun.core.checkpoint import load_model

    model = load_model("4x16")
    data = torch.randint(0, 256, (8, 64))
    data[:, 0::4] = 0  # valid UTF-32 first bytes, as text has
    z, logits = model.encode(data), model(data)
    model.rescale_latents(1e-3)
    assert torch.allclose(model.encode(data), 1e-3 * z, rtol=1e-4, atol=1e-6 * z.abs().max().item())
    assert torch.allclose(model(data), logits, rtol=1e-3, atol=1e-3)
    mlp = AutoEncoder(ModelConfig(token_dim=(4, 4), embed_dim=8, latent_dim=16, decoder_mlp=32))
    with pytest.raises(ValueError, match="linear path"):
        mlp.rescale_latents(2.0)
