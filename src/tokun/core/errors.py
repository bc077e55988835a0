"""Exceptions raised for user mistakes: each one carries a one-line, actionable message.

The CLI prints ``tokun: error: <message>`` for any :class:`TokunError` and exits non-zero,
without a traceback. Library users catch the specific subclass they care about.
"""

from __future__ import annotations


class TokunError(Exception):
    """Base class of every error tokun raises on bad input or a bad environment."""


class InputError(TokunError, ValueError):
    """Text or latents that tokun cannot process (lone surrogate, bad UTF-8, wrong shape...)."""


class ModelError(TokunError):
    """A model that cannot be found or loaded (unknown name, missing or mismatched files)."""


class CheckpointError(TokunError):
    """A training checkpoint that is missing, truncated or inconsistent."""


class ConfigError(TokunError, ValueError):
    """A configuration value out of range or of the wrong kind."""


class MissingExtra(TokunError, ImportError):
    """An optional library that a feature needs is not installed; the message names the extra to install."""


class Interrupted(TokunError):
    """A long job stopped by Ctrl-C (SIGINT): its message says what was kept and how to continue."""
