"""A scenario whose export controls are policies has no disruption for the default shortfall
reference to count: its shortfall and stockpile are 0 by construction, and the run says so
(docs/uncertainty.md, "Shortfall")."""

from __future__ import annotations

from functools import cache
from typing import Any

from critmin.uncertainty import run_uncertainty
from critmin.world import World, load_world

ZONE = {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]}
LICENCE = {"type": "export_licensing", "exporters": ["CHN"], "grant_share": 0.8}
BAN = {"exporters": ["CHN"], "importers": "members", "probability": 0.5}


@cache
def _world() -> World:
    return load_world(2022)


def _run(policy: list[dict[str, Any]], disruption: list[dict[str, Any]], **kw: Any) -> Any:
    sc = {
        "name": "stockpile and controls",
        "year": 2022,
        "zone": ZONE,
        "product": [{"id": "antimony_unwrought"}],
        "policy": policy,
        "disruption": disruption,
    }
    return run_uncertainty(sc, draws=4, seed=1, workers=1, world=_world(), **kw)


def _said(res: Any) -> list[str]:
    return [w for w in res.warnings if w.startswith("no effect: shortfall and stockpile")]


def test_controls_without_a_disruption_say_the_stockpile_is_zero_by_construction() -> None:
    """An antimony licence at 0.80 cuts China's exports, yet the stockpile it sized was 0 t
    with no word why: the default reference counts only what [[disruption]] events remove."""
    res = _run([LICENCE], [])
    (said,) = _said(res)
    assert "policy[0] (export_licensing)" in said and "--reference baseline" in said
    stock = res.products["antimony_unwrought"].stockpile
    assert stock is not None and stock.tonnes == 0.0
    counted = _run([LICENCE], [], reference="baseline")
    assert not _said(counted)
    stock = counted.products["antimony_unwrought"].stockpile
    assert stock is not None and stock.tonnes > 0.0


def test_no_such_warning_with_a_disruption_or_without_controls() -> None:
    assert not _said(_run([LICENCE], [BAN]))
    assert not _said(_run([], []))
