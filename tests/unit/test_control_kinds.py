"""A destination quota group says which instrument set its cap: ``quota``, ``licence``, or
``quota and licence`` where both give the same cap; the lower cap wins when they differ
(results ``export_controls[].kind``, the control table's words, and the ``restriction`` of the
flows routed around it)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from critmin.control_tables import control_rows, routed_rows
from critmin.simulation import simulate

QUOTA = {
    "type": "export_quota",
    "exporters": ["CHN"],
    "importers": ["USA", "JPN"],
    "share_of_baseline": 0.5,
}
LICENCE = {"type": "export_licensing", "exporters": ["CHN"], "importers": ["USA", "JPN"]}


def run(*policies: dict[str, Any]) -> dict[str, Any]:
    scenario = {
        "name": "antimony controls",
        "year": 2022,
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "antimony_unwrought"}],
        "policy": list(policies),
    }
    return simulate(scenario).to_dict()["products"]["antimony_unwrought"]


def kinds(product: dict[str, Any]) -> dict[tuple[str, ...], str]:
    return {tuple(c["destinations"]): c["kind"] for c in product["export_controls"]}


def test_each_instrument_names_its_groups() -> None:
    assert kinds(run(QUOTA)) == {("JPN", "USA"): "quota"}
    assert kinds(run(LICENCE | {"grant_share": 0.5})) == {("JPN", "USA"): "licence"}
    both = run(QUOTA, LICENCE | {"grant_share": 0.5})
    assert kinds(both) == {("JPN", "USA"): "quota and licence"}
    # the words of the control table follow the record
    rows = control_rows(both, {"USA", "JPN"})
    assert rows[0]["what"].startswith("quota and licence at ")


def test_the_lower_cap_names_the_group_and_sets_it() -> None:
    tighter_licence = run(QUOTA, LICENCE | {"grant_share": 0.3})
    assert kinds(tighter_licence) == {("JPN", "USA"): "licence"}
    tighter_quota = run(QUOTA, LICENCE | {"grant_share": 0.7})
    assert kinds(tighter_quota) == {("JPN", "USA"): "quota"}
    # the kind is a label only: the same cap solves to the same numbers either way
    a = run(QUOTA)["export_controls"][0]
    b = run(LICENCE | {"grant_share": 0.5})["export_controls"][0]
    assert a["cap_usd"] == b["cap_usd"] and a["exports_usd"] == b["exports_usd"]


def test_split_destinations_keep_their_own_kind() -> None:
    mixed = run(
        QUOTA | {"importers": ["USA"]},
        LICENCE | {"importers": ["JPN"], "grant_share": 0.4},
    )
    assert kinds(mixed) == {("USA",): "quota", ("JPN",): "licence"}


def test_routed_flows_name_the_instrument_they_leak_around() -> None:
    """The licensing-leakage example: every flow routed via Thailand or Mexico leaks around
    a licence, and says so (it said "quota" before); a quota leaks as a quota."""
    example = Path(__file__).resolve().parents[2] / "examples" / "controls"
    product = simulate(example / "antimony_licensing_leakage_2025.toml").to_dict()["products"][
        "antimony_unwrought"
    ]
    routed = product["leakage"]
    assert routed and {r["restriction"] for r in routed} == {"licence"}
    assert {r["via"] for r in routed} <= {"THA", "MEX"}
    assert {r["restriction"] for r in routed_rows(product)} == {"licence"}
    # the same with quotas: the routed goods leak around a quota
    leaky = QUOTA | {"importers": "members", "share_of_baseline": 0.3}
    quota = run(
        leaky | {"leak_via": ["THA", "MEX"], "leak_cost": 0.2, "leak_share": 0.3},
        QUOTA | {"importers": "non-members", "share_of_baseline": 0.3},
    )
    assert quota["leakage"] and {r["restriction"] for r in quota["leakage"]} == {"quota"}
