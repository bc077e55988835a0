"""Corpus splits: every line lands once, in train or val."""

from tokun.core import splits


def test_write_split_keeps_every_line_once(tmp_path) -> None:
    src = tmp_path / "corpora"
    src.mkdir()
    lines = [f"line {i} ü" for i in range(25)]
    (src / "xx.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    splits.write_split(src, tmp_path / "split")
    train = (tmp_path / "split" / "train" / "xx.txt").read_text(encoding="utf-8").splitlines()
    val = (tmp_path / "split" / "val" / "xx.txt").read_text(encoding="utf-8").splitlines()
    assert val == [lines[0], lines[10], lines[20]]
    assert sorted(train + val) == sorted(lines)
    splits.write_split(src, tmp_path / "tail", tail=True)
    train = (tmp_path / "tail" / "train" / "xx.txt").read_text(encoding="utf-8").splitlines()
    val = (tmp_path / "tail" / "val" / "xx.txt").read_text(encoding="utf-8").splitlines()
    assert (train, val) == (lines[:23], lines[23:])


def test_split_three_is_disjoint_and_keeps_every_line_once() -> None:
    lines = [f"line {i}" for i in range(95)]
    train, tune, test = splits.split_three("\n".join(lines))
    parts = [train.splitlines(), tune.splitlines(), test.splitlines()]
    assert sorted(sum(parts, []), key=lambda s: int(s.split()[1])) == lines  # every line once
    assert not (set(parts[0]) & set(parts[1]) or set(parts[0]) & set(parts[2]) or set(parts[1]) & set(parts[2]))
    assert tune == splits.split_lines("\n".join(lines))[1]  # tune holds the lines split_lines holds out
    assert [len(p) for p in parts] == [76, 10, 9]  # tune: lines 0, 10 .. 90; test: 5, 15 .. 85
