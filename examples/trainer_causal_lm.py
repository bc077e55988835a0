"""tokun's patch language model trained with ``transformers.Trainer`` and sampled with ``generate``.

    datasets.Dataset of texts ──map(TokunTokenizer)──▶ flat ids ──DataCollatorForLanguageModeling(mlm=False)──▶
    Trainer(TokunForCausalLM) ──▶ save_pretrained ──▶ AutoModelForCausalLM.from_pretrained(dir, trust_remote_code=True)

    python examples/trainer_causal_lm.py            # a tiny model, a few dozen steps on the fixture, then a sample
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from datasets import Dataset
from transformers import DataCollatorForLanguageModeling, Trainer, TrainingArguments

from tokun.integrations.hf_model import TokunForCausalLM
from tokun.integrations.hf_tokenizer import TokunTokenizer

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "multilingual.txt"


def dataset(tok: TokunTokenizer, text: str, *, chars: int = 128) -> Dataset:
    """``text`` cut into pieces of ``chars`` characters, each tokenized: input_ids and attention_mask columns."""
    pieces = [text[i : i + chars] for i in range(0, len(text), chars)]
    return Dataset.from_dict({"text": pieces}).map(lambda b: tok(b["text"]), batched=True, remove_columns=["text"])


def tiny_model(**shape: int) -> TokunForCausalLM:
    """A small patch LM over the shipped 4x16 (its encoder frozen)."""
    sizes = {"dim": 64, "layers": 2, "heads": 4, "ffn": 128, "context": 16, "local_dim": 32, **shape}
    return TokunForCausalLM.from_tokun("4x16", **sizes)


def train(model: TokunForCausalLM, tok: TokunTokenizer, data: Dataset, out: str, *, steps: int) -> list[float]:
    """``steps`` Trainer steps (CPU, no checkpoints); the training loss logged at each step."""
    args = TrainingArguments(
        output_dir=out,
        max_steps=steps,
        per_device_train_batch_size=8,
        learning_rate=3e-3,
        warmup_steps=0,
        logging_steps=1,
        save_strategy="no",
        report_to=[],
        use_cpu=True,
        seed=0,
        disable_tqdm=True,
    )
    collator = DataCollatorForLanguageModeling(tok, mlm=False)  # labels = ids, padding -100
    trainer = Trainer(model=model, args=args, train_dataset=data, data_collator=collator)
    trainer.train()
    return [log["loss"] for log in trainer.state.log_history if "loss" in log]


def main(steps: int = 40) -> None:
    tok = TokunTokenizer.for_model("4x16")
    model = tiny_model()
    with tempfile.TemporaryDirectory() as out:
        losses = train(model, tok, dataset(tok, SAMPLE.read_text(encoding="utf-8")), out, steps=steps)
    print(f"loss (nats per byte): step 1 {losses[0]:.3f} -> step {steps} {losses[-1]:.3f}")
    print(repr(model.eval().generate_text("Hello, ", max_new_chars=32, temperature=0.8, top_p=0.95)))


if __name__ == "__main__":
    main()
