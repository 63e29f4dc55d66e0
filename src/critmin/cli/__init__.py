"""The ``critmin`` command: a thin layer over the library (one module per command group)."""

from __future__ import annotations

from critmin.cli import (  # noqa: F401  (register commands)
    assess,
    coalition,
    data,
    paths,
    simulate,
    sweep,
    uncertainty,
)
from critmin.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Entry point of the ``critmin`` console script."""
    app()
