"""tokun's patch language model as a ``transformers`` causal LM: ``TokunForCausalLM`` and ``TokunLMConfig``.

The model is ``tokun lm``'s patch model (:class:`tokun.lm.patch_model.PatchLM`) over the tokenizer's blocks:

    input_ids (B, N * 64) ──tok.blocks──▶ (B, N, 64) UTF-32-BE bytes ──tokun encoder──▶ (B, N, 256) ──Linear──▶
    ──causal transformer over blocks──▶ states (B, N, dim) ──local decoder──▶ the next block's 64 bytes, one by one

One position is one block of 16 characters (the ``fixed-16`` patching of ``tokun lm``); the local decoder predicts the
next block's UTF-32-BE bytes one after the other, and a block that ends before its 16th character ends with U+0000
(its first padding character), so a text's end is predicted too and the likelihood is normalised (a text holding
U+0000 cannot be told from a shorter one). The tokun encoder is frozen (``tune_encoder=False``, the default) or
fine-tuned with the model.

``forward(input_ids, attention_mask=None, labels=None)`` returns a ``CausalLMOutput``: with ``labels`` (the ids, -100
or 256 where ignored: what ``DataCollatorForLanguageModeling(tok, mlm=False)`` gives), ``loss`` is the mean negative
log-likelihood in nats per predicted byte of every block after the first (a block holding no labelled byte is not
predicted), and ``logits`` is None; without labels, ``logits`` are the teacher-forced byte logits of each next block,
``(B, N - 1, 64, 256)``. ``generate(input_ids, max_new_tokens=..., temperature=..., top_p=...)`` samples
``max_new_tokens`` **blocks** (16 characters each; the ids grow by 64 per block) and stops a row at the end of text
it predicts; :meth:`TokunForCausalLM.generate_text` takes and returns text, with ``max_new_chars`` in characters.

``save_pretrained(dir)`` writes ``config.json`` (with an ``auto_map``), ``model.safetensors`` and ``modeling_tokun.py``
(one import of the installed package): a fresh process loads it with
``AutoModelForCausalLM.from_pretrained(dir, trust_remote_code=True)``. Importing this module registers the classes
for ``AutoModelForCausalLM.from_pretrained(dir)`` in this process.

What this module takes from :mod:`tokun.lm`: ``LMConfig`` (model), ``LocalConfig`` (local), ``PatchLM`` and
``TokunPatchEmbedding`` (patch_model).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch
from transformers import AutoConfig, AutoModelForCausalLM, PreTrainedConfig, PreTrainedModel
from transformers.modeling_outputs import CausalLMOutput

from ..core import codec
from ..core.checkpoint import CONFIG, WEIGHTS, load_model, read_config, resolve
from ..core.config import BYTES_PER_CHAR, ModelConfig
from ..core.errors import InputError, ModelError
from ..core.model import AutoEncoder
from ..lm import LMConfig, LocalConfig, PatchLM, TokunPatchEmbedding
from .hf_ids import IGNORE, PAD_ID
from .remote import write_remote_module

MODEL_TYPE = "tokun-lm"
REMOTE_MODULE = "modeling_tokun"
SCALE_SAMPLE = (  # the latents' spread is measured on this when no sample is given (from_tokun)
    "The quick brown fox jumps over the lazy dog. Le cœur a ses raisons que la raison ne connaît point. "
    "Съешь же ещё этих мягких французских булок. 天地玄黄，宇宙洪荒。 いろはにほへと ちりぬるを。 "
    "다람쥐 헌 쳇바퀴에 타고파. नमस्ते दुनिया। مرحبا بالعالم. def main(): return 0  # 👋✓"
)


class TokunLMConfig(PreTrainedConfig):
    """The model's shape: ``tokun`` (the autoencoder's ModelConfig, as a dict), the global transformer (``dim``,
    ``layers``, ``heads``, ``ffn``, ``context`` in blocks), the local decoder (``local_dim``, ``local_layers``,
    ``local_heads``), ``latent_scale`` (the latents' spread: they enter the body at unit scale) and
    ``tune_encoder``."""

    model_type = MODEL_TYPE

    def __init__(
        self,
        tokun: dict[str, Any] | None = None,
        dim: int = 256,
        layers: int = 4,
        heads: int = 4,
        ffn: int = 688,
        context: int = 32,
        local_dim: int = 64,
        local_layers: int = 1,
        local_heads: int = 2,
        latent_scale: float = 1.0,
        tune_encoder: bool = False,
        **kwargs: Any,
    ) -> None:
        self.tokun = tokun if tokun is not None else ModelConfig().to_dict()
        self.dim, self.layers, self.heads, self.ffn, self.context = dim, layers, heads, ffn, context
        self.local_dim, self.local_layers, self.local_heads = local_dim, local_layers, local_heads
        self.latent_scale = latent_scale
        self.tune_encoder = tune_encoder
        kwargs.setdefault("pad_token_id", PAD_ID)
        kwargs.setdefault("bos_token_id", None)
        kwargs.setdefault("eos_token_id", None)
        super().__init__(**kwargs)

    @property
    def tokun_config(self) -> ModelConfig:
        return ModelConfig.from_dict(self.tokun)

    @property
    def lm(self) -> LMConfig:
        return LMConfig(dim=self.dim, layers=self.layers, heads=self.heads, ffn=self.ffn, context=self.context)

    @classmethod
    def register_for_auto_class(cls, auto_class: str = "AutoConfig") -> None:
        """A no-op: :meth:`TokunForCausalLM.save_pretrained` writes its own ``modeling_tokun.py``."""


class TokunForCausalLM(PreTrainedModel):
    """tokun's patch LM as a transformers causal LM (module docstring)."""

    config_class = TokunLMConfig
    base_model_prefix = "tokun_lm"
    main_input_name = "input_ids"
    _supports_attention_backend = False

    def __init__(self, config: TokunLMConfig) -> None:
        super().__init__(config)
        cfg = config.tokun_config
        if cfg.block_chars != 16:
            raise ModelError(f"the patch LM reads 16-character blocks, not {cfg.block_chars} (use 4x16 or 4x16-exact)")
        embedding = TokunPatchEmbedding(AutoEncoder(cfg), config.dim, config.latent_scale, tune=config.tune_encoder)
        local = LocalConfig(
            units=cfg.block_bytes,
            unit_vocab=256,
            global_dim=config.dim,
            dim=config.local_dim,
            layers=config.local_layers,
            heads=config.local_heads,
            end_unit=0,  # a block ends at its first U+0000: four 0 bytes
            char_units=BYTES_PER_CHAR,
        )
        self.patch = PatchLM(embedding, config.lm, local)
        self.post_init()

    def _init_weights(self, module: torch.nn.Module) -> None:
        """Nothing: the modules initialise themselves as in ``tokun lm``, and the tokun encoder is pretrained."""

    @classmethod
    def register_for_auto_class(cls, auto_class: str = "AutoModel") -> None:
        """A no-op: :meth:`save_pretrained` writes its own ``modeling_tokun.py``."""

    @classmethod
    def from_tokun(
        cls, model: str | Path | None = None, *, sample: str = SCALE_SAMPLE, **shape: Any
    ) -> TokunForCausalLM:
        """A new (untrained) model over a pretrained tokun autoencoder (a shipped name or a model directory; default
        ``4x16``), its encoder's weights loaded, ``latent_scale`` measured on ``sample``; ``shape``: the other
        fields of :class:`TokunLMConfig`."""
        auto = load_model(model)
        with torch.no_grad():
            scale = float(auto.encoder(torch.from_numpy(codec.encode(sample, block_chars=16))).std())
        net = cls(TokunLMConfig(tokun=auto.cfg.to_dict(), latent_scale=scale, **shape))
        net.patch.input.encoder.load_state_dict(auto.encoder.state_dict())
        return net

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | Path, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        """``PreTrainedModel.from_pretrained``; a local directory that holds no tokun language model is a one-line
        ModelError saying what it is and what to call."""
        folder = Path(pretrained_model_name_or_path)
        if folder.is_dir():
            try:
                kind = json.loads((folder / CONFIG).read_text(encoding="utf-8")).get("model_type")
            except (OSError, json.JSONDecodeError):
                kind = None
            if kind != MODEL_TYPE:
                raise ModelError(_not_a_model(folder))
        return super().from_pretrained(pretrained_model_name_or_path, *args, **kwargs)

    def save_pretrained(self, save_directory: str | Path, *args: Any, **kwargs: Any) -> None:
        """``config.json`` (with an ``auto_map`` to ``modeling_tokun``), ``model.safetensors`` and
        ``modeling_tokun.py``: ``AutoModelForCausalLM.from_pretrained(dir, trust_remote_code=True)``."""
        self.config.auto_map = {
            "AutoConfig": f"{REMOTE_MODULE}.TokunLMConfig",
            "AutoModelForCausalLM": f"{REMOTE_MODULE}.TokunForCausalLM",
        }
        super().save_pretrained(save_directory, *args, **kwargs)
        names = ["TokunForCausalLM", "TokunLMConfig"]
        write_remote_module(save_directory, REMOTE_MODULE, "hf_model", names, "AutoModelForCausalLM")

    # -- the layout ------------------------------------------------------------------------------

    def _blocks(self, ids: torch.Tensor) -> torch.Tensor:
        """``(B, N * 64)`` flat ids -> ``(B, N, 64)``; anything else is a one-line InputError."""
        bytes_per_block = self.config.tokun_config.block_bytes
        if ids.dim() != 2 or ids.shape[1] % bytes_per_block:
            raise InputError(
                f"TokunForCausalLM takes TokunTokenizer's flat ids (batch, blocks * {bytes_per_block}), got shape "
                f"{tuple(ids.shape)}: flatten (batch, blocks, {bytes_per_block}) ids with ids.flatten(1)"
            )
        return ids.view(len(ids), -1, bytes_per_block)

    def forward(
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> CausalLMOutput:
        """Loss from ``labels``, or the teacher-forced logits of each next block (module docstring).
        ``attention_mask`` changes nothing: the body is causal and padding is on the right."""
        ids = self._blocks(input_ids)  # (B, N, 64)
        blocks = ids.masked_fill(ids == PAD_ID, 0)  # padding read as U+0000, the codec's fill
        states = self.patch.states(blocks[:, :-1])  # (B, N-1, dim): the state after each block predicts the next
        if labels is None:
            logits = self.patch.local(states, blocks[:, 1:].long())  # (B, N-1, 64, 256)
            return CausalLMOutput(logits=logits)
        target = self._blocks(labels)[:, 1:]  # (B, N-1, 64)
        ignored = (target == IGNORE) | (target == PAD_ID)
        units = target.masked_fill(ignored, 0).long()  # the first ignored character closes the block
        present = (~ignored).any(-1)  # (B, N-1): blocks holding a labelled byte
        logp = self.patch.local.log_prob(states, units)  # (B, N-1)
        scored = (self.patch.local.scored(units) & present.unsqueeze(-1)).sum()
        loss = -(logp * present).sum() / scored.clamp(min=1)
        return CausalLMOutput(loss=loss)

    # -- generation --------------------------------------------------------------------------------

    @torch.no_grad()
    def generate(  # type: ignore[override]
        self,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor | None = None,
        *,
        max_new_tokens: int = 4,
        temperature: float = 1.0,
        top_p: float = 1.0,
        do_sample: bool = True,
        seed: int | None = None,
        **kwargs: Any,
    ) -> torch.Tensor:
        """``(B, N * 64)`` prompt ids (whole blocks) -> ``(B, (N + k) * 64)``: ``max_new_tokens`` new **blocks** at
        most, each drawn byte by byte by the local decoder at ``temperature`` with nucleus ``top_p``
        (``do_sample=False``: greedy); a row stops at the end of text it predicts (the rest is padding, id 256).
        ``seed``: a generator seeded for reproducible samples. Other generation options are an error."""
        if kwargs:
            raise InputError(f"TokunForCausalLM.generate has no option {', '.join(sorted(kwargs))}")
        ids = self._blocks(input_ids)
        blocks = ids.masked_fill(ids == PAD_ID, 0)  # (B, N, 64)
        gen = torch.Generator(device=blocks.device).manual_seed(seed) if seed is not None else None
        ended = torch.zeros(len(blocks), dtype=torch.bool, device=blocks.device)
        out = [ids]
        for _ in range(max_new_tokens):
            state = self.patch.states(blocks[:, -self.config.context :])[:, -1:]  # (B, 1, dim)
            units = self.patch.local.sample(
                state, temperature=temperature if do_sample else 0.0, top_p=top_p, generator=gen
            )  # (B, 1, 64)
            closes = self.patch.local.end_chars(units).any(-1)[:, 0]  # (B,) the block ends the text
            new = units.masked_fill(~self.patch.local.scored(units), PAD_ID)  # after the end: padding
            first = self.patch.local.end_chars(units)[:, 0].long().argmax(-1)  # (B,) the closing character
            for b in closes.nonzero().flatten().tolist():
                new[b, 0, first[b] * BYTES_PER_CHAR :] = PAD_ID  # the closing U+0000 is no text either
            new[ended] = PAD_ID
            out.append(new.to(ids.dtype))
            ended |= closes
            blocks = torch.cat([blocks, units.masked_fill(new == PAD_ID, 0).to(blocks.dtype)], 1)
            if ended.all():
                break
        return torch.cat(out, 1).flatten(1)

    def generate_text(
        self, prompt: str, *, max_new_chars: int = 64, temperature: float = 1.0, top_p: float = 1.0, seed: int = 0
    ) -> str:
        """``prompt`` continued by at most ``max_new_chars`` characters (sampled block by block, module docstring);
        the prompt is left-padded with spaces to whole blocks, as ``tokun lm generate`` does."""
        pad = (-len(prompt)) % 16
        rows = codec.encode(" " * pad + prompt, block_chars=16).astype(np.int64)  # (N, 64)
        ids = torch.from_numpy(rows.reshape(1, -1)).to(self.device)
        new = self.generate(
            ids, max_new_tokens=-(-max_new_chars // 16), temperature=temperature, top_p=top_p, seed=seed
        )[0, ids.shape[1] :]
        kept = new[new != PAD_ID].cpu().numpy().astype(np.uint8)
        text = codec.from_codepoints(codec.bytes_to_codepoints(kept.reshape(1, -1))[0]) if kept.size else ""
        return prompt + text[:max_new_chars]


def _not_a_model(folder: Path) -> str:
    """What ``folder`` is, when it is no tokun language model, and what to call."""
    if (folder / "tokenizer_config.json").is_file() and not (folder / WEIGHTS).is_file():
        return f"{folder} is a tokenizer directory, not a model: AutoTokenizer.from_pretrained({str(folder)!r})"
    try:
        read_config(resolve(str(folder)))
    except ModelError:
        return f"{folder} holds no tokun language model (no config.json of model type {MODEL_TYPE!r})"
    return (
        f"{folder} is a tokun autoencoder, not a language model: TokunForCausalLM.from_tokun({str(folder)!r}) "
        "builds one over it"
    )


def register() -> None:
    """``AutoConfig.register("tokun-lm", TokunLMConfig)`` and ``AutoModelForCausalLM.register(TokunLMConfig,
    TokunForCausalLM)``: ``AutoModelForCausalLM.from_pretrained(dir)`` loads a saved model in this process."""
    AutoConfig.register(MODEL_TYPE, TokunLMConfig, exist_ok=True)
    AutoModelForCausalLM.register(TokunLMConfig, TokunForCausalLM, exist_ok=True)


register()
