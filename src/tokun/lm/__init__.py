"""Language models over tokun patches, tokun blocks, bytes and BPE, their comparison, and parameter arithmetic.

The public API (what other layers and users import; the modules' other names may change):

    LanguageModel, load_lm, make       the model interface, a saved model, a new model fitted to training text
    MODELS, BEST_OF, PATCH_MODELS      the model names of ``tokun lm compare``
    LMConfig, PatchLM, TokenLM, TokunLM   the networks (``LanguageModel.net``)
    LocalConfig, TokunPatchEmbedding    the patch model's local decoder and its tokun patch embedding
    compare, compare_contexts, PRESETS, summary_rows, pick_best   ``tokun lm compare`` and its printed table
    generate, continue_text, chars_per_second, model_folder, GlobalWindow   ``tokun lm generate`` and its speed
    split_corpus, Splits, Encoded, STX  the protocol's text: train/tune/test splits, positions, the shared start
    evaluate                            bits per byte, every byte scored once (sliding window)
    Schedule, Budget, train             the training loop

The modules:

    data.py           train/tune/test splits, a text as positions and the bytes each holds, the shared start U+0002
    zoo.py            the model kinds (bytes and BPE, tokun-direct, patch models) behind one LanguageModel interface
    train.py          the one training loop: schedule as shares of each model's steps, AdamW (core.optim)
    evaluate.py       bits per byte with a sliding window, every byte of the text scored once
    stats.py          bootstrap intervals over seeds and files, paired differences, verdicts
    report.py         a comparison's figures: each model's entry, the paired differences per pair and file, table rows
    compare.py        `tokun lm compare`: the protocol, the pick on tune, the report on test, FLOPs, recipes
    generate.py       `tokun lm generate` and generation speed (KV caches, batch 1)
    model.py          TokunInput/TokunOutput and a small llama
    patch_model.py    the patch LM: tokun latents of each patch, a global body, the local decoder
    local.py          the local causal decoder that predicts a patch unit by unit (MEGABYTE-style)
    patching.py       patching schemes: fixed sizes and word-aligned patches, pure functions of the text
    flops.py          training and inference FLOPs of every model, one function for all
    params.py         llama parameter arithmetic
"""

from .compare import PRESETS as PRESETS
from .compare import compare as compare
from .compare import compare_contexts as compare_contexts
from .compare import pick_best as pick_best
from .data import STX as STX
from .data import Encoded as Encoded
from .data import Splits as Splits
from .data import split_corpus as split_corpus
from .evaluate import evaluate as evaluate
from .generate import GlobalWindow as GlobalWindow
from .generate import chars_per_second as chars_per_second
from .generate import continue_text as continue_text
from .generate import generate as generate
from .generate import model_folder as model_folder
from .local import LocalConfig as LocalConfig
from .model import LMConfig as LMConfig
from .model import TokenLM as TokenLM
from .model import TokunLM as TokunLM
from .patch_model import PatchLM as PatchLM
from .patch_model import TokunPatchEmbedding as TokunPatchEmbedding
from .report import summary_rows as summary_rows
from .train import Budget as Budget
from .train import Schedule as Schedule
from .train import train as train
from .zoo import BEST_OF as BEST_OF
from .zoo import MODELS as MODELS
from .zoo import PATCH_MODELS as PATCH_MODELS
from .zoo import LanguageModel as LanguageModel
from .zoo import load_lm as load_lm
from .zoo import make as make
