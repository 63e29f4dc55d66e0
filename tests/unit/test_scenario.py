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
        ({"chain": [{"id": "lithium"}, {"id": "lithium"}]}, "chain", "repeated: lithium"),
        ({"policy": [{"type": "tariff", "rate": 0.1}] * 201}, "policy", "at most 200"),
        # numbers far beyond any meaning are refused where they are written, not met later
        # as an overflow
        ({"uncertainty": {"ranges": {"sigma": [0.5, 1e300]}}}, "uncertainty.ranges", "<= 100"),
        (
            {
                "policy": [
                    {"type": "export_quota", "exporters": ["CHN"], "share_of_baseline": 1e308}
                ]
            },
            "policy[0].share_of_baseline",
            "at most 100",
        ),
        (
            {"disruption": [{"probability": 0.1, "stage": "refine"}]},
            "disruption[0].stage",
            "this scenario has no chain",
        ),
        (
            {"product": [{"id": "x", "supply_elasticity": {"default": 1, "CHN": -1}}]},
            "product[0]",
            "supply_elasticity must be at least 0",
        ),
        (
            {"zone": {"members": ["USA"], "origin": {"rule": "rvc", "threshold": 5}}},
            "zone.origin.threshold",
            "must be at most 1, got 5",
        ),
        # true and false are not read as 1 and 0 (a 100% tariff nobody wrote)
        ({"policy": [{"type": "tariff", "rate": True}]}, "policy[0].rate", "not true or false"),
        (
            {"policy": [{"type": "price_floor", "price_usd_per_t": True}]},
            "policy[0].price_usd_per_t",
            "not true or false",
        ),
        (
            {"zone": {"members": ["USA"], "origin": {"threshold": True}}},
            "zone.origin.threshold",
            "not true or false",
        ),
        ({"defaults": {"sigma": {"default": True}}}, "defaults.sigma", "not true or false"),
        ({"year": False}, "year", "not true or false"),
        (
            {"shock": [{"type": "demand", "change": True}]},
            "shock[0].change",
            "not true or false",
        ),
        # nor is text: lax mode read "0.8" as 0.8, a number quoted by mistake ran as typed
        (
            {"policy": [{"type": "export_licensing", "exporters": ["CHN"], "grant_share": "0.8"}]},
            "policy[0].grant_share",
            "expected a number, got text '0.8'",
        ),
        ({"policy": [{"type": "tariff", "rate": "0.1"}]}, "policy[0].rate", "got text '0.1'"),
        ({"year": "2024"}, "year", "expected a number, got text '2024'"),
        (
            {"defaults": {"supply_elasticity": {"default": 1, "CHN": "1.5"}}},
            "defaults.supply_elasticity.CHN",
            "got text '1.5' (write the number without quotes)",
        ),
        ({"coalition": {"seed": "3"}}, "coalition.seed", "got text '3'"),
        (
            {"uncertainty": {"ranges": {"sigma": ["0.5", 2]}}},
            "uncertainty.ranges.sigma[0]",
            "got text '0.5'",
        ),
        # a member player named twice was one player in silence (a candidate or an
        # objective named twice is refused)
        (
            {"coalition": {"members_as_players": ["USA", "usa "]}},
            "coalition.members_as_players",
            "USA listed twice: list each member player once",
        ),
    ],
)
def test_bad_scenarios_name_the_field(change: dict[str, Any], field: str, words: str) -> None:
    data = base() | change
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    assert info.value.field == field, str(info.value)
    assert words in str(info.value)


def test_booleans_are_kept_where_a_field_takes_them() -> None:
    sc = Scenario.from_dict(
        base() | {"coalition": {"gates": {"oecd_ddg": True}}, "chain": [], "policy": []}
    )
    assert sc.coalition is not None and sc.coalition.gates.oecd_ddg is True


