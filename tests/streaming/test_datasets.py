import json
import os
import re

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tokun.cli import main
from tokun.core import shards
from tokun.core.errors import InputError
from tokun.decoding.tokenizer import Tokenizer
from tokun.streaming.datasets import encode_dataset
from tokun.streaming.decoded import decode_dataset

from ..conftest import FIXTURE, ROOT

DOCS = FIXTURE.read_text(encoding="utf-8").splitlines()  # 28 documents, every script of the fixture


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return Tokenizer.load()


def write_parquet(path, docs, row_group_size: int = 5) -> str:
    pq.write_table(pa.table({"text": docs, "other": list(range(len(docs)))}), path, row_group_size=row_group_size)
    return str(path)


def write_jsonl(path, docs) -> str:
    path.write_text("".join(json.dumps({"text": d, "n": i}, ensure_ascii=False) + "\n" for i, d in enumerate(docs)))
    return str(path)


def within_one_ulp(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal float16 latents, but for a last-bit rounding where the encoder ran in batches of other sizes (its float32
    results differ by ~1e-6 between a batch of one row and of many: other BLAS kernels)."""
    ulp = np.spacing(np.maximum(np.abs(a), np.abs(b)).astype(np.float16)).astype(np.float32)
    return a.shape == b.shape and bool((np.abs(a.astype(np.float32) - b.astype(np.float32)) <= ulp).all())


def latents_by_id(folder) -> dict[int, np.ndarray]:
    return {i: z for s in shards.iter_shards(folder) for i, z in zip(s.ids.tolist(), s.latents)}


def test_every_format_gives_the_same_shards_and_decodes_back(tmp_path, tok: Tokenizer) -> None:
    import datasets

    datasets.Dataset.from_dict({"text": DOCS}).save_to_disk(str(tmp_path / "saved"))
    inputs = {
        "parquet": [write_parquet(tmp_path / "a.parquet", DOCS[:10]), write_parquet(tmp_path / "b.parquet", DOCS[10:])],
        "jsonl": [write_jsonl(tmp_path / "a.jsonl", DOCS[:10]), write_jsonl(tmp_path / "b.jsonl", DOCS[10:])],
        "arrow": [str(tmp_path / "saved")],
    }
    found = {}
    for kind, paths in inputs.items():
        summary = encode_dataset(tok, paths, str(tmp_path / kind), shard_docs=4)
        assert summary["documents"] == len(DOCS) and summary["chars"] == sum(map(len, DOCS))
        found[kind] = latents_by_id(tmp_path / kind)
    assert sorted(found["parquet"]) == list(range(len(DOCS)))  # ids: positions in the inputs, across files
    for i, doc in enumerate(DOCS):  # the latents of each document, in blocks of the model's size, as float16
        want = tok.encode(doc).numpy().astype(np.float16)
        assert all(within_one_ulp(found[kind][i], want) for kind in inputs), i
    n = decode_dataset(tok, str(tmp_path / "jsonl"), str(tmp_path / "back.parquet"))
    back = pq.read_table(tmp_path / "back.parquet")
    assert n == (len(DOCS), sum(map(len, DOCS))) and back.column_names == ["id", "text", "n"]  # JSONL's other field
    assert back.column("text").to_pylist() == DOCS and back.column("id").to_pylist() == list(range(len(DOCS)))


def test_cli_round_trip_is_deterministic_and_resumes(tmp_path) -> None:
    src = write_parquet(tmp_path / "in.parquet", DOCS * 2, row_group_size=7)  # row groups cut across shards
    assert main(["encode-dataset", src, "--out", str(tmp_path / "a"), "--shard-docs", "16", "-q"]) == 0
    assert main(["encode-dataset", src, "--out", str(tmp_path / "b"), "--shard-docs", "16", "-q"]) == 0
    names = sorted(p.name for p in (tmp_path / "a").iterdir())
    assert names == ["manifest.json"] + [f"part-0000{i}.parquet" for i in range(4)]
    for name in names:  # same input, same bytes
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()
    # resume: a lost shard is rewritten, identical; the finished ones are not touched
    kept = os.stat(tmp_path / "a" / "part-00000.parquet").st_mtime_ns
    (tmp_path / "a" / "part-00002.parquet").unlink()
    assert main(["encode-dataset", src, "--out", str(tmp_path / "a"), "--shard-docs", "16", "-q"]) == 0
    assert (tmp_path / "a" / "part-00002.parquet").read_bytes() == (tmp_path / "b" / "part-00002.parquet").read_bytes()
    assert os.stat(tmp_path / "a" / "part-00000.parquet").st_mtime_ns == kept
    # another job into the same folder is refused
    assert main(["encode-dataset", src, "--out", str(tmp_path / "a"), "--shard-docs", "8", "-q"]) == 2
    assert main(["decode-dataset", str(tmp_path / "a"), "--out", str(tmp_path / "back.parquet")]) == 0
    assert pq.read_table(tmp_path / "back.parquet").column("text").to_pylist() == DOCS * 2


def test_docs_datasets_map_recipe_gives_the_same_latents(tmp_path, tok: Tokenizer, monkeypatch) -> None:
    import datasets

    guide = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    section = guide[guide.index("## Large corpora") :]
    recipe = next(b for b in re.findall(r"```python\n(.*?)```", section, re.S) if ".map(" in b)
    (tmp_path / "corpus").mkdir()
    write_parquet(tmp_path / "corpus" / "part-0.parquet", DOCS)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets.config, "HF_DATASETS_CACHE", tmp_path / "cache")
    space: dict = {}
    exec(recipe, space)  # the README's code, as a user runs it
    encode_dataset(tok, ["corpus"], "shards")
    ours = latents_by_id("shards")
    ds = space["ds"]
    assert ds["chars"] == [len(d) for d in DOCS]
    for i, z in enumerate(ds["latents"]):
        assert within_one_ulp(np.array(z, dtype=np.float16), ours[i]), i


def bad_inputs(tmp_path) -> list[str]:
    """A Parquet file with a null, a number and an empty document; a JSONL file with invalid UTF-8 and JSON;
    a truncated Parquet file."""
    rows = pa.table({"text": pa.array(["good one", None, "ok", "", "last"], pa.string())})
    pq.write_table(rows, tmp_path / "a.parquet")
    pq.write_table(pa.table({"text": [1, 2]}), tmp_path / "b.parquet")
    lines = [json.dumps({"text": "fine"}).encode(), b'{"text": "caf\xe9"}', b'{"text": "unclosed', b'{"n": 1}']
    (tmp_path / "c.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    data = (tmp_path / "a.parquet").read_bytes()
    (tmp_path / "d.parquet").write_bytes(data[: len(data) - 20])
    return [str(tmp_path / n) for n in ("a.parquet", "b.parquet", "c.jsonl", "d.parquet")]


def test_bad_input_one_line_per_problem_and_the_rest_kept(tmp_path, capsys) -> None:
    paths = bad_inputs(tmp_path)
    out = tmp_path / "out"
    assert main(["encode-dataset", *paths, "--out", str(out), "--on-error", "skip", "--shard-docs", "2"]) == 0
    err = capsys.readouterr().err.splitlines()
    problems = [line for line in err if line.startswith("tokun: skipped: ")]
    assert [re.sub(r"^tokun: skipped: .*/", "", line) for line in problems] == [
        "d.parquet: not a readable Parquet file (Parquet magic bytes not found in footer. Either the file is "
        "corrupted or this is not a parquet file.) (file skipped)",
        "a.parquet, row 1: 'text' is null",
        "a.parquet, row 3: empty document",
        "b.parquet, row 0: 'text' is not a string (int)",
        "b.parquet, row 1: 'text' is not a string (int)",
        "c.jsonl, line 2: not valid UTF-8 at byte 13 of the line (0xe9)",
        "c.jsonl, line 3: not valid JSON (Unterminated string starting at: line 1 column 10 (char 9))",
        "c.jsonl, line 4: no field 'text'",
    ]
    assert "4 documents" in err[-1] and "8 problems skipped" in err[-1]
    assert main(["decode-dataset", str(out), "--out", str(tmp_path / "back.parquet")]) == 0
    back = pq.read_table(tmp_path / "back.parquet").to_pydict()
    assert back == {"id": [0, 2, 4, 7], "text": ["good one", "ok", "last", "fine"]}  # ids: positions in the inputs
    assert not [p for p in out.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_bad_input_stops_with_status_2_by_default(tmp_path, capsys, tok: Tokenizer) -> None:
    paths = bad_inputs(tmp_path)
    assert main(["encode-dataset", *paths[:3], "--out", str(tmp_path / "out"), "--shard-docs", "1"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("tokun: error: ") and err.endswith(
        "a.parquet, row 1: 'text' is null (finished shards are kept: rerun to resume)"
    )
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["manifest.json", "part-00000.parquet"]
    with pytest.raises(InputError, match="incomplete: 10 of 11 shards missing"):
        decode_dataset(tok, str(tmp_path / "out"), str(tmp_path / "back.parquet"))
    assert not (tmp_path / "back.parquet").exists()
    assert main(["encode-dataset", paths[3], "--out", str(tmp_path / "o2")]) == 2
    assert "d.parquet: not a readable Parquet file" in capsys.readouterr().err
    # a missing column: one line naming the file and the columns it has
    with pytest.raises(InputError, match=r"b.parquet: no column 'body' \(columns: text\)"):
        encode_dataset(tok, [paths[1]], str(tmp_path / "o3"), column="body")
    # a lone surrogate, from JSON's escapes
    (tmp_path / "s.jsonl").write_text('{"text": "ok"}\n{"text": "a\\ud800b"}\n')
    with pytest.raises(InputError, match=r"s.jsonl, line 2: lone surrogate U\+D800 at character 1"):
        encode_dataset(tok, [str(tmp_path / "s.jsonl")], str(tmp_path / "o4"))


def test_a_corrupt_parquet_page_is_one_error_line(tmp_path, capsys) -> None:
    pq.write_table(pa.table({"text": ["one", "two", "three"]}), tmp_path / "in.parquet")
    data = bytearray((tmp_path / "in.parquet").read_bytes())
    data[4:12] = bytes(8)  # the first page header: pyarrow's message spans lines
    (tmp_path / "in.parquet").write_bytes(bytes(data))
    assert main(["encode-dataset", str(tmp_path / "in.parquet"), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and err.endswith("\n"), err
    assert "in.parquet, rows 0..2: cannot read (Couldn't deserialize thrift: " in err


def test_inputs_that_are_not_what_they_seem_are_one_line_each(tmp_path, capsys) -> None:
    (tmp_path / "saved").mkdir()
    (tmp_path / "saved" / "state.json").write_text('{"_data_files": [')  # an interrupted save_to_disk
    (tmp_path / "docs.json").write_text(json.dumps([{"text": "one"}, {"text": "two"}], indent=1))
    for path, message in [
        ("saved", "saved/state.json: not a valid `Dataset.save_to_disk` state file (Expecting value: line 1"),
        ("docs.json", "docs.json: a JSON array; encode-dataset reads JSONL, one JSON object a line"),
    ]:
        assert main(["encode-dataset", str(tmp_path / path), "--out", str(tmp_path / "out"), "-q"]) == 2
        err = capsys.readouterr().err
        assert len(err.splitlines()) == 1 and err.startswith("tokun: error: ") and message in err, err
    # the same documents one object a line, in a .json file, are read as JSONL
    (tmp_path / "docs.json").write_text('{"text": "one"}\n{"text": "two"}\n')
    assert main(["encode-dataset", str(tmp_path / "docs.json"), "--out", str(tmp_path / "out"), "-q"]) == 0
    assert [s.ids.tolist() for s in shards.iter_shards(tmp_path / "out")] == [[0, 1]]


def test_an_input_edited_in_place_is_not_resumed(tmp_path, capsys) -> None:
    src = write_jsonl(tmp_path / "in.jsonl", DOCS)
    args = ["encode-dataset", src, "--out", str(tmp_path / "out"), "--shard-docs", "8", "-q"]
    assert main(args) == 0
    (tmp_path / "out" / "part-00001.parquet").unlink()  # as if interrupted
    before = os.stat(src)
    text = (tmp_path / "in.jsonl").read_text(encoding="utf-8")
    (tmp_path / "in.jsonl").write_text(text.replace('"n": 1', '"n": 7'), encoding="utf-8")  # the same size
    os.utime(src, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    assert os.stat(src).st_size == before.st_size
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "in.jsonl has changed since" in err and "give another --out, or delete" in err
    assert not (tmp_path / "out" / "part-00001.parquet").exists()


def test_the_job_names_absolute_paths_for_other_machines(tmp_path, monkeypatch, tok: Tokenizer) -> None:
    from tokun.core import checkpoint

    monkeypatch.chdir(tmp_path)
    (tmp_path / "m").symlink_to(checkpoint.weights_root() / "4x16")
    write_jsonl(tmp_path / "in.jsonl", DOCS[:3])
    jobs = []

    def runner(job, todo):  # what a Ray actor is given
        jobs.append(job)
        return (job.run(tok, name) for name in todo)

    encode_dataset(Tokenizer.load("m"), ["in.jsonl"], "out", runner=runner)
    encode_dataset(tok, ["in.jsonl"], "out2", runner=runner)
    assert [(j.out, j.model) for j in jobs] == [
        (str(tmp_path.resolve() / "out"), str((tmp_path / "m").resolve())),
        (str(tmp_path.resolve() / "out2"), "4x16"),  # a shipped model: its name, found on every node
    ]
    assert jobs[0].inputs[0].path == str(tmp_path.resolve() / "in.jsonl")
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text(encoding="utf-8"))
    assert manifest["model"] == str((tmp_path / "m").resolve())  # decode-dataset finds it from any folder


def test_an_unreachable_ray_address_fails_at_once(tmp_path, capsys) -> None:
    import time

    src = write_jsonl(tmp_path / "in.jsonl", DOCS[:3])
    start = time.monotonic()
    assert main(["encode-dataset", src, "--out", str(tmp_path / "out"), "--ray", "127.0.0.1:1", "-q"]) == 2
    assert time.monotonic() - start < 10
    err = capsys.readouterr().err
    assert err.startswith("tokun: error: --ray 127.0.0.1:1: cannot connect (") and len(err.splitlines()) == 1, err


def test_every_source_column_comes_back_cell_for_cell(tmp_path, tok: Tokenizer) -> None:
    """Extra columns of several types, nulls among them, through shards and back: the decoded rows are the source's."""
    n = len(DOCS)
    source = pa.table(
        {
            "n": pa.array(range(n), pa.int64()),
            "text": DOCS,
            "lang": [f"l{i % 3}" if i % 5 else None for i in range(n)],
            "tags": [[f"t{i}", "x"] if i % 4 else None for i in range(n)],
            "score": [i / 7 if i % 3 else None for i in range(n)],
        }
    )
    pq.write_table(source.slice(0, 11), tmp_path / "a.parquet", row_group_size=4)
    pq.write_table(source.slice(11), tmp_path / "b.parquet", row_group_size=5)
    paths = [str(tmp_path / "a.parquet"), str(tmp_path / "b.parquet")]
    encode_dataset(tok, paths, str(tmp_path / "s"), shard_docs=3)
    decode_dataset(tok, str(tmp_path / "s"), str(tmp_path / "back.parquet"))
    back = pq.read_table(tmp_path / "back.parquet")
    assert back.column_names == ["id", "text", "n", "lang", "tags", "score"]
    assert back.column("id").to_pylist() == list(range(n))
    assert back.select(source.column_names).equals(source)  # types and every cell, nulls included, in order
    assert not (tmp_path / "back.parquet.parts").exists()
    # --columns: these, in this order
    columns = ["--columns", "tags", "text", "-q"]
    assert main(["decode-dataset", str(tmp_path / "s"), "--out", str(tmp_path / "c.parquet"), *columns]) == 0
    assert pq.read_table(tmp_path / "c.parquet").equals(source.select(["tags", "text"]))
    with pytest.raises(InputError, match=r"--columns: no column 'nope' \(columns: id, text, n, lang, tags, score\)"):
        decode_dataset(tok, str(tmp_path / "s"), str(tmp_path / "d.parquet"), columns=["nope"])
    assert not (tmp_path / "d.parquet").exists() and not (tmp_path / "d.parquet.parts").exists()  # refused first
    with pytest.raises(InputError, match="cannot write .*/no/d.parquet: folder .*/no does not exist"):
        decode_dataset(tok, str(tmp_path / "s"), str(tmp_path / "no" / "d.parquet"))


def test_jsonl_fields_and_a_source_id_come_back(tmp_path, tok: Tokenizer) -> None:
    """JSONL's other fields, present in some lines only, become columns (null where absent); a source column named
    id is the source's."""
    records = [{"id": f"doc-{i}", "text": d} | ({"meta": {"k": i}} if i % 2 else {}) for i, d in enumerate(DOCS)]
    (tmp_path / "in.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records))
    encode_dataset(tok, [str(tmp_path / "in.jsonl")], str(tmp_path / "s"), shard_docs=4)  # shard 0: meta on some
    decode_dataset(tok, str(tmp_path / "s"), str(tmp_path / "back.parquet"))
    back = pq.read_table(tmp_path / "back.parquet")
    assert back.column_names == ["id", "text", "meta"]
    assert back.to_pylist() == [{"id": r["id"], "text": r["text"], "meta": r.get("meta")} for r in records]


def test_a_field_of_mixed_types_is_one_error_line(tmp_path, capsys) -> None:
    (tmp_path / "in.jsonl").write_text('{"text": "a", "n": 1}\n{"text": "b", "n": "two"}\n')
    assert main(["encode-dataset", str(tmp_path / "in.jsonl"), "--out", str(tmp_path / "out"), "-q"]) == 2
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1 and "in.jsonl, lines 1..2: a field of mixed types cannot be kept" in err, err


def test_shards_written_before_the_source_column_still_decode(tmp_path, tok: Tokenizer) -> None:
    """A shard without the ``source`` column (the first format) decodes to id and text."""
    src = write_parquet(tmp_path / "in.parquet", DOCS[:5])
    encode_dataset(tok, [src], str(tmp_path / "s"))
    shard = tmp_path / "s" / "part-00000.parquet"
    table = pq.read_table(shard)
    assert "source" in table.column_names
    pq.write_table(table.drop_columns(["source"]), shard)
    decode_dataset(tok, str(tmp_path / "s"), str(tmp_path / "back.parquet"))
    assert pq.read_table(tmp_path / "back.parquet").to_pydict() == {"id": list(range(5)), "text": DOCS[:5]}


def interrupt(args: list[str], cwd, done) -> tuple[int, str]:
    """``tokun ARGS`` in a subprocess, sent SIGINT once ``done()`` is true; its status and stderr."""
    import signal
    import subprocess
    import sys
    import time

    env = os.environ | {"PYTHONPATH": str(ROOT / "src"), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "tokun", *args, "--threads", "1", "-q"], cwd=cwd, env=env, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while not done() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    return proc.returncode, err.decode()


def run_in(folder, words: list[str]) -> int:
    """``tokun WORDS`` run in ``folder`` with one torch thread, as the interrupted subprocesses ran (the float
    latents' last bits depend on the thread count)."""
    import torch

    threads = torch.get_num_threads()
    os.chdir(folder)
    try:
        return main([*words, "--threads", "1", "-q"])
    finally:
        os.chdir(ROOT)
        torch.set_num_threads(threads)


@pytest.mark.slow
def test_an_interrupt_says_what_is_kept_and_the_command_resumes_it(tmp_path) -> None:
    import shlex

    docs = ["\n\n".join(DOCS * 12)] * 24  # 24 documents of 16,450 characters, 2 a shard
    pq.write_table(pa.table({"text": docs, "k": range(24)}), tmp_path / "in.parquet")
    args = ["in.parquet", "--out", "s", "--shard-docs", "2"]
    assert run_in(tmp_path, ["encode-dataset", "in.parquet", "--out", "whole", "--shard-docs", "2"]) == 0

    shard = tmp_path / "s" / "part-00001.parquet"
    status, err = interrupt(["encode-dataset", *args], tmp_path, shard.exists)
    kept = sorted(p.name for p in (tmp_path / "s").glob("part-*.parquet"))
    assert status == 130 and 2 <= len(kept) < 12, (status, err)
    rerun = "tokun encode-dataset in.parquet --out s --shard-docs 2"
    said = f"tokun: interrupted: {len(kept)} of 12 shards in s are finished and kept; to continue, run: {rerun}\n"
    assert err == said
    assert not [p for p in (tmp_path / "s").iterdir() if p.name.startswith(".")]  # no half-written shard
    assert run_in(tmp_path, shlex.split(rerun)[1:]) == 0
    for name in sorted(p.name for p in (tmp_path / "whole").iterdir()):  # as if never interrupted, byte for byte
        assert (tmp_path / "s" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes(), name

    parts = tmp_path / "back.parquet.parts"
    status, err = interrupt(["decode-dataset", "s", "--out", "back.parquet"], tmp_path, (parts / shard.name).exists)
    kept = sorted(p.name for p in parts.glob("part-*.parquet"))
    assert status == 130 and 2 <= len(kept) < 12, (status, err)
    rerun = "tokun decode-dataset s --out back.parquet"
    assert err == (
        f"tokun: interrupted: {len(kept)} of 12 shards decoded into back.parquet.parts are finished and kept; "
        f"to continue, run: {rerun}\n"
    )
    assert not (tmp_path / "back.parquet").exists()
    assert run_in(tmp_path, shlex.split(rerun)[1:]) == 0
    back = pq.read_table(tmp_path / "back.parquet")
    assert back.to_pydict() == {"id": list(range(24)), "text": docs, "k": list(range(24))} and not parts.exists()
