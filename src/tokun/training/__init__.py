"""Training an autoencoder: the run configuration, losses, the loop (DDP-ready) and recipes. Imports only
:mod:`tokun.core` (never :mod:`tokun.evaluation`).

    config.py         TrainConfig
    losses.py         the noise, distance, spread, separation and per-level terms
    train.py          train(config): the loop, torchrun-ready; flush_denormals
    recipe.py         recipes: stages from a TOML file, run and resumed stage by stage
"""
