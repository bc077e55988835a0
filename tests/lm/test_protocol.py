"""The comparison's protocol: every byte scored once from the shared start, the sliding window, the schedule's
shares, and the intervals and verdicts on cases with a known answer."""

import numpy as np
import pytest
import torch

from tokun.lm import LMConfig, evaluate, make
from tokun.lm.evaluate import score, windows
from tokun.lm.stats import model_interval, paired, verdict
from tokun.lm.train import Budget, Schedule, train

from ..conftest import FIXTURE

CFG = LMConfig(dim=32, layers=1, heads=2, ffn=64, context=8)
KINDS = ("bytes", "bpe", "tokun-direct", "tokun-words8", "tokun-16", "patch-learned")
TEXTS = {
    "latin": "Hello, wörld! The first character is scored too.",
    "punctuation first": "« Bonjour », dit-il.\nNext line.",
    "cjk": "東京に行きました。今日は晴れです。",
    "one": "x",
}


@pytest.fixture(scope="module")
def models() -> dict:
    train = FIXTURE.read_text(encoding="utf-8")
    out = {}
    for name in KINDS:
        torch.manual_seed(0)
        model = make(name, train)
        model.build(CFG).eval()
        out[name] = model
    return out


@pytest.mark.parametrize("name", KINDS)
def test_every_model_scores_every_byte_of_the_text_exactly_once(models, name: str) -> None:
    """``scored_bytes`` is the text's UTF-8 byte count for every model kind, on every text, at any context."""
    model = models[name]
    result = evaluate(model, TEXTS)
    assert result["bytes"] == {k: len(v.encode("utf-8")) for k, v in TEXTS.items()}, name
    assert result["scored_bytes"] == sum(len(v.encode("utf-8")) for v in TEXTS.values())
    data = model.encode(TEXTS["latin"])
    assert data.nbytes[0] == 0 and data.nbytes.sum() == len(TEXTS["latin"].encode("utf-8"))  # position 0: U+0002


def test_the_first_unit_is_paid_for(models) -> None:
    """Every text starts from U+0002: its first character is predicted, so changing it changes the score."""
    model = models["bytes"]
    a, _ = score(model, model.encode("abc"), stride=4)
    b, _ = score(model, model.encode("zbc"), stride=4)
    assert a != b


def test_windows_score_each_position_once_with_at_least_context_minus_stride_before_it() -> None:
    for n in (1, 2, 5, 9, 10, 37, 100):
        for context, stride in ((4, 2), (8, 4), (8, 1), (8, 8), (16, 5)):
            scored = []
            for begin, end, new in windows(n, context, stride):
                assert end - begin <= context
                for pos in range(end - new + 1, end + 1):
                    assert pos - begin >= min(pos, context - stride)  # sees the whole text before, or enough
                    scored.append(pos)
            assert scored == list(range(1, n)), (n, context, stride)


@pytest.mark.parametrize("name", ["bytes", "tokun-words8"])
def test_sliding_window_scores_what_one_pass_over_the_text_scores(models, name: str) -> None:
    """A text shorter than the context: every window scheme gives the NLL of one causal pass over it."""
    model = models[name]
    data = model.encode("Une phrase courte.")
    with torch.inference_mode():
        whole = float(model.nll(data.take(np.arange(len(data))[None])).sum())
    big = LMConfig(dim=32, layers=1, heads=2, ffn=64, context=len(data) + 4)
    state = model.network.state_dict()
    model.build(big).load_state_dict(state)
    model.network.eval()
    nats, _ = score(model, data, stride=2)
    model.build(CFG).load_state_dict(state)
    model.network.eval()
    assert nats == pytest.approx(whole, rel=1e-5)


