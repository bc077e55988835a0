"""Files of any size in bounded memory: text file <-> safetensors file of latents, chunk by chunk.

``encode_file`` reads the UTF-8 input twice: a first pass validates it and counts characters
(the safetensors header states the tensor's shape up front), a second one encodes chunks of
``chunk_chars`` characters (a multiple of the block size) and appends their latents to the
output. ``decode_file`` reads the latents slice by slice. Outputs go to a temporary file that is
renamed at the end: on any error or interruption the previous output, or nothing, is left.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import json
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

import numpy as np
import torch
from tqdm import tqdm

from ..core import checkpoint, codec
from ..core.errors import InputError
from ..core.textio import atomic_output, open_binary
from ..core.version import __version__
from ..decoding.tokenizer import Tokenizer

LATENTS = "latents"
READ_BYTES = 1 << 22  # 4 MiB of UTF-8 per read


@contextlib.contextmanager
def open_input(path: str) -> Iterator[tuple[BinaryIO, int]]:
    """A binary file object and its size; stdin is spooled to a temporary file first (two passes)."""
    if path == "-":
        with tempfile.TemporaryFile() as spool:
            shutil.copyfileobj(sys.stdin.buffer, spool, 1 << 20)
            size = spool.tell()
            yield spool, size
        return
    with open_binary(path) as fh:
        yield fh, os.fstat(fh.fileno()).st_size


def iter_text(fh: BinaryIO, *, errors: str, name: str) -> Iterator[tuple[str, int]]:
    """Decoded UTF-8 pieces of ``fh`` and the bytes each consumed; InputError names a bad byte's offset."""
    fh.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")(errors=errors)
    offset = 0
    while True:
        data = fh.read(READ_BYTES)
        final = not data
        pending = len(decoder.getstate()[0])
        try:
            text = decoder.decode(data, final=final)
        except UnicodeDecodeError as err:
            head = data[:2] if offset == 0 else b""
            error = codec.utf8_error(offset - pending + err.start, err.object[err.start], head)
            raise InputError(f"{name}: {error}") from None
        offset += len(data)
        yield text, len(data)
        if final:
            return


def count_chars(fh: BinaryIO, *, errors: str, name: str) -> int:
    return sum(len(text) for text, _ in iter_text(fh, errors=errors, name=name))


def chunks(fh: BinaryIO, size: int, *, errors: str, name: str, chunk_chars: int, progress: bool) -> Iterator[str]:
    """The text in pieces of exactly ``chunk_chars`` characters (the last one shorter)."""
    buf = ""
    with tqdm(total=size, unit="B", unit_scale=True, disable=not progress, desc="encode", leave=False) as bar:
        for text, used in iter_text(fh, errors=errors, name=name):
            buf += text
            while len(buf) >= chunk_chars:
                yield buf[:chunk_chars]
                buf = buf[chunk_chars:]
            bar.update(used)
    if buf:
        yield buf


def safetensors_header(rows: int, dim: int, metadata: dict[str, str]) -> bytes:
    """Header of a safetensors file holding one float32 tensor ``latents`` of shape (rows, dim)."""
    header = {
        LATENTS: {"dtype": "F32", "shape": [rows, dim], "data_offsets": [0, rows * dim * 4]},
        "__metadata__": metadata,
    }
    raw = json.dumps(header, separators=(",", ":")).encode()
    raw += b" " * (-len(raw) % 8)  # align the data to 8 bytes
    return len(raw).to_bytes(8, "little") + raw


def encode_file(
    tok: Tokenizer, src: str, dst: str, *, errors: str = "strict", chunk_chars: int = 1 << 18, progress: bool = False
) -> tuple[int, int]:
    """Encode a UTF-8 file (``-``: stdin) into a safetensors file of latents; (characters, latents)."""
    chunk_chars -= chunk_chars % tok.block_chars
    name = "stdin" if src == "-" else src
    with open_input(src) as (fh, size):
        n = count_chars(fh, errors=errors, name=name)
        rows = -(-n // tok.block_chars)
        metadata = {
            "chars": str(n),
            "model": tok.name,
            "model_sha256": tok.fingerprint,
            "block_chars": str(tok.block_chars),
            "tokun_version": __version__,
        }
        with atomic_output(dst) as out:
            out.write(safetensors_header(rows, tok.latent_dim, metadata))
            for piece in chunks(fh, size, errors=errors, name=name, chunk_chars=chunk_chars, progress=progress):
                latents = tok.encode(piece)  # (n_i, L) float32
                out.write(latents.numpy().astype("<f4", copy=False).tobytes())
    return n, rows


# safetensors dtypes a latents file may hold, and how to read them
DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "F64": torch.float64}


