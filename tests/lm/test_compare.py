import pytest
import torch

from tokun.core.config import ModelConfig
from tokun.core.errors import InputError, ModelError
from tokun.core.model import AutoEncoder
from tokun.lm.flops import macs_per_block, part_flops
from tokun.lm.model import Body, KVCache, LMConfig, TokenLM, TokunLM, rotary

CFG = LMConfig(dim=32, layers=2, heads=2, ffn=64, context=8)
AUTO = ModelConfig(token_dim=(4, 4), embed_dim=8, latent_dim=16)


def test_body_is_causal() -> None:
    body = Body(CFG).eval()
    x = torch.randn(1, 8, 32)
    y = x.clone()
    y[0, 5:] += 1.0  # change the future
    assert torch.allclose(body(x)[0, :5], body(y)[0, :5], atol=1e-5)
    assert not torch.allclose(body(x)[0, 5:], body(y)[0, 5:])


def test_kv_cache_gives_the_outputs_of_the_whole_sequence() -> None:
    body = Body(CFG).eval()
    x = torch.randn(2, 8, 32)
    whole = body(x)  # (2, 8, 32)
    cache = KVCache()
    pieces = [body(x[:, :3], cache)] + [body(x[:, i : i + 1], cache) for i in range(3, 5)] + [body(x[:, 5:], cache)]
    assert cache.length == 8 and cache.keys[0].shape == (2, CFG.heads, 8, CFG.dim // CFG.heads)
    assert torch.allclose(torch.cat(pieces, dim=1), whole, atol=1e-5)  # a prompt, single steps, then a chunk


def test_rotary_rotates_by_position() -> None:
    """Rotary embeddings rotate each position's vector by an angle that grows with the position: norms are kept,
    position 0 is left as it is, later ones move, and a query's dot product with a key depends only on their
    distance (the same vectors at every position give a Toeplitz matrix of scores)."""
    q = torch.randn(1, 1, 1, 8).repeat(2, 2, 7, 1)
    k = torch.randn(1, 1, 1, 8).repeat(2, 2, 7, 1)
    rq, rk = rotary(q), rotary(k)
    assert torch.allclose(rq.norm(dim=-1), q.norm(dim=-1), atol=1e-5)
    assert torch.allclose(rq[..., 0, :], q[..., 0, :]) and not torch.allclose(rq[..., 1, :], q[..., 1, :])
    scores = rq[0, 0] @ rk[0, 0].T  # (7, 7)
    for d in range(-6, 7):
        diagonal = scores.diagonal(d)
        assert torch.allclose(diagonal, diagonal[0].expand_as(diagonal), atol=1e-4), d
    assert not torch.allclose(scores.diagonal(1)[0], scores.diagonal(3)[0])
    assert torch.allclose(rotary(q[..., 3:, :], offset=3), rq[..., 3:, :], atol=1e-6)  # offsets continue positions


def test_tokun_lm_trains_through_the_frozen_decoder() -> None:
    auto = AutoEncoder(AUTO)
    frozen = {k: v.clone() for k, v in auto.state_dict().items()}
    lm = TokunLM(auto, CFG, latent_scale=1.0)
    blocks = torch.randint(0, 256, (4, 9, AUTO.block_bytes), dtype=torch.uint8)
    opt = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=3e-3)
    first = None
    for _ in range(30):
        loss, count = lm.loss(blocks)
        first = first if first is not None else loss.item() / count
        opt.zero_grad()
        (loss / count).backward()
        opt.step()
    assert loss.item() / count < first
    assert lm(blocks).shape == (4, 9, AUTO.block_bytes, 256)
    assert all(torch.equal(v, auto.state_dict()[k]) for k, v in frozen.items())  # tokun stayed frozen


