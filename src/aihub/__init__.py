"""aihub: a self-hosted AI hub with one API to every model a team uses."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("aihub")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0"
