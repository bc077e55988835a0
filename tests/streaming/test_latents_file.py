import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from tokun.core.checkpoint import save_model
from tokun.core.config import ModelConfig
from tokun.core.errors import InputError
from tokun.core.model import AutoEncoder
from tokun.decoding.tokenizer import Tokenizer
from tokun.streaming import latents_file as stream


@pytest.fixture
def tiny_tok(tmp_path_factory) -> Tokenizer:
    folder = tmp_path_factory.mktemp("model") / "tiny"
    save_model(AutoEncoder(ModelConfig(token_dim=(4, 4), embed_dim=8, latent_dim=16)), folder)
    return Tokenizer.load(folder, verify=False)  # untrained: its readings are no codewords to verify against


def test_chunks_cut_exactly_and_stream_matches_whole(tmp_path, tiny_tok: Tokenizer) -> None:
    text = ("a single long line ✓ 日本 🚀 " * 2000).strip()  # no newline anywhere
    src = tmp_path / "line.txt"
    src.write_text(text, encoding="utf-8")
    with stream.open_input(str(src)) as (fh, size):
        pieces = list(stream.chunks(fh, size, errors="strict", name="x", chunk_chars=1000, progress=False))
    assert all(len(p) == 1000 for p in pieces[:-1]) and "".join(pieces) == text
    monkey = stream.READ_BYTES
    try:
        stream.READ_BYTES = 777  # reads that cut multi-byte characters in the middle
        n, rows = stream.encode_file(tiny_tok, str(src), str(tmp_path / "z.safetensors"), chunk_chars=1000)
    finally:
        stream.READ_BYTES = monkey
    assert (n, rows) == (len(text), -(-len(text) // 4))
    streamed = load_file(str(tmp_path / "z.safetensors"))["latents"]
    assert torch.allclose(streamed, tiny_tok.encode(text), atol=1e-5)
    # decoding in slices gives what decoding at once gives
    stream.decode_file(tiny_tok, str(tmp_path / "z.safetensors"), str(tmp_path / "back.txt"), chunk_rows=37)
    assert (tmp_path / "back.txt").read_text(encoding="utf-8") == tiny_tok.decode(streamed, length=n)
    # a float16 tensor (written by another tool) goes through safetensors' slices instead of file reads
    half = streamed.half()
    save_file({"latents": half}, str(tmp_path / "h.safetensors"), metadata={"chars": str(n)})
    stream.decode_file(tiny_tok, str(tmp_path / "h.safetensors"), str(tmp_path / "h.txt"), chunk_rows=37)
    assert (tmp_path / "h.txt").read_text(encoding="utf-8") == tiny_tok.decode(half.float(), length=n)


def test_bad_utf8_offset_across_reads(tmp_path, tiny_tok: Tokenizer, monkeypatch) -> None:
    data = "é".encode() * 1000 + b"\xff" + b"tail"
    (tmp_path / "bad.txt").write_bytes(data)
    monkeypatch.setattr(stream, "READ_BYTES", 333)
    with pytest.raises(InputError, match="not valid UTF-8 at byte 2000"):
        stream.encode_file(tiny_tok, str(tmp_path / "bad.txt"), str(tmp_path / "z.safetensors"))
    assert not (tmp_path / "z.safetensors").exists()
    n, _ = stream.encode_file(tiny_tok, str(tmp_path / "bad.txt"), str(tmp_path / "z.safetensors"), errors="replace")
    assert n == 1000 + 1 + 4


def test_utf16_file_gets_a_hint(tmp_path, tiny_tok: Tokenizer) -> None:
    (tmp_path / "u16.txt").write_bytes("hello".encode("utf-16"))
    with pytest.raises(InputError, match="UTF-16 byte-order mark"):
        stream.encode_file(tiny_tok, str(tmp_path / "u16.txt"), str(tmp_path / "z.safetensors"))


def test_binary_garbage(tmp_path, tiny_tok: Tokenizer) -> None:
    (tmp_path / "bin").write_bytes(bytes(range(256)) * 4)
    with pytest.raises(InputError, match="not valid UTF-8 at byte 128"):
        stream.encode_file(tiny_tok, str(tmp_path / "bin"), str(tmp_path / "z.safetensors"))


def test_empty_file(tmp_path, tiny_tok: Tokenizer) -> None:
    (tmp_path / "empty.txt").write_bytes(b"")
    assert stream.encode_file(tiny_tok, str(tmp_path / "empty.txt"), str(tmp_path / "z.safetensors")) == (0, 0)
    assert load_file(str(tmp_path / "z.safetensors"))["latents"].shape == (0, 16)
    assert stream.decode_file(tiny_tok, str(tmp_path / "z.safetensors"), str(tmp_path / "out.txt")) == 0
    assert (tmp_path / "out.txt").read_bytes() == b""


def _latents_file(path, tensor, **meta) -> str:
    save_file({"latents": tensor}, str(path), metadata={k: str(v) for k, v in meta.items()})
    return str(path)


@pytest.mark.parametrize(
    "tensor, meta, message",
    [
        (torch.zeros(3, 17), {}, r"shape \(N, 16\)"),
        (torch.zeros(2, 3, 16), {}, r"shape \(N, 16\)"),
        (torch.full((3, 16), float("nan")), {}, "NaN or infinite values"),
        (torch.tensor([[float("inf")] * 16]), {}, "NaN or infinite values"),
        (torch.zeros(3, 16), {"chars": 40}, "metadata says 40 characters but the tensor holds 3 latents"),
        (torch.zeros(3, 16), {"chars": "many"}, "not an integer"),
        (
            torch.zeros(3, 16),
            {"model": "4x16", "model_sha256": "0123456789abcdef"},
            "encoded by model '4x16'.*--model 4x16",
        ),
        (torch.zeros(3, 16, dtype=torch.int32), {}, "floating point"),
    ],
)
def test_bad_latents(tmp_path, tiny_tok: Tokenizer, tensor, meta, message) -> None:
    src = _latents_file(tmp_path / "z.safetensors", tensor, **meta)
    (tmp_path / "out.txt").write_text("previous")
    with pytest.raises(InputError, match=message):
        stream.decode_file(tiny_tok, src, str(tmp_path / "out.txt"))
    assert (tmp_path / "out.txt").read_text() == "previous"  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt", "z.safetensors"]


def test_streamed_decoding_is_verified_like_whole_decoding(tmp_path) -> None:
    """Slices of a latents file decode as the whole tensor does, slips corrected alike (the default model)."""
    from ..conftest import FIXTURE

    tok = Tokenizer.load()
    text = FIXTURE.read_text(encoding="utf-8")
    n, _ = stream.encode_file(tok, str(FIXTURE), str(tmp_path / "z.safetensors"))
    stream.decode_file(tok, str(tmp_path / "z.safetensors"), str(tmp_path / "back.txt"), chunk_rows=7)
    assert (tmp_path / "back.txt").read_text(encoding="utf-8") == text == tok.decode(tok.encode(text), length=n)


def test_latents_of_renamed_weights_name_the_model_that_ships_them(tmp_path, tiny_tok: Tokenizer) -> None:
    """A file encoded with weights that now ship under another name says which name to decode it with."""
    from tokun.core.checkpoint import fingerprint, weights_root

    digest = fingerprint(weights_root() / "4x4x8")
    src = _latents_file(tmp_path / "z.safetensors", torch.zeros(3, 16), model="old-name", model_sha256=digest)
    with pytest.raises(InputError, match="encoded by model 'old-name' \\(shipped now as '4x4x8'\\).*--model 4x4x8$"):
        stream.decode_file(tiny_tok, src, str(tmp_path / "out.txt"))


def test_not_safetensors_and_wrong_name(tmp_path, tiny_tok: Tokenizer) -> None:
    (tmp_path / "x.safetensors").write_bytes(np.random.default_rng(0).bytes(300))
    with pytest.raises(InputError, match="not a safetensors file"):
        stream.decode_file(tiny_tok, str(tmp_path / "x.safetensors"), "-")
    save_file({"embeddings": torch.zeros(1, 16)}, str(tmp_path / "y.safetensors"))
    with pytest.raises(InputError, match="no tensor named 'latents' \\(found: embeddings\\)"):
        stream.decode_file(tiny_tok, str(tmp_path / "y.safetensors"), "-")
    with pytest.raises(InputError, match="no such file"):
        stream.decode_file(tiny_tok, str(tmp_path / "none.safetensors"), "-")
    with pytest.raises(InputError, match="is a directory"):
        stream.decode_file(tiny_tok, str(tmp_path), "-")


def test_truncated_latents_file(tmp_path, tiny_tok: Tokenizer) -> None:
    full = _latents_file(tmp_path / "z.safetensors", torch.zeros(8, 16))
    data = (tmp_path / "z.safetensors").read_bytes()
    (tmp_path / "z.safetensors").write_bytes(data[:-100])  # an interrupted copy
    with pytest.raises(InputError, match="truncated"):
        stream.decode_file(tiny_tok, full, str(tmp_path / "out.txt"))
    assert not (tmp_path / "out.txt").exists()


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
def test_rows_are_read_from_the_header_in_any_float_dtype(tmp_path, dtype: torch.dtype) -> None:
    z = torch.randn(37, 16).to(dtype)
    path = _latents_file(tmp_path / "z.safetensors", z, chars=37 * 16)
    latents = stream.read_latents_meta(path)
    assert latents.shape == (37, 16) and latents.metadata == {"chars": str(37 * 16)}
    assert torch.equal(latents.rows(0, 37), z.float())
    assert torch.equal(latents.rows(5, 9), z[5:9].float())  # a chunk from the middle


def test_decoding_wider_latents_gives_the_same_text(tmp_path, tiny_tok: Tokenizer) -> None:
    (tmp_path / "in.txt").write_text("naïve text, 漢字 and 🙂 " * 5, encoding="utf-8")
    stream.encode_file(tiny_tok, str(tmp_path / "in.txt"), str(tmp_path / "z.safetensors"))
    z = load_file(str(tmp_path / "z.safetensors"))["latents"]
    meta = stream.read_latents_meta(str(tmp_path / "z.safetensors")).metadata
    save_file({"latents": z.double()}, str(tmp_path / "z64.safetensors"), metadata=meta)
    stream.decode_file(tiny_tok, str(tmp_path / "z.safetensors"), str(tmp_path / "a.txt"))
    stream.decode_file(tiny_tok, str(tmp_path / "z64.safetensors"), str(tmp_path / "b.txt"))
    assert (tmp_path / "a.txt").read_bytes() == (tmp_path / "b.txt").read_bytes()
