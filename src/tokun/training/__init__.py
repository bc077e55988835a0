"""Training an autoencoder: the run configuration, losses, the loop (DDP-ready) and recipes. Imports only
:mod:`tokun.core` (never :mod:`tokun.evaluation`)."""
