"""tokun's byte blocks as a ``transformers`` tokenizer: ``TokunTokenizer``, a ``PreTrainedTokenizer``.

Long because: one class answers the whole of transformers' tokenizer interface (encoding, padding, truncation of
pairs, every call-time option honoured or refused, saving and loading), and a reader checks it against that
interface in one place.

tokun has no vocabulary: text is cut into blocks of ``block_chars`` characters (16 for the shipped ``4x16``),
``block_bytes = 4 * block_chars`` UTF-32-BE bytes each, which the encoder turns into one latent. The tokenizer gives
transformers the flat layout its tools expect, one id per byte, whole blocks one after the other:

    input_ids       (batch, blocks * block_bytes)   ids 0-255: byte values; 256 (PAD_ID): padding, never text
    attention_mask  (batch, blocks * block_bytes)   1 where input_ids holds a byte of text, 0 on padding

**Padding is id 256**, outside the byte values: it fills the last block of a text after its last character (where
tokun's codec puts U+0000) and every padding block. No byte of text can be taken for padding, so the collators of
transformers (``DataCollatorForLanguageModeling(mlm=False)``, ``DataCollatorWithPadding``,
``DataCollatorForSeq2Seq``) keep every real byte's label and mask every padding position, and a text ending in
U+0000 decodes exactly. Byte 0, by contrast, is the most frequent byte of UTF-32-BE text (the high bytes of every
character below U+10000): a pad id of 0 would mask most of the text.

**A model position is a block**: ``blocks(input_ids)`` views the ids as ``(batch, blocks, block_bytes)`` bytes with
padding read as 0 (exactly the encoder's input: ``model.encoder(tok.blocks(ids))`` is ``(batch, blocks, 256)``), and
``block_mask(attention_mask)`` as ``(batch, blocks)``. Lengths always hold whole blocks: ``max_length`` counts ids
and must be a multiple of ``block_bytes`` (64 ids = one 16-character block), ``pad_to_multiple_of`` is met with whole
blocks (the length is a multiple of both). Padding is on the right.

**Tokens and vocabulary.** ``vocab_size`` is 257: the 256 byte values and ``<pad>``. A token is one id: the byte
``b`` is the token ``chr(b)``, padding ``<pad>``; ``tokenize(text)`` gives exactly one token per id of
``tok(text).input_ids`` (4 per character, the last block filled with ``<pad>``), so ``len(tok.tokenize(t))`` is
``block_bytes`` times the blocks of ``t``. ``text_blocks(text)`` gives the blocks' texts (the units a model sees).

**Special tokens are characters**, as everywhere in tokun: U+0002 start of text (``BOS``), U+0003 end of text
(``EOS``), U+001E record separator (``SEP``, between the texts of a pair). ``prepend_bos`` / ``append_eos`` (in the
constructor or at call time, with ``add_special_tokens``) add them as text, 4 ids each; a pair is always joined by
``SEP``. They have no single id, so ``bos_token_id``, ``eos_token_id`` and ``sep_token_id`` are None; only
``pad_token_id`` (256) is set. ``return_special_tokens_mask`` marks the ids of the characters added and padding;
``decode(..., skip_special_tokens=True)`` drops U+0002, U+0003 and U+001E.

**Call-time options**: ``return_offsets_mapping`` gives each id its character's span ``(i, i + 1)`` in its own text
(``(0, 0)`` for an added character or padding); ``return_length`` the ids of each text; truncation (``max_length`` in
ids) cuts characters, never special ones: ``longest_first`` (``truncation=True``), ``only_first``, ``only_second``.
Options tokun cannot honour (``return_overflowing_tokens``, ``stride``, ``is_split_into_words``,
``return_token_type_ids``, left padding) raise an error that says why; an unknown option is an error too.

``save_pretrained(dir)`` writes ``tokenizer_config.json`` with an ``auto_map`` and ``tokenization_tokun.py`` (one
import of the installed package), so a fresh process loads it with ``AutoTokenizer.from_pretrained(dir,
trust_remote_code=True)``; importing this module also registers the class (``register``) for
``AutoTokenizer.from_pretrained(dir)``.

>>> tok = TokunTokenizer(block_chars=4)
>>> enc = tok(["héllo", "x"], padding=True)
>>> [len(ids) for ids in enc["input_ids"]], enc["input_ids"][1][:8]
([32, 32], [0, 0, 0, 120, 256, 256, 256, 256])
>>> tok.batch_decode(enc["input_ids"])
['héllo', 'x']
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
from transformers import AutoConfig, AutoTokenizer, BatchEncoding, PreTrainedConfig, PreTrainedTokenizer
from transformers.tokenization_utils_base import TruncationStrategy
from transformers.utils import PaddingStrategy, TensorType, to_py_obj

from ..core import checkpoint, codec
from ..core.config import BYTES_PER_CHAR
from ..core.errors import InputError, ModelError
from ..core.model import BYTE_VALUES
from .hf_ids import BOS, EOS, IGNORE, PAD_ID, PAD_TOKEN, SEP, VOCAB_SIZE, check_id, flat_ids, kept_lengths, not_whole
from .remote import write_remote_module

REMOTE_MODULE = "tokenization_tokun"  # the module save_pretrained writes beside tokenizer_config.json
REFUSED = {  # call-time options tokun cannot honour, and why
    "return_overflowing_tokens": "tokun cuts whole texts, it returns no overflow: split long texts before encoding",
    "stride": "tokun returns no overflowing windows, so no stride: split long texts before encoding",
    "is_split_into_words": "tokun encodes text, not words: join the words into one string",
    "return_token_type_ids": "tokun marks the second text of a pair with U+001E, there are no token_type_ids",
}
IGNORED_DEFAULTS = {"split_special_tokens", "verbose"}  # options that change nothing for tokun (no token is split)


class TokunConfig(PreTrainedConfig):
    """The ``transformers`` configuration that :func:`register` ties ``TokunTokenizer`` to (model type ``tokun``)."""

    model_type = "tokun"


class TokunTokenizer(PreTrainedTokenizer):
    """tokun's UTF-32-BE byte blocks, flat, with padding id 256 (module docstring: layout, tokens, options);
    ``block_chars`` from the model's config (:meth:`for_model`)."""

    vocab_files_names: dict[str, str] = {}
    model_input_names = ["input_ids", "attention_mask"]
    padding_side = "right"

    def __init__(
        self,
        block_chars: int = 16,
        prepend_bos: bool = False,
        append_eos: bool = False,
        pad_token: str = PAD_TOKEN,
        **kwargs: Any,
    ) -> None:
        if str(pad_token) != PAD_TOKEN:
            raise InputError(f"TokunTokenizer's padding is {PAD_TOKEN} (id {PAD_ID}), not {pad_token!r}")
        for name in ("bos_token", "eos_token", "sep_token", "unk_token", "cls_token", "mask_token"):
            kwargs.pop(name, None)  # special tokens are characters (module docstring): no single id
        kwargs.pop("extra_special_tokens", None)
        self.block_chars = block_chars
        self.prepend_bos = prepend_bos
        self.append_eos = append_eos
        super().__init__(
            block_chars=block_chars, prepend_bos=prepend_bos, append_eos=append_eos, pad_token=pad_token, **kwargs
        )

    @classmethod
    def for_model(cls, model: str | None = None, **kwargs: Any) -> TokunTokenizer:
        """The tokenizer of a shipped model (default ``4x16``) or a model directory: its ``block_chars``."""
        cfg = checkpoint.read_config(checkpoint.resolve(model))
        return cls(block_chars=cfg.block_chars, **kwargs)

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, *args: Any, **kwargs: Any) -> TokunTokenizer:
        """A directory written by :meth:`save_pretrained` (or a Hub repo id); a tokun model directory or a directory
        without ``tokenizer_config.json`` is a one-line ModelError saying what to call instead."""
        folder = Path(pretrained_model_name_or_path)
        if folder.is_dir() and not (folder / "tokenizer_config.json").is_file():
            if (folder / checkpoint.CONFIG).is_file() and (folder / checkpoint.WEIGHTS).is_file():
                raise ModelError(
                    f"{folder} is a model directory, not a tokenizer: TokunTokenizer.for_model(MODEL) gives a tokun "
                    "model's tokenizer; save it beside the model with tok.save_pretrained(dir)"
                )
            raise ModelError(
                f"{folder} holds no tokun tokenizer (no tokenizer_config.json): write one with "
                "TokunTokenizer.for_model(...).save_pretrained(dir)"
            )
        return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)

    @classmethod
    def register_for_auto_class(cls, auto_class: str = "AutoTokenizer") -> None:
        """A no-op: :meth:`save_pretrained` writes its own ``tokenization_tokun.py`` (transformers would copy this
        module, whose relative imports cannot work outside the package)."""

    def save_pretrained(self, save_directory: str | Path, *args: Any, **kwargs: Any) -> tuple[str, ...]:
        """``tokenizer_config.json`` with an ``auto_map`` to ``tokenization_tokun.TokunTokenizer``, and that module
        (one import of the installed package): ``AutoTokenizer.from_pretrained(dir, trust_remote_code=True)``."""
        files = super().save_pretrained(save_directory, *args, **kwargs)
        folder = Path(save_directory)
        config_file = folder / "tokenizer_config.json"
        config = json.loads(config_file.read_text(encoding="utf-8"))
        config["auto_map"] = {"AutoTokenizer": [f"{REMOTE_MODULE}.{type(self).__name__}", None]}
        config_file.write_text(json.dumps(config, indent=2, sort_keys=True, ensure_ascii=False) + "\n", "utf-8")
        module = write_remote_module(folder, REMOTE_MODULE, "hf_tokenizer", [type(self).__name__], "AutoTokenizer")
        return (*files, str(module))

    @property
    def block_bytes(self) -> int:
        return BYTES_PER_CHAR * self.block_chars

    # -- the vocabulary: 256 byte values and padding ----------------------------------------------

    @property
    def vocab_size(self) -> int:
        return VOCAB_SIZE

    def get_vocab(self) -> dict[str, int]:
        return {**{chr(b): b for b in range(BYTE_VALUES)}, PAD_TOKEN: PAD_ID}

    def tokenize(
        self, text: str, pair: str | None = None, add_special_tokens: bool = False, **kwargs: Any
    ) -> list[str]:
        """One token per id of ``tok(text).input_ids``: ``chr(b)`` for a byte, ``<pad>`` for the fill of the last
        block (module docstring)."""
        ids = self(text, pair, add_special_tokens=add_special_tokens, **kwargs)["input_ids"]
        return self.convert_ids_to_tokens(ids)

    def text_blocks(self, text: str) -> list[str]:
        """The texts of ``text``'s blocks, ``block_chars`` characters each (the last one shorter): a model's units."""
        return [text[i : i + self.block_chars] for i in range(0, len(text), self.block_chars)]

    def _convert_token_to_id(self, token: str) -> int:
        if token == PAD_TOKEN:
            return PAD_ID
        if len(token) != 1 or ord(token) >= BYTE_VALUES:
            raise InputError(f"{token!r} is no tokun token: the characters U+0000-U+00FF (bytes) and {PAD_TOKEN}")
        return ord(token)

    def _convert_id_to_token(self, index: int) -> str:
        return PAD_TOKEN if index == PAD_ID else chr(index)

    def convert_ids_to_tokens(self, ids: Any, skip_special_tokens: bool = False) -> Any:  # type: ignore[override]
        """One id -> its token; one text's flat ids -> their tokens. Nested ids (a batch, or blocks) are an error."""
        ids = to_py_obj(ids)
        if isinstance(ids, int):
            return self._convert_id_to_token(check_id(ids))
        flat = flat_ids(ids, "convert_ids_to_tokens", "one text's flat ids")
        return [self._convert_id_to_token(i) for i in flat if not (skip_special_tokens and i == PAD_ID)]

    def convert_tokens_to_string(self, tokens: list[str]) -> str:
        return self._text([self._convert_token_to_id(t) for t in tokens], skip_special_tokens=False)

    def save_vocabulary(self, save_directory: str, filename_prefix: str | None = None) -> tuple[str, ...]:
        return ()  # the vocabulary is the byte values and <pad>: tokenizer_config.json holds everything

    # -- the layout a model reads ----------------------------------------------------------------

    def blocks(self, input_ids: Any) -> Any:
        """``(..., blocks * block_bytes)`` ids -> ``(..., blocks, block_bytes)`` bytes, padding read as 0 (the
        codec's fill): the encoder's input. A tensor stays a tensor (same device), anything else becomes numpy."""
        if hasattr(input_ids, "masked_fill"):  # a torch tensor
            if input_ids.shape[-1] % self.block_bytes:
                raise InputError(not_whole(input_ids.shape[-1], self.block_bytes))
            out = input_ids.masked_fill(input_ids == PAD_ID, 0)
            return out.view(*out.shape[:-1], -1, self.block_bytes)
        ids = np.asarray(to_py_obj(input_ids), dtype=np.int64)
        if ids.ndim == 0 or ids.shape[-1] % self.block_bytes:
            raise InputError(not_whole(ids.shape[-1] if ids.ndim else 0, self.block_bytes))
        return np.where(ids == PAD_ID, 0, ids).reshape(*ids.shape[:-1], -1, self.block_bytes)

    def block_mask(self, attention_mask: Any) -> Any:
        """``(..., blocks * block_bytes)`` mask -> ``(..., blocks)``: 1 for a block holding text."""
        if hasattr(attention_mask, "view"):
            return attention_mask.view(*attention_mask.shape[:-1], -1, self.block_bytes).amax(-1)
        mask = np.asarray(to_py_obj(attention_mask))
        return mask.reshape(*mask.shape[:-1], -1, self.block_bytes).max(-1)

    # -- text -> ids -----------------------------------------------------------------------------

    def _encode_one(
        self,
        text: str,
        pair: str | None,
        *,
        head: str,
        tail: str,
        room: int | None,
        strategy: TruncationStrategy,
    ) -> dict[str, list]:
        """One text (and pair): flat ids with the last block filled with PAD_ID, its mask, special-tokens mask and
        offsets per id."""
        for value in (text, pair):
            if value is not None and not isinstance(value, str):
                raise InputError(f"TokunTokenizer encodes text (str), got {type(value).__name__}")
        mid = SEP if pair is not None else ""
        specials = len(head) + len(mid) + len(tail)
        a, b = kept_lengths(text, pair, None if room is None else room - specials, strategy)
        parts = [(head, None), (text[:a], 0), (mid, None)]
        if pair is not None:
            parts.append((pair[:b], 1))
        parts.append((tail, None))
        chars = "".join(p for p, _ in parts)
        ids = codec.codepoints_to_bytes(codec.to_codepoints(chars)).astype(np.int64).tolist()
        special, offsets = [], []
        for piece, source in parts:
            for i in range(len(piece)):
                special += [int(source is None)] * BYTES_PER_CHAR
                offsets += [(0, 0) if source is None else (i, i + 1)] * BYTES_PER_CHAR
        fill = (-len(ids)) % self.block_bytes
        return {
            "input_ids": ids + [PAD_ID] * fill,
            "attention_mask": [1] * len(ids) + [0] * fill,
            "special_tokens_mask": special + [1] * fill,
            "offset_mapping": offsets + [(0, 0)] * fill,
        }

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
        return_special_tokens_mask: bool = False,
        return_offsets_mapping: bool = False,
        return_length: bool = False,
        prepend_bos: bool | None = None,
        append_eos: bool | None = None,
        **kwargs: Any,
    ) -> BatchEncoding:
        """Texts -> flat ids of whole blocks (module docstring); every option honoured or refused."""
        for name, why in REFUSED.items():
            if kwargs.pop(name, None) not in (None, False, 0):
                raise InputError(f"{name}: {why}")
        unknown = sorted(set(kwargs) - IGNORED_DEFAULTS)
        if unknown:
            raise InputError(f"TokunTokenizer has no option {', '.join(unknown)}")
        self._check_side(padding_side)
        self._check_length(max_length)
        batched = isinstance(text, (list, tuple))
        texts = list(text) if batched else [text]
        pairs = (list(text_pair) if batched else [text_pair]) if text_pair is not None else [None] * len(texts)
        if len(pairs) != len(texts):
            raise InputError(f"{len(texts)} texts but {len(pairs)} pairs")
        prepend = self.prepend_bos if prepend_bos is None else prepend_bos
        append = self.append_eos if append_eos is None else append_eos
        head = BOS if add_special_tokens and prepend else ""
        tail = EOS if add_special_tokens and append else ""
        cut = truncation_strategy != TruncationStrategy.DO_NOT_TRUNCATE and max_length is not None
        room = max_length // BYTES_PER_CHAR if cut else None
        rows = [
            self._encode_one(t, p, head=head, tail=tail, room=room, strategy=truncation_strategy)
            for t, p in zip(texts, pairs)
        ]
        target = None
        if padding_strategy == PaddingStrategy.LONGEST:
            target = max((len(r["input_ids"]) for r in rows), default=0)
        elif padding_strategy == PaddingStrategy.MAX_LENGTH and max_length is not None:
            target = max_length
        keys = ["input_ids"]
        if return_attention_mask is not False:
            keys.append("attention_mask")
        if return_special_tokens_mask:
            keys.append("special_tokens_mask")
        if return_offsets_mapping:
            keys.append("offset_mapping")
        out = []
        for row in rows:
            row = {k: row[k] for k in keys}
            if target is not None:
                row = self._pad_row(row, target, pad_to_multiple_of)
            if return_length:
                row["length"] = len(row["input_ids"])
            out.append(row)
        data = {k: [r[k] for r in out] for k in out[0]} if out else {k: [] for k in keys}
        if not batched:
            data = {k: v[0] for k, v in data.items()}
        return BatchEncoding(data, tensor_type=return_tensors, prepend_batch_axis=not batched and bool(return_tensors))

    def __call__(self, *args: Any, **kwargs: Any) -> BatchEncoding:
        """``PreTrainedTokenizer.__call__``; ``labels`` from ``text_target`` (with ``text``) carry -100 where their
        ids are padding, as a loss and ``DataCollatorForSeq2Seq`` expect."""
        out = super().__call__(*args, **kwargs)
        if "labels" in out:
            labels = out["labels"]
            if hasattr(labels, "masked_fill"):
                out["labels"] = labels.masked_fill(labels == PAD_ID, IGNORE)
            elif isinstance(labels, np.ndarray):
                out["labels"] = np.where(labels == PAD_ID, IGNORE, labels)
            elif labels and isinstance(labels[0], list):
                out["labels"] = [[IGNORE if i == PAD_ID else i for i in row] for row in labels]
            else:
                out["labels"] = [IGNORE if i == PAD_ID else i for i in labels]
        return out

    # -- padding ---------------------------------------------------------------------------------

    def _check_side(self, padding_side: str | None) -> None:
        if (padding_side or self.padding_side) != "right":
            raise InputError("TokunTokenizer pads on the right only: a model's block positions start at its text")

    def _check_length(self, max_length: int | None) -> None:
        if max_length is not None and max_length % self.block_bytes:
            raise InputError(
                f"max_length {max_length} is not a whole number of blocks: tokun's lengths are multiples of "
                f"{self.block_bytes} ids (one {self.block_chars}-character block), e.g. "
                f"{max(1, max_length // self.block_bytes) * self.block_bytes}"
            )

    def _pad_row(self, row: dict[str, Any], target: int, multiple: int | None) -> dict[str, Any]:
        """One text's encoding padded on the right to ``target`` ids, rounded up to whole blocks and to a multiple of
        ``multiple``: PAD_ID, mask 0, special 1, offsets (0, 0)."""
        step = math.lcm(self.block_bytes, multiple) if multiple else self.block_bytes
        target = -(-target // step) * step
        extra = max(0, target - len(row["input_ids"]))
        fills = {"input_ids": PAD_ID, "attention_mask": 0, "special_tokens_mask": 1, "offset_mapping": (0, 0)}
        return {k: list(v) + [fills[k]] * extra if k in fills else v for k, v in row.items()}

    def _pad(
        self,
        encoded_inputs: dict[str, Any] | BatchEncoding,
        max_length: int | None = None,
        padding_strategy: PaddingStrategy = PaddingStrategy.DO_NOT_PAD,
        pad_to_multiple_of: int | None = None,
        padding_side: str | None = None,
        return_attention_mask: bool | None = None,
    ) -> dict:
        """One text's encoding padded as :meth:`_pad_row` does: what ``pad`` and the data collators call."""
        self._check_side(padding_side)
        ids = flat_ids(encoded_inputs[self.model_input_names[0]], "pad", "each text's flat ids")
        if len(ids) % self.block_bytes:
            raise InputError(not_whole(len(ids), self.block_bytes))
        if return_attention_mask is None:
            return_attention_mask = "attention_mask" in self.model_input_names
        row = dict(encoded_inputs)
        row["input_ids"] = ids
        if return_attention_mask and "attention_mask" not in row:
            row["attention_mask"] = [int(i != PAD_ID) for i in ids]
        if padding_strategy == PaddingStrategy.DO_NOT_PAD:
            return row
        self._check_length(max_length)
        target = len(ids) if padding_strategy == PaddingStrategy.LONGEST or max_length is None else max_length
        return self._pad_row(row, target, pad_to_multiple_of)

    # -- ids -> text -----------------------------------------------------------------------------

    def _text(self, ids: list[int], *, skip_special_tokens: bool) -> str:
        """One text's flat ids -> its text: padding (and -100, a label's padding) dropped."""
        kept = [i for i in ids if i not in (PAD_ID, IGNORE)]
        for i in kept:
            check_id(i)
        if len(kept) % BYTES_PER_CHAR:
            raise InputError(f"{len(kept)} byte ids do not make whole characters (4 bytes each)")
        cps = codec.bytes_to_codepoints(np.asarray(kept, dtype=np.uint8).reshape(1, -1)).reshape(-1)
        text = codec.from_codepoints(cps)
        if skip_special_tokens:
            text = text.translate(dict.fromkeys(map(ord, (BOS, EOS, SEP))))
        return text

    def decode(self, token_ids: Any, skip_special_tokens: bool = False, **kwargs: Any) -> str:  # type: ignore[override]
        """One text's flat ids -> its text, exact (a text ending in U+0000 included: padding is id 256)."""
        ids = flat_ids(to_py_obj(token_ids), "decode", "one text's flat ids (a batch: batch_decode)")
        return self._text(ids, skip_special_tokens=skip_special_tokens)

    def batch_decode(self, sequences: Any, skip_special_tokens: bool = False, **kwargs: Any) -> list[str]:  # type: ignore[override]
        """A batch's ids, ``(batch, length)`` or a list of per-text ids -> their texts."""
        seqs = to_py_obj(sequences)
        if hasattr(seqs, "tolist"):
            seqs = seqs.tolist()
        return [self.decode(s, skip_special_tokens=skip_special_tokens) for s in seqs]


def register() -> None:
    """``AutoConfig.register("tokun", TokunConfig)`` and ``AutoTokenizer.register(TokunConfig,
    tokenizer_class=TokunTokenizer)``: after it, ``AutoTokenizer.from_pretrained(dir)`` loads a saved
    TokunTokenizer in this process (a fresh one needs ``trust_remote_code=True``: module docstring)."""
    AutoConfig.register(TokunConfig.model_type, TokunConfig, exist_ok=True)
    AutoTokenizer.register(TokunConfig, tokenizer_class=TokunTokenizer, exist_ok=True)


register()
