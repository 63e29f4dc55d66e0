"""Helpers shared by the paths tests (imported by name: pytest puts this folder on sys.path):
the zone, a quiet path (no demand growth, no shocks), the lithium carbonate paths scenario, a
scenario's path model and its central path (no shocks; only certain disruptions fire)."""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

from critmin.model.chain_solver import ChainSolution
from critmin.paths.engine import central_inputs, simulate_path
from critmin.paths.setup import PathModel, path_model
from critmin.scenario.paths_settings import PathsSettings
from critmin.scenario.spec import load_scenario
from critmin.world import World, load_world

YEARS = list(range(2025, 2033))
MEMBERS = ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"]
ZONE = {"members": MEMBERS, "watch": ["CHN"]}
QUIET = {"demand_growth": False, "shocks": False}


def scenario(
    paths: dict[str, Any], disruption: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Lithium carbonate, a USD 20,000/t floor from 2026 over 2025-2032, ``paths`` on top."""
    return {
        "name": "paths test",
        "zone": ZONE,
        "product": [{"id": "lithium_carbonate"}],
        "disruption": disruption or [],
        "paths": {"floor_usd_per_t": 20000, "years": "2025-2032", "start_year": 2026, **paths},
    }


@cache
def world() -> World:
    """The bundled world of 2024, loaded once."""
    return load_world(2024)


def scenario_model(data: dict[str, Any]) -> tuple[PathModel, PathsSettings]:
    """The path model of a scenario with a ``[paths]`` table, and its settings."""
    sc = load_scenario(data)
    assert sc.paths is not None
    return path_model(sc, world(), sc.paths), sc.paths


def model_of(
    paths: dict[str, Any], disruption: list[dict[str, Any]] | None = None
) -> tuple[PathModel, PathsSettings]:
    """:func:`scenario_model` of :func:`scenario`."""
    return scenario_model(scenario(paths, disruption))


def central(
    model: PathModel,
    settings: PathsSettings,
    mech: str,
    keep: list[ChainSolution] | None = None,
    years: list[int] = YEARS,
) -> dict[str, np.ndarray]:
    """The central path of ``mech`` over ``years`` (each year's solution appended to
    ``keep``)."""
    T, S, E = len(years), len(model.stages), len(model.events)
    return simulate_path(model, settings, mech, years, *central_inputs(T, S, E), (0.0, 0.0), keep)
