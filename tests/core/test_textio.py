import errno
import os

import pytest

from tokun.core import textio as files
from tokun.core.errors import InputError


def test_atomic_output_replaces_on_success(tmp_path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with files.atomic_output(target) as fh:
        fh.write(b"new content")
    assert target.read_bytes() == b"new content"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_interruption_keeps_previous_content(tmp_path) -> None:
    target = tmp_path / "out.bin"
    target.write_bytes(b"old")
    with pytest.raises(KeyboardInterrupt):
        with files.atomic_output(target) as fh:
            fh.write(b"half of the ne")
            raise KeyboardInterrupt
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_full_disk_leaves_nothing(tmp_path, monkeypatch) -> None:
    target = tmp_path / "out.bin"

    def no_space(fd: int) -> None:
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    with pytest.raises(InputError, match="No space left on device; nothing was written"):
        with files.atomic_output(target) as fh:
            fh.write(b"data")
    assert os.listdir(tmp_path) == []


def test_unwritable_targets(tmp_path) -> None:
    with pytest.raises(InputError, match="does not exist"):
        with files.atomic_output(tmp_path / "missing" / "x"):
            pass
    with pytest.raises(InputError, match="is a directory"):
        with files.atomic_output(tmp_path):
            pass


def test_read_text_errors(tmp_path, monkeypatch) -> None:
    with pytest.raises(InputError, match="no such file"):
        files.read_text(tmp_path / "nope.txt")
    with pytest.raises(InputError, match="is a directory"):
        files.read_text(tmp_path)
    (tmp_path / "bad.txt").write_bytes(b"ok\xc3(")
    with pytest.raises(InputError, match="bad.txt: not valid UTF-8 at byte 2"):
        files.read_text(tmp_path / "bad.txt")
    assert files.read_text(tmp_path / "bad.txt", errors="replace") == "ok\ufffd("
    secret = tmp_path / "secret.txt"
    secret.write_text("x")

    def denied(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied")

    monkeypatch.setattr("builtins.open", denied)  # root ignores chmod: simulate an unreadable file
    with pytest.raises(InputError, match="permission denied"):
        files.read_text(secret)


def test_bom_is_kept(tmp_path) -> None:
    (tmp_path / "bom.txt").write_bytes(b"\xef\xbb\xbfhello")
    assert files.read_text(tmp_path / "bom.txt") == "\ufeffhello"


def test_text_files_expands_folders(tmp_path) -> None:
    (tmp_path / "a.txt").write_text("a")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "b.txt").write_text("b")
    (tmp_path / "c.md").write_text("c")
    assert [p.name for p in files.text_files([tmp_path])] == ["a.txt", "b.txt"]
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no \\*.txt files"):
        files.text_files([tmp_path / "empty"])


def test_outputs_get_the_permissions_of_a_plain_open(tmp_path) -> None:
    old = os.umask(0o022)
    try:
        with files.atomic_output(tmp_path / "out.bin") as fh:
            fh.write(b"x")
        assert (tmp_path / "out.bin").stat().st_mode & 0o777 == 0o644  # readable by others, as open() makes it
    finally:
        os.umask(old)
