"""tokun's byte blocks as a ``transformers`` tokenizer: ``TokunTokenizer``, a ``PreTrainedTokenizer``.

tokun has no vocabulary: text is cut into blocks of ``block_chars`` characters (16 for the shipped ``4x16``),
``block_bytes = 4 * block_chars`` UTF-32-BE bytes each, which the encoder turns into one latent. The tokenizer
hands those bytes to a model:

    input_ids       (batch, blocks, block_bytes)   byte values 0-255, the last block of a text padded with U+0000
    attention_mask  (batch, blocks)                1 for a block holding text, 0 for a padding block

``return_tensors="pt"`` gives exactly the encoder's input: ``model.encoder(enc["input_ids"])`` is
``(batch, blocks, 256)``, one position per block. Padding and truncation count whole blocks (``max_length`` is in
blocks, the positions the model sees); padding is on the right (zero blocks, mask 0). ``decode`` takes one text's
ids, ``(blocks, block_bytes)`` or flattened to ``(blocks * block_bytes,)``, and ``batch_decode`` (or ``decode`` of a
3-d array) a batch; like :meth:`tokun.Tokenizer.decode`, trailing U+0000 is dropped unless the text's ``length``
(characters) is given: ``decode(ids, length=n)``, ``batch_decode(ids, lengths=[...])``. ``pad`` (and so
``DataCollatorWithPadding``) pads a batch of encodings the same way: zero blocks, mask 0, ``pad_to_multiple_of`` in
blocks.

The vocabulary is the 256 byte values; the token of byte ``b`` is the character ``chr(b)``. Special tokens are the
control characters tokun treats as ordinary characters (4 bytes each in the ids): U+0002 start of text
(``bos_token``), U+0003 end of text (``eos_token``), U+001E record separator (``sep_token``, between a pair), U+0000
(``pad_token``) and U+001C, U+001D, U+001F (``extra_special_tokens``). Their ``*_token_id`` is their codepoint, the
last of their 4 bytes. ``prepend_bos`` / ``append_eos`` (default off: the ids are then exactly tokun's blocks)
wrap each text when ``add_special_tokens``.

``AutoTokenizer.from_pretrained(dir)`` finds the class once :func:`register` has run (importing this module runs it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from transformers import AutoConfig, AutoTokenizer, BatchEncoding, PreTrainedConfig, PreTrainedTokenizer
from transformers.tokenization_utils_base import TruncationStrategy
from transformers.utils import PaddingStrategy, TensorType, to_py_obj

from ..core import checkpoint, codec
from ..core.config import BYTES_PER_CHAR
from ..core.model import BYTE_VALUES

BOS, EOS, SEP, PAD = "\x02", "\x03", "\x1e", "\x00"
SEPARATORS = ["\x1c", "\x1d", "\x1f"]  # file, group and unit separators (U+001E is sep_token)


class TokunConfig(PreTrainedConfig):
    """The ``transformers`` configuration that :func:`register` ties ``TokunTokenizer`` to (model type ``tokun``)."""

    model_type = "tokun"


class TokunTokenizer(PreTrainedTokenizer):
    """tokun's UTF-32-BE byte blocks (module docstring); ``block_chars`` from the model's config
    (:meth:`for_model`)."""

    vocab_files_names: dict[str, str] = {}
    model_input_names = ["input_ids", "attention_mask"]
    padding_side = "right"

    def __init__(
        self,
        block_chars: int = 16,
        prepend_bos: bool = False,
        append_eos: bool = False,
        bos_token: str = BOS,
        eos_token: str = EOS,
        sep_token: str = SEP,
        pad_token: str = PAD,
        extra_special_tokens: list[str] | None = None,
        **kwargs: Any,
    ) -> None:
        self.block_chars = block_chars
        self.prepend_bos = prepend_bos
        self.append_eos = append_eos
        super().__init__(
            block_chars=block_chars,
            prepend_bos=prepend_bos,
            append_eos=append_eos,
            bos_token=bos_token,
            eos_token=eos_token,
            sep_token=sep_token,
            pad_token=pad_token,
            extra_special_tokens=SEPARATORS if extra_special_tokens is None else extra_special_tokens,
            **kwargs,
        )

    @classmethod
    def for_model(cls, model: str | None = None, **kwargs: Any) -> TokunTokenizer:
        """The tokenizer of a shipped model (default ``4x16``) or a model directory: its ``block_chars``."""
        cfg = checkpoint.read_config(checkpoint.resolve(model))
        return cls(block_chars=cfg.block_chars, **kwargs)

    @property
    def block_bytes(self) -> int:
        return BYTES_PER_CHAR * self.block_chars

    # -- the byte vocabulary -------------------------------------------------------------------

    @property
    def vocab_size(self) -> int:
        return BYTE_VALUES

    def get_vocab(self) -> dict[str, int]:
        return {chr(b): b for b in range(BYTE_VALUES)}

    def tokenize(self, text: str, **kwargs: Any) -> list[str]:
        """The byte tokens of ``text``'s UTF-32-BE bytes, 4 per character (no padding); no character is special
        to tokun, so nothing is split off."""
        return [chr(b) for b in codec.codepoints_to_bytes(codec.to_codepoints(text)).tolist()]

    def _convert_token_to_id(self, token: str) -> int:
        if len(token) != 1 or ord(token) >= BYTE_VALUES:
            raise ValueError(f"{token!r} is no byte token: tokun's tokens are the characters U+0000-U+00FF")
        return ord(token)

    def _convert_id_to_token(self, index: int) -> str:
        return chr(index)

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return self._text(np.array([ord(t) for t in tokens], dtype=np.int64), skip_special_tokens=False)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        return ()  # the vocabulary is the 256 byte values: tokenizer_config.json holds everything

    # -- text -> blocks ------------------------------------------------------------------------

    def _compose(self, text: str, pair: str | None, special: bool, limit: int | None) -> str:
        """The characters encoded: ``text`` (and ``pair`` after ``sep_token``), cut to ``limit`` characters with
        the special tokens it gets."""
        if not isinstance(text, str) or not (pair is None or isinstance(pair, str)):
            raise TypeError(f"TokunTokenizer encodes text (str), got {type(text).__name__}")
        head = self.bos_token if special and self.prepend_bos else ""
        tail = self.eos_token if special and self.append_eos else ""
        body = text if pair is None else text + self.sep_token + pair
        if limit is not None:
            body = body[: max(0, limit - len(head) - len(tail))]
        return head + body + tail

    def _encode_plus(  # type: ignore[override]
        self,
        text: str | list[str],
        text_pair: str | list[str] | None = None,
        add_special_tokens: bool = True,
        padding_strategy: PaddingStrategy = PaddingStrategy.DO_NOT_PAD,
        truncation_strategy: TruncationStrategy = TruncationStrategy.DO_NOT_TRUNCATE,
        max_length: int | None = None,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_tensors: str | TensorType | None = None,
        return_attention_mask: bool | None = None,
        return_length: bool = False,
        **kwargs: Any,
    ) -> BatchEncoding:
        """Texts -> whole blocks (module docstring): ``max_length`` and ``pad_to_multiple_of`` count blocks."""
        if (padding_side or self.padding_side) != "right":
            raise ValueError("TokunTokenizer pads on the right only (a block of zeros is U+0000 text on the left)")
        batched = isinstance(text, (list, tuple))
        texts = list(text) if batched else [text]
        pairs = (list(text_pair) if batched else [text_pair]) if text_pair is not None else [None] * len(texts)
        if len(pairs) != len(texts):
            raise ValueError(f"{len(texts)} texts but {len(pairs)} pairs")
        cut = truncation_strategy != TruncationStrategy.DO_NOT_TRUNCATE and max_length is not None
        limit = max_length * self.block_chars if cut else None
        rows = [
            codec.encode(self._compose(t, p, add_special_tokens, limit), block_chars=self.block_chars)
            for t, p in zip(texts, pairs)
        ]  # (N_i, block_bytes) each
        blocks = [len(r) for r in rows]
        target = None
        if padding_strategy == PaddingStrategy.LONGEST:
            target = max(blocks, default=0)
        elif padding_strategy == PaddingStrategy.MAX_LENGTH and max_length is not None:
            target = max_length
        if target is not None and pad_to_multiple_of:
            target = -(-target // pad_to_multiple_of) * pad_to_multiple_of
        ids, masks = [], []
        for r, n in zip(rows, blocks):
            size = n if target is None else max(n, target)
            padded = np.zeros((size, self.block_bytes), dtype=np.int64)
            padded[:n] = r
            ids.append(padded.tolist())
            masks.append([1] * n + [0] * (size - n))
        data: dict[str, Any] = {"input_ids": ids}
        if return_attention_mask is not False:
            data["attention_mask"] = masks
        if return_length:
            data["length"] = blocks
        if not batched:
            data = {k: v[0] for k, v in data.items()}
        return BatchEncoding(data, tensor_type=return_tensors, prepend_batch_axis=not batched and bool(return_tensors))

    def pad(self, encoded_inputs: Any, *args: Any, **kwargs: Any) -> BatchEncoding:  # type: ignore[override]
        """``PreTrainedTokenizer.pad`` over whole blocks (:meth:`_pad`); one text's encoding, whose ``input_ids``
        are ``(blocks, block_bytes)``, is padded as a batch of one (transformers would read its blocks as texts)."""
        ids = encoded_inputs.get(self.model_input_names[0]) if isinstance(encoded_inputs, Mapping) else None
        if ids is not None and len(ids) and np.shape(to_py_obj(ids[0])) == (self.block_bytes,):  # (blocks, bytes)
            out = super().pad({k: [v] for k, v in encoded_inputs.items()}, *args, **kwargs)
            return BatchEncoding({k: v[0] for k, v in out.items()}, tensor_type=None)
        return super().pad(encoded_inputs, *args, **kwargs)

    def _pad(
        self,
        encoded_inputs: dict[str, Any] | BatchEncoding,
        max_length: int | None = None,
        padding_strategy: PaddingStrategy = PaddingStrategy.DO_NOT_PAD,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
    ) -> dict:
        """One text's encoding padded on the right with zero blocks (mask 0) to ``max_length`` blocks, rounded up
        to a multiple of ``pad_to_multiple_of`` blocks: what :meth:`pad` and ``DataCollatorWithPadding`` call."""
        if (padding_side or self.padding_side) != "right":
            raise ValueError("TokunTokenizer pads on the right only (a block of zeros is U+0000 text on the left)")
        blocks = encoded_inputs[self.model_input_names[0]]
        shape = np.shape(blocks)
        if len(blocks) and (len(shape) != 2 or shape[1] != self.block_bytes):
            raise ValueError(f"TokunTokenizer pads (blocks, {self.block_bytes}) byte ids, got shape {shape}")
        n = len(blocks)
        if padding_strategy == PaddingStrategy.LONGEST:
            max_length = n
        if max_length is not None and pad_to_multiple_of:
            max_length = -(-max_length // pad_to_multiple_of) * pad_to_multiple_of
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        if return_attention_mask and "attention_mask" not in encoded_inputs:
            encoded_inputs["attention_mask"] = [1] * n
        extra = 0 if padding_strategy == PaddingStrategy.DO_NOT_PAD or max_length is None else max(0, max_length - n)
        encoded_inputs[self.model_input_names[0]] = list(blocks) + [[0] * self.block_bytes for _ in range(extra)]
        if return_attention_mask:
            encoded_inputs["attention_mask"] = list(encoded_inputs["attention_mask"]) + [0] * extra
        return encoded_inputs

    # -- blocks -> text ------------------------------------------------------------------------

    def _text(self, ids: np.ndarray, *, skip_special_tokens: bool, length: int | None = None) -> str:
        """One text's byte ids, any shape holding whole characters -> the text: its first ``length`` characters, or
        without ``length`` all of them with trailing U+0000 dropped."""
        flat = np.asarray(ids).reshape(-1)
        if flat.size and (flat.min() < 0 or flat.max() >= BYTE_VALUES):
            raise ValueError(f"tokun ids are byte values 0-255, got {flat.min()}..{flat.max()}")
        if length is not None and not 0 <= length <= flat.size // BYTES_PER_CHAR:
            raise ValueError(f"length {length}: the ids hold {flat.size // BYTES_PER_CHAR} characters")
        text = codec.decode(flat.astype(np.uint8).reshape(1, -1), length=length) if flat.size else ""
        if skip_special_tokens:
            text = text.translate(dict.fromkeys(map(ord, self.all_special_tokens)))
        return text

    def decode(  # type: ignore[override]
        self, token_ids: Any, skip_special_tokens: bool = False, length: int | None = None, **kwargs: Any
    ) -> str | list[str]:
        """One text's ids, ``(blocks, block_bytes)`` or flat -> its text; ``(batch, blocks, block_bytes)`` -> texts.
        ``length``: the text's characters (one text), to keep the U+0000 it ends with."""
        ids = np.asarray(to_py_obj(token_ids))
        if ids.ndim == 3:
            if length is not None:
                raise ValueError("decode of a batch takes no length: batch_decode(ids, lengths=[...])")
            return [self._text(seq, skip_special_tokens=skip_special_tokens) for seq in ids]
        return self._text(ids, skip_special_tokens=skip_special_tokens, length=length)

    def batch_decode(  # type: ignore[override]
        self,
        sequences: Any,
        skip_special_tokens: bool = False,
        lengths: list[int | None] | None = None,
        **kwargs: Any,
    ) -> list[str]:
        """Several texts' ids (a 3-d array, or a list of per-text ids of any length) -> their texts; ``lengths``
        (characters, one per text) keeps the U+0000 a text ends with."""
        seqs = list(sequences)
        if lengths is None:
            lengths = [None] * len(seqs)
        if len(lengths) != len(seqs):
            raise ValueError(f"{len(seqs)} sequences but {len(lengths)} lengths")
        return [
            self._text(np.asarray(to_py_obj(s)), skip_special_tokens=skip_special_tokens, length=n)
            for s, n in zip(seqs, lengths)
        ]


def register() -> None:
    """``AutoConfig.register("tokun", TokunConfig)`` and ``AutoTokenizer.register(TokunConfig,
    tokenizer_class=TokunTokenizer)``: after it, ``AutoTokenizer.from_pretrained(dir)`` loads a saved
    TokunTokenizer (its ``tokenizer_config.json`` names the class)."""
    AutoConfig.register(TokunConfig.model_type, TokunConfig, exist_ok=True)
    AutoTokenizer.register(TokunConfig, tokenizer_class=TokunTokenizer, exist_ok=True)


register()
