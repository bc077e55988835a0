import pytest
import torch

from tokun.core.config import ModelConfig
from tokun.core.folded import FoldedEncoder
from tokun.core.model import AutoEncoder


@pytest.mark.parametrize("token_dim", [(4, 16), (4, 4, 4), (16, 4), (4,)])
@pytest.mark.parametrize("layer_norm, center", [(True, False), (False, False), (True, True)])
def test_folded_encoder_matches(token_dim, layer_norm, center) -> None:
    cfg = ModelConfig(
        token_dim=token_dim, embed_dim=32, hidden_dim=48, latent_dim=64, layer_norm=layer_norm, center_latent=center
    )
    model = AutoEncoder(cfg).eval()
    for p in model.parameters():  # non-trivial positions and biases
        torch.nn.init.normal_(p, std=0.2)
    x = torch.randint(0, 256, (3, 5, cfg.block_bytes), dtype=torch.uint8)
    with torch.no_grad():
        assert torch.allclose(FoldedEncoder(model.encoder)(x), model.encoder(x), rtol=1e-4, atol=1e-5)


def test_attention_cannot_fold() -> None:
    with pytest.raises(ValueError, match="attention"):
        FoldedEncoder(
            AutoEncoder(ModelConfig(token_dim=(4, 4), embed_dim=8, latent_dim=16, attention=True, heads=2)).encoder
        )
