"""critmin: design and stress-test a critical-minerals preferential trade zone."""

from __future__ import annotations

__version__ = "0.1.0"
