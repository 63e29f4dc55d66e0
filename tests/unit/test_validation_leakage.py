"""The event check's leakage row (docs/validation.md, antimony) records routed flows as customs
do: China's exports to a destination are its direct flow alone, the routed goods are China's
exports to the via. Checked against the solver's own direct and routed quantities."""

from __future__ import annotations

import importlib.util
import tomllib
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from critmin.model.solver import solve
from critmin.scenario.chains import resolve_single_markets
from critmin.scenario.spec import load_scenario
from critmin.simulation import export_prices

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "controls" / "antimony_licensing_leakage_2025.toml"


def _events() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "validation_events", ROOT / "docs" / "validation_events.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_routed_flows_count_as_chinas_exports_to_the_via_not_to_the_destination() -> None:
    """A leaky pair carries the direct and the routed flow (``q = d + l``); the event check
    kept ``l`` in China's exports to the US and the zone and added it again as US imports from
    Thailand and Mexico, so China's exports to the US fell 51.9% where China's customs (which
    record the goods as exports to the via) would show 61.8%, and to non-members 42.8% where
    they would show 7.7%."""
    data = tomllib.loads(EXAMPLE.read_text())
    got = _events().predicted_antimony(data)
    _, (rp,) = resolve_single_markets(load_scenario(data), None)
    sol = solve(rp.market, rp.policy)
    codes, V = rp.baseline.countries, rp.baseline.V
    i, usa = codes.index("CHN"), codes.index("USA")
    routed = np.zeros(len(codes))
    for leak in sol.groups.leaks:
        routed[leak.route.destination] += leak.quantity
    assert routed[usa] > 0.0
    price = export_prices(sol)[i]
    direct = price * (sol.q[i] - routed)
    direct[i] = 0.0
    expected_usa = 100.0 * (direct[usa] / V[i, usa] - 1.0)
    assert got["to USA"] == pytest.approx(expected_usa, rel=1e-9)
    assert got["US imports from CHN"] == pytest.approx(expected_usa, rel=1e-9)
    # the routed goods leave China for the vias (non-members here), at the pair's price
    others = ~rp.members
    others[i] = False
    after = direct[others].sum() + float((price * routed).sum())
    expected_others = 100.0 * (after / V[i, others].sum() - 1.0)
    assert got["to non-members"] == pytest.approx(expected_others, rel=1e-9)
