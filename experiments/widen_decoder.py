"""Give a model's decoder a residual MLP on the whole latent (``--decoder-mlp``) that starts as the identity.

    python experiments/widen_decoder.py runs/v11c-scaled --width 1024 --out runs/v11d-init

The MLP's output layer is zero-initialised (:class:`tokun.core.model.LatentMLP`), so the new model decodes exactly as
the old one; train its decoder alone with ``tokun train --init OUT --freeze-encoder ...``.
"""

from __future__ import annotations

import argparse
import dataclasses
import sys

import torch

from tokun.core.checkpoint import load_model, save_model
from tokun.core.errors import TokunError
from tokun.core.model import AutoEncoder


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="model directory or shipped name")
    p.add_argument("--width", type=int, required=True, help="hidden width of the MLP")
    p.add_argument("--out", required=True, help="output model directory")
    p.add_argument("--seed", type=int, default=0, help="initialisation of the MLP's first layer (default 0)")
    args = p.parse_args()
    try:
        base = load_model(args.model)
        if base.cfg.decoder_mlp:
            raise TokunError(f"{args.model} already has a decoder MLP (width {base.cfg.decoder_mlp})")
        torch.manual_seed(args.seed)
        net = AutoEncoder(dataclasses.replace(base.cfg, decoder_mlp=args.width))
        missing, unexpected = net.load_state_dict(base.state_dict(), strict=False)
        assert not unexpected and all(name.startswith("decoder.mlp.") for name in missing)
        save_model(net, args.out)
    except TokunError as e:
        print(f"widen_decoder: error: {e}", file=sys.stderr)
        return 2
    print(f"{args.model} + a decoder MLP of width {args.width} -> {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
