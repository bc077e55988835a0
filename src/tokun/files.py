"""Reading text files and writing outputs atomically (temporary file + rename: never half a file)."""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

from . import codec
from .errors import InputError


def read_text(path: str | Path, *, errors: str = "strict") -> str:
    """A UTF-8 file's text, with clear errors for missing, unreadable or non-UTF-8 files."""
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p} is a directory, not a text file")
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError(f"{p}: no such file") from None
    except PermissionError:
        raise InputError(f"{p}: permission denied") from None
    except OSError as err:
        raise InputError(f"{p}: cannot read ({err.strerror})") from None
    try:
        return codec.decode_utf8(data, errors=errors)
    except InputError as err:
        raise InputError(f"{p}: {err}") from None


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


def read_input(path: str, *, errors: str = "strict") -> str:
    """A UTF-8 file's text, or stdin's for ``-``."""
    if path == "-":
        try:
            return codec.decode_utf8(sys.stdin.buffer.read(), errors=errors)
        except InputError as err:
            raise InputError(f"stdin: {err}") from None
    return read_text(path, errors=errors)


def atomic_write(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file in the same folder, then rename.

    On any failure (unwritable folder, full disk, interruption) the previous content of ``path``,
    or nothing, is left, and the temporary file is removed.
    """
    target = Path(path)
    folder = target.parent if str(target.parent) else Path(".")
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
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException as err:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if isinstance(err, OSError):
            raise InputError(f"cannot write {target}: {err.strerror}; nothing was written") from None
        raise


def write_output(path: str, data: bytes) -> None:
    """Write to a file atomically, or to stdout for ``-``."""
    if path == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
    else:
        atomic_write(path, data)
