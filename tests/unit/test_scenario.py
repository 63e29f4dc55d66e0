"""Scenario files: every bad input gets one clear message naming the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.errors import CritminError, ScenarioError
from critmin.scenario import PriceFloorPolicy, Scenario, TariffPolicy

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def base() -> dict[str, Any]:
    return {
        "name": "t",
        "zone": {"members": ["USA", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "lithium_carbonate"}],
        "policy": [{"type": "tariff", "rate": 0.1}],
    }


def test_examples_parse() -> None:
    for path in sorted(EXAMPLES.glob("*.toml")):
        sc = Scenario.from_file(path)
        assert sc.product and sc.zone.members, path


def test_defaults_follow_the_contract() -> None:
    sc = Scenario.from_dict(base())
    pol = sc.policy[0]
    assert isinstance(pol, TariffPolicy)
    assert pol.exporters == "non-members" and pol.importers == "members"
    floor = Scenario.from_dict(base() | {"policy": [{"type": "price_floor", "price_usd_per_t": 1}]})
    assert isinstance(floor.policy[0], PriceFloorPolicy)
    assert floor.policy[0].mechanism == "variable_levy"


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"defaults": {"sigma": 1.0}}, "defaults", "sigma must be greater than 1"),
        ({"defaults": {"sigma": 0.5}}, "defaults", "Armington"),
        ({"product": [{"id": "lithium_carbonate", "sigma": -2}]}, "product[0]", "sigma"),
        (
            {"policy": [{"type": "tariff", "rate": -0.1}]},
            "policy[0].rate",
            "must be at least 0, got -",
        ),
        ({"policy": [{"type": "price_floor"}]}, "policy[0].price_usd_per_t", "is required"),
        ({"policy": [{"type": "embargo"}]}, "policy[0]", "tariff, price_floor"),
        ({"policy": [{"rate": 0.1}]}, "policy[0]", "needs a type"),
        ({"policy": [{"type": "export_ban"}]}, "policy[0].exporters", "is required"),
        (
            {"policy": [{"type": "export_quota", "exporters": ["COD"], "share_of_baseline": -1}]},
            "policy[0].share_of_baseline",
            "must be at least 0, got -",
        ),
        (
            {"policy": [{"type": "price_floor", "mechanism": "magic", "price_usd_per_t": 5}]},
            "policy[0].mechanism",
            "variable_levy",
        ),
        ({"zone": {"members": []}}, "zone.members", "at least 1"),
        ({"product": []}, "product", "at least 1"),
        ({"prodcut": []}, "prodcut", "not a known field"),
        (
            {"policy": [{"type": "tariff", "rate": 0.1, "products": ["cobalt_oxides"]}]},
            "policy[0].products",
            "not one of the scenario's products",
        ),
        ({"product": [{"id": "a"}, {"id": "a"}]}, "product", "repeated: a"),
        (
            {"product": [{"id": "x", "supply_elasticity": {"default": 1, "CHN": -1}}]},
            "product[0]",
            "supply_elasticity must be at least 0",
        ),
    ],
)
def test_bad_scenarios_name_the_field(change: dict[str, Any], field: str, words: str) -> None:
    data = base() | change
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    assert info.value.field == field, str(info.value)
    assert words in str(info.value)


def test_bad_files(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\n[zone\nmembers = ["USA"]\n', encoding="utf-8")
    with pytest.raises(CritminError, match="not valid TOML"):
        Scenario.from_file(bad)
    with pytest.raises(CritminError, match="does not exist"):
        Scenario.from_file(tmp_path / "missing.toml")


def _cli(tmp_path: Path, text: str) -> tuple[int, str]:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    res = CliRunner().invoke(app, ["simulate", str(path)])
    return res.exit_code, res.output


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (
            'name="x"\n[zone]\nmembers=["USA","XYZ"]\n[[product]]\nid="lithium_carbonate"\n',
            "scenario field 'zone.members': unknown country or group 'XYZ'",
        ),
        (
            'name="x"\n[zone]\nmembers=["USA"]\n[[product]]\nid="unobtainium"\n',
            "scenario field 'product[0].id': unknown product 'unobtainium'",
        ),
        (
            'name="x"\n[zone]\nmembers=["USA"]\n[defaults]\nsigma=0.9\n[[product]]\nid="lithium_carbonate"\n',
            "sigma must be greater than 1",
        ),
        (
            'name="x"\n[zone]\nmembers=["USA"]\n[[product]]\nid="w"\nflows="nope.csv"\n',
            "scenario field 'product[0].flows': flows file",
        ),
        (
            'name="x"\n[zone]\nmembers=["USA"]\n[[product]]\nid="lithium_carbonate"\n'
            '[[policy]]\ntype="export_ban"\nexporters=["Narnia"]\n',
            "scenario field 'policy[0].exporters'",
        ),
    ],
)
def test_cli_rejects_bad_scenarios_cleanly(tmp_path: Path, body: str, needle: str) -> None:
    code, output = _cli(tmp_path, body)
    assert code == 2, output
    assert needle in " ".join(output.split()), output
    assert "Traceback" not in output