def test_text_is_kept_where_a_field_takes_it_and_integers_stay_numbers() -> None:
    """The text check refuses text only where no text is taken: words (a selector, a
    mechanism), codes as table keys and integers for float fields are read as before."""
    sc = Scenario.from_dict(
        base()
        | {
            "defaults": {"sigma": 4, "supply_elasticity": {"default": 1, "CHN": 2}},
            "policy": [
                {"type": "tariff", "exporters": "non-members", "importers": ["USA"], "rate": 1},
                {"type": "price_floor", "mechanism": "variable_levy", "price_usd_per_t": 15000},
            ],
        }
    )
    assert sc.defaults.sigma == 4.0 and isinstance(sc.defaults.sigma, float)
    assert sc.policy[0].exporters == "non-members"


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


# ----------------------------------------------------------------------------- messages, zone rule


def test_did_you_mean_names_near_misses_only() -> None:
    from critmin.errors import did_you_mean

    assert did_you_mean("nmae", ["name", "year", "zone"]) == " (did you mean 'name'?)"
    assert did_you_mean("TARIF", ["tariff", "export_ban"]) == " (did you mean 'tariff'?)"
    assert did_you_mean("xyz", ["name", "year"]) == ""


def test_the_error_that_explains_the_others_is_chosen() -> None:
    """An unknown field explains the missing one; NaN is named before any range."""
    data = base()
    data["nmae"] = data.pop("name")
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(data)
    assert info.value.field == "nmae" and "did you mean 'name'" in info.value.problem
    with pytest.raises(ScenarioError) as info:
        Scenario.from_dict(base() | {"policy": [{"type": "tariff", "rate": float("nan")}]})
    assert info.value.problem == "must be a finite number, got nan"


def test_bom_and_depth(tmp_path: Path) -> None:
    path = tmp_path / "bom.toml"
    path.write_text('\ufeffname = "x"\n[zone]\nmembers = ["USA"]\n[[product]]\nid = "a"\n')
    assert Scenario.from_file(path).name == "x"
    deep: dict[str, Any] = {}
    node = deep
    for _ in range(40):
        node["a"] = {}
        node = node["a"]
    with pytest.raises(ScenarioError, match="nested more than 16 levels"):
        Scenario.from_dict(base() | {"description": deep})


def test_watch_rule_is_one_for_every_command() -> None:
    """A watch group keeps its countries outside the zone; a watch country that is a member
    is an error (the same function serves simulate and assess)."""
    from critmin.scenario.resolution import ZoneListError, zone_lists
    from critmin.world import load_world

    world = load_world()
    members, watch, dropped = zone_lists(world, ["USA", "CAN", "JPN", "EU27"], ["G7"])
    assert watch == ["GBR"] and "USA" in dropped and "USA" in members
    with pytest.raises(ZoneListError, match="USA are also zone members"):
        zone_lists(world, ["USA", "CAN"], ["USA", "CHN"])
    members, watch, _ = zone_lists(world, ["BBB"], ["AAA"], {"AAA", "BBB"})
    assert (members, watch) == (["BBB"], ["AAA"])


def test_flows_line_numbers_count_blank_lines(tmp_path: Path) -> None:
    from critmin.baseline import read_user_flows

    path = tmp_path / "f.csv"
    path.write_text("exporter,importer,value_usd\nAAA,BBB,1\n\n\nBBB,AAA,x\n", encoding="utf-8")
    with pytest.raises(ScenarioError, match="line 5, column value_usd"):
        read_user_flows(path, "product[0].flows")
    path.write_text("\ufeffExporter, importer ,value_usd\naaa,bbb,1\n", encoding="utf-8")
    frame = read_user_flows(path, "product[0].flows")
    assert list(frame["exporter"]) == ["AAA"] and frame["value_usd"].iloc[0] == 1.0


