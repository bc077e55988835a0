"""Training an autoencoder: the run configuration, losses, the loop (DDP-ready) and recipes. Imports only
:mod:`tokun.core` (never :mod:`tokun.evaluation`).

    config.py         TrainConfig
    distributed.py    one process or several under torchrun: ranks, device, process group
    progress.py       rank 0's progress bar, periodic evaluation (log.jsonl), stop signals agreed by every rank
    losses.py         the noise, distance, spread, separation and per-level terms
    train.py          train(config): the loop, torchrun-ready; flush_denormals
    recipe.py         recipes: stages from a TOML file, run and resumed stage by stage
"""
