"""Unit conversions, applied once when a source is read.

Every quantity inside critmin is in metric tonnes (t), USD, USD/t or a fraction (0-1).
An unknown unit is an error, never a guess.
"""

from __future__ import annotations

TONNES_PER_UNIT: dict[str, float] = {
    "metric tons": 1.0,
    "metric ton": 1.0,
    "tons": 1.0,
    "t": 1.0,
    "kilograms": 1e-3,
    "kilogram": 1e-3,
    "kg": 1e-3,
    "thousand metric tons": 1e3,
    "thousand metric dry tons": 1e3,
    "kt": 1e3,
    "million metric tons": 1e6,
    "mt": 1e6,
}
"""Multiplier from a published mass unit to metric tonnes."""

USD_PER_KUSD = 1000.0
"""BACI values are in thousands of USD."""

TONNES_PER_KG = 1e-3


def tonnes_factor(unit: str) -> float:
    """Return the factor that converts ``unit`` to metric tonnes.

    Raises ``KeyError`` for an unknown unit: callers turn it into a
    :class:`critmin.errors.SourceFormatError` naming the file.
    """
    key = " ".join(unit.strip().lower().split())
    return TONNES_PER_UNIT[key]
