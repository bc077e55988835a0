"""The package's version, in one place: pyproject.toml's, read from the installed package's metadata."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("tokun")
except PackageNotFoundError:  # a source tree on sys.path, not installed
    __version__ = "0+unknown"
