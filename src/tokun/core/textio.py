"""Opening inputs with clear errors, and writing outputs atomically (temporary file + rename)."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from . import codec
from .errors import InputError


@contextlib.contextmanager
def open_binary(path: str | Path) -> Iterator[BinaryIO]:
    """A file opened for reading in binary, with one-line errors for the usual mistakes."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p} is a directory, not a text file")
    try:
        fh = open(p, "rb")
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except PermissionError:
        raise InputError(f"{p}: permission denied") from None
    except OSError as err:
        raise InputError(f"{p}: cannot read ({err.strerror})") from None
    with fh:
        yield fh


def read_text(path: str | Path, *, errors: str = "strict", remedy: str = codec.REPLACE_REMEDY) -> str:
    """A UTF-8 file's whole text (a UTF-8 BOM is kept as U+FEFF, so the bytes round-trip); ``remedy`` ends the
    error for invalid UTF-8 (:func:`tokun.core.codec.utf8_error`)."""
    with open_binary(path) as fh:
        data = fh.read()
    try:
        return codec.decode_utf8(data, errors=errors, remedy=remedy)
    except InputError as err:
        raise InputError(f"{path}: {err}") from None


def text_files(paths: list[str | Path]) -> list[Path]:
    """Files named, plus every ``*.txt`` below the folders named, sorted."""
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(path.rglob("*.txt"))
            if not found:
                raise InputError(f"{path}: no *.txt files in this folder")
            out.extend(found)
        else:
            out.append(path)
    return out


def read_corpus(paths: list[str | Path], *, example: str) -> str:
    """The texts of ``paths`` (files, folders of ``*.txt``) joined by newlines; ``example`` (a command line) ends the
    error when no path is given."""
    if not paths:
        raise InputError(f"give text files or folders, e.g. {example}")
    return "\n".join(read_text(p) for p in text_files(list(paths)))


def current_umask() -> int:
    """The process's file-mode creation mask (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_output(path: str | Path) -> Iterator[BinaryIO]:
    """A binary file object writing to ``path`` through a temporary file renamed at the end (``-``: stdout).

    On any failure (unwritable folder, full disk, interruption) the previous content of ``path``,
    or nothing, is left, and the temporary file is removed.
    """
    if str(path) == "-":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    target = Path(path)
    folder = target.parent
    if not folder.is_dir():
        raise InputError(f"cannot write {target}: folder {folder} does not exist")
    if target.is_dir():
        raise InputError(f"cannot write {target}: it is a directory")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise InputError(f"cannot write {target}: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~current_umask())  # mkstemp's 0600 -> what open() would have made
        os.replace(tmp, target)
    except BaseException as err:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        if isinstance(err, OSError):
            raise InputError(f"cannot write {target}: {err.strerror}; nothing was written") from None
        raise
