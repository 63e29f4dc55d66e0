"""The optional ``[coalition]`` table of a scenario: defaults for ``critmin coalition``.

::

    [coalition]
    candidates = ["IDN", "CHL", "ARG"]        # ISO3 codes or group names, one player each
    objectives = ["self_sufficiency", "zone_welfare_usd"]
    members_as_players = false                 # true, or a list of the zone's member tokens
    sampled = 0                                # permutations; 0 = exact up to 12 players
    seed = 0
    on_fail = "exclude"                        # or "flag": keep failing candidates, flagged
    [coalition.gates]
    wgi_min = { rl = -1.0, cc = -1.0 }         # WGI estimates (-2.5 .. 2.5)
    oecd_ddg = false                           # adherence to the OECD minerals DDG
    eiti = false                               # EITI implementing country
    ilo_core_min = 7                           # of the 8 ILO core conventions ratified
    irma_sites_min = 0                         # mine sites with a published IRMA audit
    [coalition.scope]
    IDN = { stages = ["refine"] }              # joins for processing only
    PHL = { products = ["nickel_unwrought"] }  # joins for these products only

The analysis itself is :mod:`critmin.coalition` (docs/coalition.md). Everything here only
validates; names are checked against the world when the analysis runs.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "OBJECTIVES",
    "WGI_INDICATORS",
    "CoalitionGates",
    "CoalitionSettings",
    "MembershipScope",
]

Objective = Literal["self_sufficiency", "watch_share", "zone_welfare_usd", "world_welfare_usd"]
OBJECTIVES: tuple[Objective, ...] = (
    "self_sufficiency",
    "watch_share",
    "zone_welfare_usd",
    "world_welfare_usd",
)
"""The objectives a coalition is valued by (each per product and in total)."""
WGI_INDICATORS = ("cc", "ge", "pv", "rl", "rq", "va")
WgiIndicator = Literal["cc", "ge", "pv", "rl", "rq", "va"]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CoalitionGates(_Strict):
    """Eligibility gates a candidate must pass (every gate that is set)."""

    wgi_min: dict[WgiIndicator, float] = Field(default_factory=dict)
    oecd_ddg: bool = False
    eiti: bool = False
    ilo_core_min: int | None = Field(default=None, ge=0, le=8)
    irma_sites_min: int | None = Field(default=None, ge=0)

    @field_validator("wgi_min")
    @classmethod
    def _wgi_range(cls, value: dict[str, float]) -> dict[str, float]:
        for name, threshold in value.items():
            if not -2.5 <= threshold <= 2.5:
                raise ValueError(
                    f"wgi_min.{name} must lie on the WGI estimate scale -2.5 .. 2.5, "
                    f"got {threshold:g}"
                )
        return value


class MembershipScope(_Strict):
    """A candidate that joins for some stages and/or products only (both: the intersection)."""

    stages: list[str] | None = Field(default=None, min_length=1)  # [] would select nothing
    products: list[str] | None = Field(default=None, min_length=1)


class CoalitionSettings(_Strict):
    """Optional ``[coalition]`` table (module docstring)."""

    candidates: list[str] = Field(default_factory=list)
    objectives: list[Objective] = Field(default_factory=lambda: list(OBJECTIVES), min_length=1)
    members_as_players: bool | list[str] = False
    sampled: int = Field(default=0, ge=0, le=1_000_000)
    seed: int = Field(default=0, ge=0)
    on_fail: Literal["exclude", "flag"] = "exclude"
    gates: CoalitionGates = Field(default_factory=CoalitionGates)
    scope: dict[str, MembershipScope] = Field(default_factory=dict)

    @field_validator("objectives")
    @classmethod
    def _objectives_once(cls, value: list[Objective]) -> list[Objective]:
        """Each objective once (a repeated one was valued twice, under one key)."""
        if twice := sorted({o for o in value if value.count(o) > 1}):
            raise ValueError(f"{', '.join(twice)} listed twice: list each objective once")
        return value

    @field_validator("members_as_players")
    @classmethod
    def _players_once(cls, value: bool | list[str]) -> bool | list[str]:
        """Each member player once (``["USA", "usa"]`` was read as one player in silence; a
        repeated candidate or objective is refused too)."""
        if isinstance(value, bool):
            return value
        tokens = [t.strip().upper() for t in value]
        if twice := sorted({t for t in tokens if tokens.count(t) > 1}):
            raise ValueError(f"{', '.join(twice)} listed twice: list each member player once")
        return value