@dataclasses.dataclass(frozen=True)
class LatentsFile:
    """Where the latents tensor of a safetensors file lies, read from its header alone (no memory map:
    a latents file can be larger than memory, 64 bytes per character of text)."""

    path: str
    metadata: dict[str, str]
    shape: tuple[int, ...]
    dtype: torch.dtype
    offset: int  # byte offset of the tensor's data in the file

    def rows(self, start: int, stop: int) -> torch.Tensor:
        """Rows ``start:stop`` as ``(stop - start, width)`` float32, read with plain file reads: memory
        stays one chunk, where a memory map would keep every page read in RSS."""
        width = self.shape[1]
        item = self.dtype.itemsize
        buf = bytearray((stop - start) * width * item)
        with open(self.path, "rb") as f:
            f.seek(self.offset + start * width * item)
            if f.readinto(buf) != len(buf):
                raise InputError(f"{self.path} is truncated (rows {start}..{stop - 1} are missing)")
        if not buf:
            return torch.empty(0, width)
        return torch.frombuffer(buf, dtype=self.dtype).reshape(stop - start, width).float()


def read_latents_meta(path: str) -> LatentsFile:
    """Read a latents file's safetensors header. Clear errors for anything that is not one."""
    if path == "-":
        raise InputError("decode reads a safetensors file, not stdin: give its path")
    p = Path(path)
    if p.is_dir():
        raise InputError(f"{p} is a directory, not a safetensors file")
    if not p.exists():
        raise InputError(f"{p}: no such file")
    not_ours = f"{p} is not a safetensors file written by `tokun encode`"
    try:
        size = p.stat().st_size
        with open(p, "rb") as f:
            header_len = int.from_bytes(f.read(8), "little")
            if size < 8 or not 2 <= header_len <= min(size - 8, 100_000_000):
                raise InputError(f"{not_ours} (no valid header)")
            header = json.loads(f.read(header_len))
    except PermissionError:
        raise InputError(f"{p}: permission denied") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise InputError(f"{not_ours} (header: {err})") from None
    if not isinstance(header, dict):
        raise InputError(f"{not_ours} (header is not a JSON object)")
    metadata = header.pop("__metadata__", None) or {}
    entry = header.get(LATENTS)
    if not isinstance(entry, dict):
        raise InputError(f"{p} holds no tensor named '{LATENTS}' (found: {', '.join(header) or 'none'})")
    try:
        dtype = DTYPES[entry["dtype"]]
        shape = tuple(int(n) for n in entry["shape"])
        first, last = (int(n) for n in entry["data_offsets"])
    except KeyError:
        kinds = ", ".join(DTYPES)
        raise InputError(f"{p}: latents must be floating point ({kinds}), got dtype {entry.get('dtype')!r}") from None
    except (TypeError, ValueError):
        raise InputError(f"{not_ours} (malformed entry for '{LATENTS}': {entry})") from None
    need = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if last - first != need or 8 + header_len + last > size:
        raise InputError(f"{not_ours} (the latents' data does not match their shape {shape}: truncated?)")
    return LatentsFile(str(p), {str(k): str(v) for k, v in metadata.items()}, shape, dtype, 8 + header_len + first)


def decode_file(tok: Tokenizer, src: str, dst: str, *, chunk_rows: int = 1 << 16, progress: bool = False) -> int:
    """Decode a latents file from :func:`encode_file` into UTF-8 text; the number of characters."""
    latents = read_latents_meta(src)
    meta, shape = latents.metadata, latents.shape
    made_by = meta.get("model_sha256")
    if made_by and tok.fingerprint and made_by != tok.fingerprint:
        model = checkpoint.shipped_with_fingerprint(made_by) or meta.get("model", "?")
        was = f" (shipped now as {model!r})" if model != meta.get("model") else ""
        raise InputError(
            f"{src} was encoded by model {meta.get('model', '?')!r}{was}, not by these weights ({tok.name!r}): "
            f"decode it with --model {model}"
        )
    if len(shape) != 2 or shape[1] != tok.latent_dim:
        raise InputError(f"latents must have shape (N, {tok.latent_dim}) for model {tok.name!r}, got {shape}")
    rows = shape[0]
    length = rows * tok.block_chars
    if "chars" in meta:
        try:
            length = int(meta["chars"])
        except ValueError:
            raise InputError(f"{src}: metadata 'chars' is not an integer ({meta['chars']!r})") from None
        if not (rows - 1) * tok.block_chars < length <= rows * tok.block_chars and not (length == rows == 0):
            raise InputError(
                f"{src}: metadata says {length} characters but the tensor holds {rows} latents "
                f"({tok.block_chars} characters each)"
            )
    with (
        atomic_output(dst) as out,
        tqdm(total=rows, unit="latent", disable=not progress, desc="decode", leave=False) as bar,
    ):
        for start in range(0, rows, chunk_rows):
            stop = min(rows, start + chunk_rows)
            z = latents.rows(start, stop)  # (n, L)
            try:
                text = tok.decode(z, length=min(length, stop * tok.block_chars) - start * tok.block_chars)
            except InputError as err:
                raise InputError(f"{src}: {err} (in rows {start}..{stop - 1})") from None
            out.write(text.encode("utf-8"))
            bar.update(stop - start)
    return length