@pytest.mark.parametrize("tune", [False, True])
def test_patch_lm_encoder_frozen_or_fine_tuned(tune: bool) -> None:
    """A frozen tokun encoder keeps its weights and costs 2 N T (forward only); a fine-tuned one learns with the
    language model and costs 6 N T, like any trained part."""
    from tokun.lm.patch_model import BLOCK_CHARS, UNITS, PatchLM, TokunPatchEmbedding

    auto = AutoEncoder(ModelConfig(token_dim=(4, BLOCK_CHARS), embed_dim=8, hidden_dim=16, latent_dim=16))
    start = {k: v.clone() for k, v in auto.encoder.state_dict().items()}
    lm = PatchLM(TokunPatchEmbedding(auto, CFG.dim, latent_scale=1.0, tune=tune), CFG, PatchLM.local_config(CFG))
    blocks = torch.randint(0, 256, (2, 9, 4 * BLOCK_CHARS), dtype=torch.uint8)
    units = torch.randint(1, 256, (2, 9, UNITS), dtype=torch.uint8)
    units[..., 5:] = 0  # patches of 5 bytes, closed by a 0
    opt = torch.optim.AdamW([p for p in lm.parameters() if p.requires_grad], lr=1e-2)
    for _ in range(3):
        loss, count = lm.loss((blocks, units))
        opt.zero_grad()
        (loss / count).backward()
        opt.step()
    moved = any(not torch.equal(v, auto.encoder.state_dict()[k]) for k, v in start.items())
    assert moved is tune
    enc, _ = macs_per_block(auto.cfg)
    (part,) = [p for p in lm.flop_parts(patches=10) if p.name.startswith("tokun encoder")]
    assert part.parameters == enc and part_flops(part) == (6 if tune else 2) * enc * 10


def test_token_lm_shapes() -> None:
    lm = TokenLM(256, CFG)
    ids = torch.randint(0, 256, (2, 9))
    assert lm(ids).shape == (2, 9, 256)
    loss, count = lm.loss(ids)
    assert count == 16 and loss.item() > 0


def test_macs_per_block_of_4x16() -> None:

    enc, dec = macs_per_block(
        ModelConfig(embed_dim=256, hidden_dim=None)
    )  # embed 256: characters of 4 x 256 -> 256, blocks of 16 x 256 -> 256
    assert enc == 16 * 1024 * 256 + 4096 * 256
    assert dec == 4096 * 256 + 16 * 1024 * 256 + 64 * 256 * 256
    enc, dec = macs_per_block(ModelConfig())  # the shipped 4x16: embed 64, characters of 128
    assert enc == 16 * (4 * 64) * 128 + (16 * 128) * 256
    assert dec == (16 * 128) * 256 + 16 * 128 * (4 * 64) + 64 * 64 * 256
    _, with_mlp = macs_per_block(ModelConfig(decoder_mlp=1024))
    assert with_mlp - dec == 2 * 256 * 1024  # up and down projections, once per latent


