"""The optional ``[paths]`` table of a scenario: the floor that ``critmin paths`` compares.

::

    [paths]
    product = "lithium_carbonate"     # the floored market: a product id or a chain stage/product
    floor_usd_per_t = 15000           # the reference price (USD/t of product)
    years = "2025-2035"               # first-last; the first year is the calibrated baseline
    start_year = 2026                 # the floor is announced and applies from this year
    mechanisms = ["variable_levy", "producer_subsidy", "price_gap", "offtake"]
    discount_rate = 0.03              # for the NPV (real, per year)
    draws = 200                       # Monte Carlo paths (0: the central path only)
    seed = 0
    cfd_volume_cap_t = 5000           # producer_subsidy: covered tonnes per year (default: all)
    cfd_term_years = 10               # producer_subsidy: contract term from start_year
    offtake_budget_usd = 1e10         # offtake: total purchases over the horizon
    stockpile_target_days = 60        # offtake: buy until the stock covers this many days
    release_price_ratio = 1.5         # offtake: release above 1.5 x baseline (and the floor)
    release_days = 30                 # offtake: release up to this many days of zone demand a year
    demand_growth = true              # the curated growth rates (false: no growth)
    shocks = true                     # demand and output shocks fitted to price history

The analysis is :mod:`critmin.paths` (docs/paths.md); everything here only validates.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = ["MECHANISMS", "Mechanism", "PathsSettings", "parse_years"]

Mechanism = Literal["variable_levy", "producer_subsidy", "price_gap", "offtake"]
MECHANISMS: tuple[Mechanism, ...] = ("variable_levy", "producer_subsidy", "price_gap", "offtake")
MAX_YEARS = 60


def parse_years(text: str) -> tuple[int, int]:
    """``"2025-2035"`` -> ``(2025, 2035)``; a ValueError names what is allowed."""
    m = re.fullmatch(r"\s*(\d{4})\s*-\s*(\d{4})\s*", text)
    if not m:
        raise ValueError(f"years: expected FIRST-LAST such as 2025-2035, got {text!r}")
    a, b = int(m.group(1)), int(m.group(2))
    if not (1900 <= a < b <= 2100 and b - a + 1 <= MAX_YEARS):  # both ends are years of the path
        raise ValueError(
            f"years: expected 1900 <= first < last <= 2100 and at most {MAX_YEARS} years, "
            f"got {text!r}"
        )
    return a, b


class PathsSettings(BaseModel):
    """``[paths]``: the floor and the rules of the yearly paths (see the module docstring)."""

    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    product: str | None = None
    floor_usd_per_t: float = Field(gt=0, le=1e9)
    years: str = "2025-2035"
    start_year: int | None = Field(default=None, ge=1900, le=2100)
    mechanisms: list[Mechanism] = Field(default_factory=lambda: list(MECHANISMS), min_length=1)
    discount_rate: float = Field(default=0.03, ge=0, le=1)
    draws: int = Field(default=200, ge=0, le=1_000_000)
    seed: int = Field(default=0, ge=0, le=2**63 - 1)
    cfd_volume_cap_t: float | None = Field(default=None, gt=0)
    cfd_term_years: int | None = Field(default=None, ge=1, le=100)
    offtake_budget_usd: float = Field(default=1e10, ge=0)
    stockpile_target_days: float = Field(default=60.0, ge=0, le=3650)
    release_price_ratio: float = Field(default=1.5, gt=1)
    release_days: float = Field(default=30.0, ge=0, le=365)
    demand_growth: bool = True
    shocks: bool = True

    @field_validator("years")
    @classmethod
    def _years(cls, value: str) -> str:
        parse_years(value)
        return value

    @field_validator("mechanisms")
    @classmethod
    def _unique(cls, value: list[Mechanism]) -> list[Mechanism]:
        if len(set(value)) != len(value):
            raise ValueError("mechanisms: each mechanism at most once")
        return value
