"""The names ``tokun lm compare`` knows: its models and body presets. Imports nothing, so the command line can list
them without loading torch."""

MODELS = (
    "tokun",
    "tokun-words",
    "tokun-words8",
    "tokun-words8-tuned",
    "tokun-16",
    "tokun-8",
    "tokun-4",
    "patch-learned",
    "tokun-direct",
    "bytes",
    "bpe",
)
# `tokun` is the best of these tokun patch models (frozen encoder or fine-tuned)
BEST_OF = ("tokun-words", "tokun-words8", "tokun-words8-tuned", "tokun-16")
PRESET_NAMES = ("cpu", "gpu")  # the bodies of lm.compare.PRESETS