def test_warmup_and_decay_are_the_same_shares_of_each_models_steps() -> None:
    text = FIXTURE.read_text(encoding="utf-8") * 3
    schedule = Schedule(warmup=0.2, decay=0.5, min_ratio=0.1)
    steps = {}
    for name in ("bytes", "patch-learned"):
        model = make(name, text)
        data = model.encode(text)
        info = train(model, data, CFG, budget=Budget(flops=3e8, batch=2), lr=1e-3, seed=0, schedule=schedule)
        total = info["planned_steps"]
        assert info["steps"] == total and info["stopped_by"] == "flops"
        assert info["warmup_steps"] == round(0.2 * total) and info["decay_steps"] == round(0.5 * total)
        per_step = info["train_flops"] / total
        if name == "bytes":  # every step costs the same: the planned steps spend the budget, to one step
            assert 0 <= info["train_flops"] - 3e8 < per_step
        else:  # a patch step costs what its patches weigh: planned on the mean of sample batches (noisy at batch 2)
            assert abs(info["train_flops"] / 3e8 - 1) < 0.5
        steps[name] = total
    assert steps["bytes"] != steps["patch-learned"]  # different steps, the same shares
    scales = [schedule.scale(s, 50) for s in range(50)]
    assert scales[9] == 1.0 and scales[0] == pytest.approx(0.1)  # warm-up: 10 of 50 steps
    assert all(s == 1.0 for s in scales[10:25]) and scales[25] == 1.0 > scales[26] > scales[49]  # decay: the last 25
    assert scales[49] == pytest.approx(0.1, abs=0.01)  # the floor at step 50


def test_paired_interval_of_a_mean_difference_matches_the_normal_answer() -> None:
    """400 files of equal bytes, one seed each: the bootstrap interval of the mean difference is the textbook
    mean ± 1.96 sd / sqrt(n)."""
    rng = np.random.default_rng(0)
    n = 400
    nbytes = np.full(n, 100)
    b = rng.uniform(200, 300, (1, n))  # bits per file
    diff = rng.normal(-2.0, 10.0, n)  # bits per file: -0.02 bits per byte on average
    result = paired(b + diff, b, nbytes, draws=4000)
    d = diff / 100  # per file, bits per byte
    half = 1.96 * d.std(ddof=1) / np.sqrt(n)
    assert result["mean"] == pytest.approx(d.mean())
    assert result["ci"][0] == pytest.approx(d.mean() - half, abs=0.15 * half)
    assert result["ci"][1] == pytest.approx(d.mean() + half, abs=0.15 * half)


def test_a_constant_difference_has_a_point_interval_and_a_verdict() -> None:
    nbytes = np.array([100, 200, 300])
    b = np.array([[300.0, 500.0, 800.0]])  # 1 seed x 3 files
    better = paired(b - nbytes * 0.1, b, nbytes)  # 0.1 bits per byte lower on every file
    assert better["mean"] == pytest.approx(-0.1) and better["ci"] == pytest.approx((-0.1, -0.1))
    assert better["verdict"] == "win" and paired(b + nbytes * 0.1, b, nbytes)["verdict"] == "loss"
    assert paired(b, b, nbytes)["verdict"] == "tie"
    same = model_interval(np.array([[100.0, 200.0, 300.0]]), nbytes)  # 1 bit per byte on every file
    assert same["mean"] == 1.0 and same["ci"] == pytest.approx((1.0, 1.0))
    assert verdict((-0.2, 0.0)) == "tie"  # an interval touching 0 is not a win
    # seeds: each model's are drawn on their own, so their spread widens the interval of the difference
    seeds = np.array([[300.0, 500.0, 800.0], [330.0, 560.0, 890.0]])  # seed 2: 0.3 bits per byte higher
    spread = paired(seeds - nbytes * 0.1, seeds, nbytes)
    assert spread["mean"] == pytest.approx(-0.1) and spread["ci"] == pytest.approx((-0.4, 0.2))
    assert spread["verdict"] == "tie"