@pytest.mark.parametrize("model, message", [("4x4x8", "32 characters"), ("no-such-model", "unknown model")])
def test_compare_refuses_models_it_cannot_compare_up_front(model: str, message: str, capsys) -> None:
    from tokun.cli import main

    assert main(["lm", "compare", "--model", model, "--minutes", "0.01", "--corpora", "/nonexistent"]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


@pytest.mark.slow
def test_compare_json_holds_every_model_seed_and_budget(tmp_path, monkeypatch) -> None:
    """The `tokun lm compare --json` contract: budget, per-model seeds, FLOPs, patch scheme, parameters, languages;
    the protocol's keys (split, chosen_on, intervals, scored bytes, paired verdicts); `tokun` is the tokun patch
    model best on tune, chosen by a pick that is given tune scores only, and says which."""
    import importlib

    from tokun.core.splits import split_three
    from tokun.lm.compare import BEST_OF, compare

    compare_module = importlib.import_module("tokun.lm.compare")  # the package's `compare` is the function
    picks = []
    monkeypatch.setattr(compare_module, "pick_best", lambda tune: picks.append(dict(tune)) or min(tune, key=tune.get))

    from ..conftest import FIXTURE

    lines = FIXTURE.read_text(encoding="utf-8").splitlines()
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, part in (("a", lines[::2]), ("b", lines[1::2])):
        (corpus / f"{name}.txt").write_text("\n".join(part * 30) + "\n", encoding="utf-8")
    cfg = LMConfig(dim=32, layers=1, heads=2, ffn=64, context=8)
    log: list[str] = []
    result = compare(
        [str(corpus)], minutes=0.02, flops=2e8, seeds=2, models=("tokun", "patch-learned", "bytes", "bpe"),
        out=tmp_path / "o", batch=4, progress=False, cfg=cfg, generate_chars=10, log=log.append,
    )  # fmt: skip
    assert result["budget"] == {"minutes": 0.02, "flops": 2e8, "seeds": 2}
    trained = [*BEST_OF, "patch-learned", "bytes", "bpe"]  # the log: a line per training run, per model, the pick
    for name in trained:
        assert sum(line.startswith(f"{name} lr ") for line in log) == 2, (name, log)
        assert sum(line.startswith(f"{name}: lr ") and "test" in line for line in log) == 1, (name, log)
    assert f"tokun = {result['models']['tokun']['model']}, the best on tune of" in log[-1]
    test_bytes = sum(len(split_three(f.read_text(encoding="utf-8"))[2].encode("utf-8")) for f in corpus.iterdir())
    assert result["chosen_on"] == "tune" and set(result["split"]) == {"train_chars", "tune_chars", "test_chars"}
    assert sum(result["test_bytes_per_file"].values()) == test_bytes
    assert set(result["paired"]) == {"tokun-bpe", "tokun-bytes", "tokun-patch-learned"}
    for pair in result["paired"].values():
        lo, hi = pair["ci"]
        assert lo <= pair["mean"] <= hi and pair["verdict"] == ("win" if hi < 0 else "loss" if lo > 0 else "tie")
    assert result["flops"]["pretraining"]["tokun_autoencoder"] > 1e14  # the 4x16 recipe's, on its own line
    assert set(result["models"]) >= {"tokun", "patch-learned", "bytes"}
    for name, m in result["models"].items():
        assert len(m["bits_per_byte_seeds"]) == 2 and 0 < m["bits_per_byte"] < 20, name
        assert abs(m["bits_per_byte"] - sum(m["bits_per_byte_seeds"]) / 2) < 1e-9
        assert m["train_flops"] > 0 and set(m["per_language"]) == {"a", "b"}
        assert {"body", "vocabulary", "trainable"} <= set(m["parameters"])
        assert m["scored_bytes"] == test_bytes, name  # every byte of the test text, by every model
        lo, hi = m["bits_per_byte_ci"]
        assert lo <= m["bits_per_byte"] <= hi and m["context_chars"] > 0 and m["inference_flops_per_byte"] > 0
        assert m["generate_chars_per_s"] > 0
    tokun = result["models"]["tokun"]
    # the pick saw the tune figures of BEST_OF, nothing else, and `tokun` is its choice
    tune = {m: result["models"][m]["tune_bits_per_byte"] for m in BEST_OF}
    assert picks[-1] == tune and tokun["model"] == min(tune, key=tune.get)
    # `tokun` trains every model of BEST_OF and reports the best
    assert tokun["model"] in BEST_OF and set(BEST_OF) <= set(result["models"])
    assert tokun["patch"] == result["models"][tokun["model"]]["patch"] in ("words", "words-8", "fixed-16")
    assert result["models"]["patch-learned"]["patch"] == "words-8" and result["models"]["bytes"]["patch"] == "byte"
    # generation from a saved patch model: seeded sampling is reproducible, and streamed as it goes
    import io

    from tokun.lm import generate, model_folder

    assert model_folder(tmp_path / "o", "tokun") == tmp_path / "o" / tokun["model"]
    with pytest.raises(ModelError, match="no comparison"):
        model_folder(tmp_path, "tokun")
    for name in ("tokun-words", "tokun-words8-tuned", "patch-learned", "bytes", "bpe"):
        stream = io.StringIO()
        a = generate("Bonjour, ", folder=tmp_path / "o" / name, blocks=4, seed=1, stream=stream)
        b = generate("Bonjour, ", folder=tmp_path / "o" / name, blocks=4, seed=1)
        assert a == b and a.startswith("Bonjour, ") and len(a) > len("Bonjour, ") and stream.getvalue() == a, name
        c = generate("Bonjour, ", folder=tmp_path / "o" / name, chars=10, seed=2)
        assert len(c) == len("Bonjour, ") + 10, name  # same-length samples from every kind of model
    (tmp_path / "o" / "odd").mkdir()
    (tmp_path / "o" / "odd" / "config.json").write_text('{"kind": "odd", "lm": {}}')
    with pytest.raises(ModelError, match="generate does not know"):
        generate("x", folder=tmp_path / "o" / "odd")


@pytest.mark.parametrize("name", ["tokun-16", "tokun-words8", "patch-learned", "tokun-direct", "bytes", "bpe"])
def test_following_a_text_writes_exactly_that_text(name: str) -> None:
    """``continue_text(follow=t)`` (what ``chars_per_second`` times) writes ``t`` whole, piece by piece, and nothing
    more: no padding of a last block, no piece dropped or repeated, with or without a prompt."""
    from tokun.lm import continue_text, make

    from ..conftest import FIXTURE

    train = FIXTURE.read_text(encoding="utf-8") * 3
    model = make(name, train)
    model.build(LMConfig(dim=32, layers=1, heads=2, ffn=64, context=8)).eval()
    text = "Grüße, 世界! A line of text\nนี่คือ ไทย and code: x = [1, 2]  # ok"
    for prompt in ("", "Bonjour, "):
        assert continue_text(model, prompt, follow=text) == prompt + text, (name, prompt)
    assert continue_text(model, "", follow=text[:3]) == text[:3]  # shorter than one patch or block


def test_generation_window_caches_what_a_full_pass_computes() -> None:
    from tokun.lm import GlobalWindow

    lm = TokunLM(AutoEncoder(AUTO), CFG, latent_scale=1.0).eval()
    rows = torch.randint(0, 256, (1, 13, AUTO.block_bytes), dtype=torch.uint8)
    with torch.inference_mode():
        window, held = GlobalWindow(lm, rows[:, :3]), []
        for i in range(3, 13):  # past the context of 8: the cache is refilled with the last 4 rows
            window.push(rows[:, i : i + 1])
            assert torch.equal(window.rows[0, -1], rows[0, i]) and window.cache.length == window.rows.shape[1]
            full = lm.body(lm.input(window.rows))[:, -1:]  # the same rows, run at once
            assert torch.allclose(window.state, full, atol=1e-5)
            held.append(window.rows.shape[1])
    assert held == [4, 5, 6, 7, 8, 4, 5, 6, 7, 8]


def test_learning_rate_sweep_picks_the_rate_that_learns(tmp_path) -> None:
    """Several --lr: each model's rate is the best on the tune split, reported, and used for its runs."""
    from tokun.lm.compare import compare

    from ..conftest import FIXTURE

    corpus = tmp_path / "a.txt"
    corpus.write_text(FIXTURE.read_text(encoding="utf-8") * 20, encoding="utf-8")
    cfg = LMConfig(dim=32, layers=1, heads=2, ffn=64, context=8)
    result = compare(
        [str(corpus)], minutes=None, flops=1e9, models=("bytes",), lr=(1e-7, 3e-3), out=tmp_path / "o",
        batch=4, progress=False, cfg=cfg, context_chars=None, generate_chars=0,
    )  # fmt: skip
    m = result["models"]["bytes"]
    assert set(m["lr_sweep"]) == {"1e-07", "0.003"}
    assert m["lr_sweep"]["0.003"] < m["lr_sweep"]["1e-07"] - 0.5  # a rate too small barely moves from uniform
    assert m["lr"] == 3e-3
    assert m["steps"] == result["models"]["bytes"]["planned_steps"]  # the sweep's run at 3e-3 is the first seed's


def test_token_text_streams_bpe_and_bytes_back_exactly(tmp_path) -> None:
    """Generated byte/BPE tokens are turned into text token by token; a character cut between tokens waits."""
    from tokun.lm.data import TokenText
    from tokun.lm.zoo import TokenModel

    from ..conftest import FIXTURE

    text = FIXTURE.read_text(encoding="utf-8")
    bpe = TokenModel("bpe", text).bpe
    for kind in ("bpe", "bytes"):
        stream = TokenText(bpe if kind == "bpe" else None)
        pieces = [stream.piece(i) for i in stream.ids(text)]
        assert "".join(pieces) == text, kind
        assert "\ufffd" not in "".join(pieces) and any(p == "" for p in pieces), kind  # waited inside characters


def test_cli_help_names_every_model_compare_knows(capsys, monkeypatch) -> None:
    """The CLI's model list comes from the library (lm.zoo), so it cannot drift."""
    from tokun.cli import main
    from tokun.lm.compare import BEST_OF, MODELS

    monkeypatch.setenv("COLUMNS", "1000")  # argparse wraps at hyphens otherwise
    with pytest.raises(SystemExit):
        main(["lm", "compare", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    for name in (*MODELS, *BEST_OF):
        assert name in help_text, name
    assert "the best of " + ", ".join(BEST_OF) in help_text


def test_a_rerun_keeps_the_finished_models_and_retrains_on_any_change(tmp_path) -> None:
    """``compare`` resumes: a rerun of the same comparison keeps each finished model's figures (its folder's
    result.json) without training, and returns the same JSON; a changed option or text trains again."""
    from tokun.lm.compare import RESULT, compare

    from ..conftest import FIXTURE

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.txt").write_text(FIXTURE.read_text(encoding="utf-8") * 20, encoding="utf-8")
    cfg = LMConfig(dim=16, layers=1, heads=2, ffn=32, context=8)
    options = dict(minutes=None, flops=3e7, models=("bytes",), batch=4, progress=False, cfg=cfg, generate_chars=0)
    first, log = compare([str(corpus)], out=tmp_path / "o", **options), []
    assert (tmp_path / "o" / "bytes" / RESULT).is_file() and (tmp_path / "o" / "bytes" / "model.safetensors").is_file()
    again = compare([str(corpus)], out=tmp_path / "o", log=log.append, **options)
    assert again == first and len(log) == 1 and log[0].startswith("bytes: kept from an earlier run")
    log.clear()
    compare([str(corpus)], out=tmp_path / "o", log=log.append, **{**options, "flops": 4e7})
    assert any(line.startswith("bytes lr ") for line in log)  # another budget: trained again
    (corpus / "a.txt").write_text(FIXTURE.read_text(encoding="utf-8") * 21, encoding="utf-8")
    log.clear()
    compare([str(corpus)], out=tmp_path / "o", log=log.append, **{**options, "flops": 4e7})
    assert any(line.startswith("bytes lr ") for line in log)  # another text: trained again


def test_each_model_trains_at_its_own_learning_rate_from_a_table(tmp_path) -> None:
    """``lr={model: rates}`` (a recipe's ``lr`` table): each model runs at its own rate, ``tokun``'s rate serves the
    patch models it is chosen from, and a model without one or an unknown name is refused before any training."""
    from tokun.lm.compare import compare

    from ..conftest import FIXTURE

    corpus = tmp_path / "a.txt"
    corpus.write_text(FIXTURE.read_text(encoding="utf-8") * 20, encoding="utf-8")
    cfg = LMConfig(dim=16, layers=1, heads=2, ffn=32, context=8)
    options = dict(minutes=None, flops=3e7, batch=4, progress=False, cfg=cfg, generate_chars=0, out=tmp_path / "o")
    result = compare(
        [str(corpus)], models=("tokun", "bytes", "bpe"), best_of=("tokun-16",),
        lr={"tokun": 2e-3, "bytes": 1e-3, "bpe": 4e-3}, **options,
    )  # fmt: skip
    assert {name: m["lr"] for name, m in result["models"].items()} == {
        "tokun-16": 2e-3, "tokun": 2e-3, "bytes": 1e-3, "bpe": 4e-3,
    }  # fmt: skip
    with pytest.raises(InputError, match="no learning rate for bpe"):
        compare([str(corpus)], models=("bytes", "bpe"), lr={"bytes": 1e-3}, **options)
    with pytest.raises(InputError, match="no model named byte"):
        compare([str(corpus)], models=("bytes",), lr={"byte": 1e-3}, **options)
    with pytest.raises(InputError, match="learning rates of bytes must be positive"):
        compare([str(corpus)], models=("bytes",), lr={"bytes": [1e-3, -1.0]}, **options)