def test_output_paths_are_checked_before_work(tmp_path: Path) -> None:
    from critmin.errors import OutputPathError
    from critmin.util import check_input_dir, check_output_file

    assert check_output_file(tmp_path / "new" / "deeper" / "r.json", "--out", (".json",))
    assert not (tmp_path / "new").exists()  # nothing created by the check
    for bad, words in [
        (tmp_path, "is a folder"),
        (tmp_path / "r.xlsx", "must end in .json"),
        (Path("/proc/x.json"), "cannot create a file"),
    ]:
        with pytest.raises(OutputPathError, match=words):
            check_output_file(bad, "--out", (".json",))
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputPathError, match="is a file, not a folder"):
        check_output_file(tmp_path / "file" / "r.json", "--out")
    with pytest.raises(OutputPathError, match="does not exist"):
        check_input_dir(tmp_path / "missing", "--source")


@pytest.mark.parametrize("source", [None, 5, [], 2.5])
def test_the_python_api_names_a_source_that_is_no_scenario(source: Any) -> None:
    import critmin

    with pytest.raises(
        ScenarioError, match="expected a scenario file's path, a dict or a Scenario"
    ):
        critmin.simulate(source)


def test_flows_file_too_large_is_refused_unread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flows file past the size limit (or one that never ends, /dev/zero) is one message
    naming it, read no further than the limit: it was read whole, gigabytes in seconds."""
    import critmin.baseline as baseline

    monkeypatch.setattr(baseline, "MAX_FLOWS_BYTES", 64)
    path = tmp_path / "f.csv"
    path.write_text("exporter,importer,value_usd\n" + "AAA,BBB,1\n" * 10, encoding="utf-8")
    with pytest.raises(ScenarioError, match=r"f\.csv is larger than"):
        baseline.read_user_flows(path, "product[0].flows")
    zero = Path("/dev/zero")
    if zero.exists():
        with pytest.raises(ScenarioError, match="/dev/zero is larger than"):
            baseline.read_user_flows(zero, "product[0].flows")


def test_flows_with_too_many_countries_are_refused(tmp_path: Path) -> None:
    """A flows file naming more countries than a market can have is a scenario error, not
    a MemoryError (an internal error) from arrays of the square of their number."""
    from critmin.baseline import read_user_flows

    codes = [f"{chr(65 + k // 676)}{chr(65 + k // 26 % 26)}{chr(65 + k % 26)}" for k in range(1001)]
    assert len(set(codes)) == 1001  # one more than critmin.baseline.MAX_USER_COUNTRIES
    rows = "".join(f"{c},{c},1\n" for c in codes)
    path = tmp_path / "f.csv"
    path.write_text("exporter,importer,value_usd\n" + rows, encoding="utf-8")
    with pytest.raises(
        ScenarioError, match="names 1,001 countries or regions, more than the 1,000"
    ):
        read_user_flows(path, "product[0].flows")
    path.write_text("exporter,importer,value_usd\n" + rows.split("\n", 1)[1], encoding="utf-8")
    assert len(read_user_flows(path, "product[0].flows")) == 1000


def test_empty_file_names_are_refused() -> None:
    """``flows = ""`` and ``tariffs.file = ""`` name no file: a scenario error naming the
    field, not a run on the bundled flows (or without the tariff file) in silence."""
    with pytest.raises(ScenarioError, match=r"'product\[0\]\.flows': must not be empty"):
        Scenario.from_dict(base() | {"product": [{"id": "lithium_carbonate", "flows": ""}]})
    with pytest.raises(ScenarioError, match=r"'tariffs\.file': must not be empty"):
        Scenario.from_dict(base() | {"tariffs": {"file": ""}})


def test_a_tariff_file_that_is_a_device_is_named_so(tmp_path: Path) -> None:
    """``tariffs.file = "/dev/zero"`` (or a pipe) was said not to exist; it is named as not a
    regular file, and a missing file and a folder keep their own messages."""
    from critmin.errors import CritminError
    from critmin.scenario.tariffs import read_tariff_file

    for path, words in (
        (Path("/dev/zero"), "/dev/zero is not a regular file: give a CSV file"),
        (tmp_path / "missing.csv", "missing.csv does not exist"),
        (tmp_path, "is a folder: give a CSV file"),
    ):
        with pytest.raises(CritminError, match=r"tariffs\.file") as err:
            read_tariff_file(path, {"USA"})
        assert words in str(err.value), str(err.value)
