import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import tokun
from tokun import Tokenizer
from tokun.core import codec
from tokun.core.checkpoint import save_model
from tokun.core.errors import InputError
from tokun.core.model import AutoEncoder

from ..conftest import FIXTURE


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer.load()


def test_default_is_the_shipped_4x16(tok: Tokenizer) -> None:
    assert tok.name == "4x16"
    assert (tok.block_chars, tok.latent_dim) == (16, 256)
    assert "4x16" in tokun.shipped_models()


def test_fixture_roundtrips_exactly(tok: Tokenizer) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    latents = tok.encode(text)
    assert latents.shape == (-(-len(text) // 16), 256)
    assert latents.dtype == torch.float32
    assert tok.decode(latents, length=len(text)) == text


@settings(max_examples=40, deadline=None)
@given(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FFF, exclude_categories=["Cs"]), max_size=80)
)
def test_bmp_text_roundtrips(tok: Tokenizer, text: str) -> None:
    assert tok.decode(tok.encode(text), length=len(text)) == text


def test_batch_matches_single(tok: Tokenizer) -> None:
    texts = ["", "a", "héllo wörld", "日本語のテキスト" * 5, "\x00end\x00"]
    batch = tok.encode_batch(texts)
    for text, z in zip(texts, batch):
        assert torch.allclose(z, tok.encode(text), rtol=1e-5, atol=1e-5)  # float rounding of other batch sizes only
        assert (tok.decode_bytes(z) == tok.decode_bytes(tok.encode(text))).all()
    assert tok.decode_batch(batch, lengths=[len(t) for t in texts]) == texts


def test_trailing_nul_needs_length(tok: Tokenizer) -> None:
    z = tok.encode("abc\x00")
    assert tok.decode(z, length=4) == "abc\x00"
    assert tok.decode(z) == "abc"


def test_latents_from_elsewhere_are_checked(tok: Tokenizer) -> None:
    with pytest.raises(InputError, match=r"shape \(N, 256\)"):
        tok.decode(torch.zeros(3, 128))
    with pytest.raises(InputError, match=r"shape \(N, 256\)"):
        tok.decode(torch.zeros(2, 3, 256))
    bad = torch.zeros(3, 256)
    bad[1, 7] = float("nan")
    with pytest.raises(InputError, match="NaN or infinite values \\(first in row 1\\)"):
        tok.decode(bad)
    zeros = np.zeros((2, 256), dtype=np.float32)  # latents of no text: read all the same, one block as another
    assert tok.decode(zeros, length=32) == tok.decode(zeros[:1], length=16) * 2


def test_lone_surrogate(tok: Tokenizer) -> None:
    with pytest.raises(InputError, match="character 2"):
        tok.encode("ok\udc00")


def test_custom_model_directory(tmp_path, tiny_cfg) -> None:
    model = AutoEncoder(tiny_cfg).eval()
    save_model(model, tmp_path / "mine")
    custom = Tokenizer.load(tmp_path / "mine")
    assert custom.block_chars == 4 and custom.name == str(tmp_path / "mine")
    z = custom.encode("abcdefghi")
    assert z.shape == (3, tiny_cfg.latent_dim)
    with torch.no_grad():  # the saved weights, not fresh ones: the same latents as the model that was saved
        want = model.encoder(torch.from_numpy(codec.encode("abcdefghi", block_chars=4)))
    torch.testing.assert_close(z, want, rtol=1e-5, atol=1e-5)


def test_import_does_not_pull_optional_libraries() -> None:
    import subprocess
    import sys

    code = "import sys, tokun; print(any(m.split('.')[0] in {'transformers', 'matplotlib', 'tiktoken'} for m in sys.modules))"
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
        == "False"
    )


def test_shipped_weights_stay_small_and_load() -> None:
    from tokun.core.checkpoint import weights_root

    sizes = [p.stat().st_size for p in weights_root().glob("*/*")]
    assert 0 < sum(sizes) < 32 * 2**20
    assert {"4x16", "4x16-exact", "4x4x8"} <= set(tokun.shipped_models())


def test_old_name_of_the_default_still_loads() -> None:
    """``4x16-robust`` became the default ``4x16``: the old name loads the same weights."""
    assert Tokenizer.load("4x16-robust").fingerprint == Tokenizer.load().fingerprint


def test_4x4x8_puts_32_characters_in_each_vector() -> None:
    tok = Tokenizer.load("4x4x8")
    text = FIXTURE.read_text(encoding="utf-8")
    latents = tok.encode(text)
    assert (tok.block_chars, tok.latent_dim) == (32, 256)
    assert latents.shape == (-(-len(text) // 32), 256)
    assert tok.decode(latents, length=len(text)) == text


def test_default_is_exact_and_far_more_noise_tolerant_than_the_exact_model() -> None:
    """The default reads the fixture exactly (verified decoding) and keeps far more of it under isotropic noise
    of 0.5 sigma than ``4x16-exact``, whose decoder alone is exact (docs/RESULTS.md has the figures); without the
    character prior, which lifts both under noise (tests/test_repair.py)."""
    from tokun.core.model import add_noise

    text = FIXTURE.read_text(encoding="utf-8")

    def right(name: str, k: float) -> float:
        tok = Tokenizer.load(name, prior=False)
        torch.manual_seed(0)
        got = tok.decode(add_noise(tok.encode(text), k), length=len(text))
        return sum(a == b for a, b in zip(got, text)) / len(text)

    assert right("4x16", 0.0) == 1.0 and right("4x16-exact", 0.0) == 1.0
    assert right("4x16", 0.5) > right("4x16-exact", 0.5) + 0.05


def test_float16_keeps_first_detokenize_weights_beyond_its_range(tmp_path) -> None:
    """A model whose latents were rescaled down carries first detokenize weights past float16's 65,504: loaded
    in float16, or decoding in float16, it keeps that block in float32 and reads what float32 reads."""
    torch.manual_seed(0)
    net = AutoEncoder(tokun.ModelConfig(token_dim=(4, 4), embed_dim=16, hidden_dim=32, latent_dim=64))
    with torch.no_grad():  # as after rescale_latents(1e-6), without latents too small for float16 to carry
        net.decoder.blocks[0].proj.weight.mul_(1e6)
    assert net.decoder.blocks[0].proj.weight.abs().max().item() > 65504
    save_model(net, tmp_path / "m")
    data = np.frombuffer("tokun in float16".encode("utf-32-be"), dtype=np.uint8).reshape(-1, 16)  # (4, 16)
    ref = Tokenizer.load(tmp_path / "m", verify=False)
    z = ref.encode_bytes(data)
    want = ref.decode_bytes(z)
    assert (Tokenizer(net, decode_dtype=torch.float16, verify=False).decode_bytes(z) == want).all()
    half = Tokenizer.load(tmp_path / "m", dtype=torch.float16, verify=False)
    assert (half.decode_bytes(z) == want).all()


def test_default_is_exact_in_float16_and_bfloat16() -> None:
    """The whole model in float16 (its first detokenize block kept in float32) or bfloat16 reads the fixture
    exactly, verified as in float32."""
    text = FIXTURE.read_text(encoding="utf-8")
    for dtype in (torch.float16, torch.bfloat16):
        tok = Tokenizer.load(dtype=dtype)
        assert tok.decode(tok.encode(text), length=len(text)) == text
