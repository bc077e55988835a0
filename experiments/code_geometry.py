"""How far apart are one slot's characters as codewords, and what does the decoder misread them as?

    python experiments/code_geometry.py ../shared/corpora --model 4x16 --slots 0 7 --k 0.5   # ~1 min

For a model whose last tokenize block is linear, two texts that differ in one character of slot s lie
||C W_s (x_a - x_b)|| apart (:class:`tokun.decoding.slots.SlotTerms`). Over the distinct characters of the texts, per
slot: the median, and the frequency-weighted mean, of each character's distance to its nearest other character
of the texts, in latent spreads σ (σ as ``tokun noise``), and the norm of a slot's term; isotropic noise of k σ
confuses two codewords d apart with probability Q(d / 2k). Then, at each k, what the decoder's misreadings
are: characters of the texts, other assigned characters, unassigned ones, or planes 1-16.
"""

from __future__ import annotations

import argparse
import collections
import json
import sys
import unicodedata

import numpy as np
import torch

from tokun.core import codec
from tokun.core.errors import TokunError
from tokun.core.model import latent_sigma
from tokun.core.textio import read_text, text_files
from tokun.decoding.slots import SlotTerms
from tokun.decoding.tokenizer import Tokenizer
from tokun.evaluation.noise import corpus_blocks, isotropic_noise


def nearest(terms: SlotTerms, chars: np.ndarray, slot: int, sigma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """``(M,)`` codepoints -> ``(M,)`` each one's distance to the nearest other, and ``(M,)`` term norms, in σ."""
    data = torch.from_numpy(codec.codepoints_to_bytes(chars.reshape(-1, 1)).astype(np.int64)).view(-1, 4)
    t = terms(data, torch.full((len(chars),), slot)) / sigma  # (M, L)
    out = torch.empty(len(chars))
    for i in range(0, len(t), 1024):
        d = torch.cdist(t[i : i + 1024], t)  # (m, M)
        d[torch.arange(len(d)), torch.arange(i, i + len(d))] = torch.inf
        out[i : i + 1024] = d.min(1).values
    return out, t.norm(dim=1)


def kind(cp: int, known: set[int]) -> str:
    if cp in known:
        return "a character of the texts"
    if cp > 0x10FFFF:
        return "not a Unicode scalar value"
    if cp > 0xFFFF:
        return "planes 1-16, not in the texts"
    return "assigned, not in the texts" if unicodedata.category(chr(cp)) != "Cn" else "unassigned or surrogate"


@torch.inference_mode()
def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", help="UTF-8 text files or folders of *.txt")
    p.add_argument("--model", default=None)
    p.add_argument("--slots", type=int, nargs="+", default=[0, 7])
    p.add_argument("--k", type=float, nargs="+", default=[0.5])
    p.add_argument("--max-blocks", type=int, default=8192)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    try:
        tok = Tokenizer.load(args.model, verify=False)
        counts = collections.Counter(ord(c) for f in text_files(args.paths) for c in read_text(f))
        cps = corpus_blocks(tok, args.paths, max_blocks=args.max_blocks, seed=args.seed)
    except TokunError as e:
        print(f"code_geometry: error: {e}", file=sys.stderr)
        return 2
    terms = tok.inference.slot_terms
    if terms is None or terms.slot_bytes != 4:
        print("code_geometry: error: needs a linear last block of one character per slot (4x16)", file=sys.stderr)
        return 2
    z = tok.encode_bytes(codec.codepoints_to_bytes(cps))
    sigma = float(latent_sigma(z))
    chars = np.array(sorted(counts), dtype=np.int64)
    weight = torch.tensor([counts[c] for c in chars.tolist()], dtype=torch.float32)
    weight /= weight.sum()
    out: dict = {"sigma": sigma, "characters": len(chars), "slots": {}, "misreadings": {}}
    for slot in args.slots:
        near, norm = nearest(terms, chars, slot, sigma)
        out["slots"][slot] = {
            "nearest_median": float(near.median()),
            "nearest_weighted_mean": float((weight * near).sum()),
            "term_norm_weighted_mean": float((weight * norm).sum()),
        }
    for k in args.k:
        noisy = isotropic_noise(z, k, sigma, generator=torch.Generator().manual_seed(args.seed))
        read = codec.bytes_to_codepoints(tok.decode_bytes(noisy))
        wrong = read[read != cps].astype(np.int64)
        known = set(counts)
        kinds = collections.Counter(kind(int(c), known) for c in wrong)
        out["misreadings"][k] = {"errors": len(wrong), "char_accuracy": float((read == cps).mean()), **kinds}
    print(json.dumps(out, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
