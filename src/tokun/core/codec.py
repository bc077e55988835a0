"""Text <-> UTF-32-BE bytes, cut into fixed-size blocks. Pure numpy, no torch.

Every character is 4 bytes (UTF-32-BE), so ``block_chars`` characters make one row of
``4 * block_chars`` bytes; the last row is padded with U+0000. Decoding takes the original
character count so that text which itself ends in U+0000 comes back exactly.

>>> rows = encode("héllo", block_chars=4)
>>> rows.shape, rows.dtype
((2, 16), dtype('uint8'))
>>> decode(rows, length=5)
'héllo'
"""

from __future__ import annotations

import numpy as np

from .errors import InputError

MAX_CODEPOINT = 0x10FFFF
REPLACEMENT = 0xFFFD
SURROGATES = (0xD800, 0xDFFF)


def to_codepoints(text: str) -> np.ndarray:
    """Codepoints of ``text`` as a ``(len(text),)`` uint32 array.

    Raises InputError naming the position of a lone surrogate (it has no UTF-32 encoding).
    """
    try:
        data = text.encode("utf-32-be")
    except UnicodeEncodeError as err:
        raise InputError(
            f"lone surrogate U+{ord(text[err.start]):04X} at character {err.start}: "
            "half of a UTF-16 pair is not a character; "
            "remove it or replace it with U+FFFD"
        ) from None
    return np.frombuffer(data, dtype=">u4").astype(np.uint32)


def from_codepoints(codepoints: np.ndarray) -> str:
    """Text from codepoints; values that are not Unicode scalar values become U+FFFD."""
    cps = np.asarray(codepoints).astype(np.uint32, copy=True).reshape(-1)
    invalid = (cps > MAX_CODEPOINT) | ((cps >= SURROGATES[0]) & (cps <= SURROGATES[1]))
    cps[invalid] = REPLACEMENT
    return cps.astype(">u4").tobytes().decode("utf-32-be")


def pad_codepoints(codepoints: np.ndarray, block_chars: int) -> np.ndarray:
    """``(n,)`` codepoints -> ``(N, block_chars)``, N = ceil(n / block_chars), padded with 0."""
    n = len(codepoints)
    rows = -(-n // block_chars)
    out = np.zeros(rows * block_chars, dtype=np.uint32)
    out[:n] = codepoints
    return out.reshape(rows, block_chars)  # (N, C)


def codepoints_to_bytes(codepoints: np.ndarray) -> np.ndarray:
    """``(..., C)`` codepoints -> ``(..., 4C)`` uint8, big-endian."""
    cps = np.ascontiguousarray(codepoints, dtype=">u4")
    return cps.view(np.uint8).reshape(*cps.shape[:-1], cps.shape[-1] * 4)  # (..., 4C)


def bytes_to_codepoints(data: np.ndarray) -> np.ndarray:
    """``(..., 4C)`` uint8 -> ``(..., C)`` uint32 codepoints (not validated)."""
    arr = np.ascontiguousarray(data, dtype=np.uint8)
    if arr.shape[-1] % 4:
        raise InputError(f"byte rows must hold whole UTF-32 characters (a multiple of 4), got {arr.shape[-1]}")
    return arr.view(">u4").astype(np.uint32)  # (..., C)


def encode(text: str, *, block_chars: int = 16) -> np.ndarray:
    """Text -> ``(N, 4 * block_chars)`` uint8 rows of UTF-32-BE bytes, the last padded with zeros."""
    return codepoints_to_bytes(pad_codepoints(to_codepoints(text), block_chars))


def decode(data: np.ndarray, *, length: int | None = None) -> str:
    """``(N, 4C)`` uint8 rows -> text of ``length`` characters.

    ``length=None`` drops the trailing U+0000 padding (and so any U+0000 the text ended with);
    pass the original length to get it back exactly. Invalid codepoints become U+FFFD.
    """
    cps = bytes_to_codepoints(data).reshape(-1)
    if length is None:
        nonzero = np.flatnonzero(cps)
        length = int(nonzero[-1]) + 1 if len(nonzero) else 0
    elif not 0 <= length <= len(cps):
        raise InputError(f"length {length} out of range: the rows hold {len(cps)} characters")
    return from_codepoints(cps[:length])


REPLACE_REMEDY = "use --errors replace to substitute U+FFFD"


def utf8_error(offset: int, bad_byte: int, head: bytes, *, remedy: str = REPLACE_REMEDY) -> InputError:
    """The error for invalid UTF-8 at byte ``offset``; ``head`` (the input's first bytes) adds a UTF-16 hint;
    ``remedy`` ends the message (the default names the ``--errors`` option of the commands that have one)."""
    hint = ""
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        hint = " (it starts with a UTF-16 byte-order mark: convert it with `iconv -f UTF-16 -t UTF-8`)"
    return InputError(f"not valid UTF-8 at byte {offset} (0x{bad_byte:02x}){hint}; {remedy}")


def decode_utf8(data: bytes, *, errors: str = "strict", remedy: str = REPLACE_REMEDY) -> str:
    """UTF-8 bytes -> text; with ``errors='strict'`` an InputError names the first bad byte offset (and ``remedy``)."""
    try:
        return data.decode("utf-8", errors=errors)
    except UnicodeDecodeError as err:
        raise utf8_error(err.start, data[err.start], data[:2], remedy=remedy) from None