def test_per_language_differences_count_wins_losses_and_ties_over_seeds() -> None:
    """Each file alone: a difference every seed agrees on is a win or a loss, one the seeds straddle a tie; and the
    pairs rebuilt from compare.json's per-file figures are the pairs of the bits they came from."""
    from tokun.lm.report import paired_differences
    from tokun.lm.stats import paired_per_file, tally

    nbytes = np.array([100.0, 200.0, 300.0])
    b = np.array([[100.0, 200.0, 300.0], [101.0, 190.0, 310.0], [99.0, 210.0, 290.0]])  # (S=3, F=3)
    a = b + np.array([[-10.0, 20.0, -30.0], [-12.0, 22.0, 30.0], [-11.0, 21.0, 0.0]])  # seeds drawn apart: x, y clear
    per_file = paired_per_file(a, b, nbytes, ["x", "y", "z"])
    assert [per_file[f]["verdict"] for f in "xyz"] == ["win", "loss", "tie"]
    assert per_file["x"]["mean"] == pytest.approx(-0.11) and per_file["y"]["ci"][0] > 0
    assert tally(per_file) == {"win": 1, "loss": 1, "tie": 1}
    one_seed = paired_per_file(a[:1], b[:1], nbytes, ["x", "y", "z"])  # no spread to draw from: no verdict
    assert {p["verdict"] for p in one_seed.values()} == {"n/a"} and tally(one_seed) is None
    result = {"test_bytes_per_file": dict(zip("xyz", nbytes.tolist())), "models": {}}
    for name, bits in (("tokun", a), ("bpe", b)):
        result["models"][name] = {"per_language_seeds": {f: list(bits[:, i] / nbytes[i]) for i, f in enumerate("xyz")}}
    rebuilt = paired_differences(result)
    assert rebuilt["paired"]["tokun-bpe"]["mean"] == pytest.approx(paired(a, b, nbytes)["mean"])
    assert rebuilt["paired"]["tokun-bpe"]["ci"] == pytest.approx(paired(a, b, nbytes)["ci"])
    assert rebuilt["paired_per_language"]["tokun-bpe"]["tally"] == {"win": 1, "loss": 1, "tie": 1}
    assert set(rebuilt["paired"]) == {"tokun-bpe"}  # only the pairs whose models it holds


@pytest.mark.parametrize("best_of", [(), ("tokun-16", "bytes"), ("patch-learned",), "bytes"])
def test_tokun_is_chosen_among_tokun_patch_models_only(best_of, tmp_path) -> None:
    from tokun.core.errors import InputError
    from tokun.lm.compare import compare

    with pytest.raises(InputError, match="--best-of: tokun patch models only"):
        compare([str(FIXTURE)], minutes=1, out=tmp_path, models=("tokun",), best_of=best_of)


@pytest.mark.parametrize(
    "recipe", ["lm-compare.toml", "lm-budget-cpu.toml", "lm-contexts.toml", "lm-contexts-cpu.toml"]
)
def test_recipes_name_only_what_compare_takes(recipe: str, monkeypatch, tmp_path) -> None:
    """The recipe files run through compare_recipe: every key known, the schedule's shares and contexts passed on."""
    import importlib

    from ..conftest import ROOT

    module = importlib.import_module("tokun.lm.compare")
    calls = []
    monkeypatch.setattr(module, "compare", lambda corpora, **kw: calls.append(kw) or {"models": {}, "paired": {}})
    monkeypatch.setattr(torch, "set_num_threads", lambda n: None)
    module.compare_recipe(ROOT / "recipes" / recipe, out=tmp_path, progress=False)  # as `tokun lm compare --recipe`
    batches = {kw["context_chars"]: kw["batch"] for kw in calls}  # the same characters a step at every context
    expected = {
        "lm-compare.toml": {160: 16},
        "lm-budget-cpu.toml": {160: 16},
        "lm-contexts.toml": {150: 64, 600: 16, 2400: 4},
    }
    assert batches == expected.get(recipe, {160: 16, 600: 4, 2400: 1})
    assert all(kw["schedule"].warmup == 0.1 and kw["flops"] >= 1e13 and kw["seeds"] >= 1 for kw in calls)
    assert all(kw["seeds"] == 3 for kw in calls) or recipe == "lm-contexts-cpu.toml"
    assert all(kw["progress"] is False and tmp_path in (kw["out"], kw["out"].parent) for kw in calls)
