import numpy as np
import torch

from tokun.core.checkpoint import load_model
from tokun.core.config import ModelConfig
from tokun.core.model import AutoEncoder
from tokun.decoding.inference import Inference
from tokun.decoding.slots import read_scalar_values


def test_read_is_the_likeliest_scalar_value_bytes_and_the_argmax_wherever_that_reads_one() -> None:
    """`Inference.read` scores only the values a scalar value can hold: on an untrained model (whose argmax reads
    byte 0 and byte 1 out of range) it is `read_scalar_values` of the full logits, and the plain argmax at every
    character where that argmax is a scalar value's bytes."""
    torch.manual_seed(0)
    for model in (AutoEncoder(ModelConfig(token_dim=(4, 4), embed_dim=8, latent_dim=16)), load_model("4x16")):
        inf = Inference(model, batch_size=7)  # several chunks
        z = 3 * torch.randn(20, model.cfg.latent_dim)
        got = inf.read(z)  # (N, T)
        with torch.inference_mode():
            logits = model.decoder(z)  # (N, T, 256)
        assert got.shape == (20, model.cfg.block_bytes) and got.dtype == np.uint8
        assert np.array_equal(got, read_scalar_values(logits).numpy())
        chars = torch.from_numpy(got.astype(np.int64)).view(20, -1, 4)
        assert (chars[..., 0] == 0).all() and (chars[..., 1] <= 0x10).all()
        plain = logits.argmax(-1).view(20, -1, 4)  # (N, C, 4)
        ok = (plain[..., 0] == 0) & (plain[..., 1] <= 0x10)
        assert torch.equal(chars[ok], plain[ok])
        if model.cfg.embed_dim == 8:  # untrained: the restriction is what made these characters' bytes
            assert (~ok).sum() > 40  # of 80 characters
    assert inf.read(torch.zeros(0, 256)).shape == (0, 64)
