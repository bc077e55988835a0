"""Encode a multilingual sample into latents with the shipped model, decode it back, check it is exact."""

from pathlib import Path

import tokun

SAMPLE = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "multilingual.txt"


def main() -> None:
    tok = tokun.Tokenizer.load()  # the shipped default model, "4x16"
    text = SAMPLE.read_text(encoding="utf-8")
    latents = tok.encode(text)  # (N, 256) float32: one vector per 16 characters
    back = tok.decode(latents, length=len(text))
    wrong = sum(a != b for a, b in zip(text, back)) + abs(len(text) - len(back))
    print(f"model       {tok.name}: {tok.block_chars} characters -> one {tok.latent_dim}-d vector")
    print(
        f"text        {len(text)} characters, {len(text.encode('utf-8'))} UTF-8 bytes, {len(text.splitlines())} lines"
    )
    print(f"latents     {tuple(latents.shape)} {latents.dtype}")
    print(f"decoded     {len(back)} characters, {wrong} wrong")
    print(f"exact       {back == text}")
    for line in back.splitlines()[:3]:
        print(f"  | {line}")
    if back != text:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
