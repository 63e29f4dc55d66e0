"""The Python API as a notebook uses it: wrong arguments are one CritminError naming what is
wrong, results are short to print, and what a call hands out cannot corrupt a later call."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

import critmin
from critmin.errors import CritminError, OutputPathError, UnknownYearError
from critmin.sweep import run_sweep, values_between

SCENARIO: dict[str, Any] = {
    "name": "api",
    "year": 2024,
    "zone": {"members": ["USA", "JPN"]},
    "product": [{"id": "lithium_carbonate"}],
    "policy": [{"type": "tariff", "rate": 0.25, "exporters": ["CHN"], "importers": "members"}],
}


def test_a_world_that_is_not_a_world_is_one_critmin_error() -> None:
    """``simulate(s, 2024)`` (the year where the world goes) failed with an AttributeError deep
    in calibration."""
    with pytest.raises(CritminError, match=r"world: expected a World .* got int"):
        critmin.simulate(SCENARIO, 2024)  # type: ignore[arg-type]


def test_a_world_of_another_year_is_refused() -> None:
    """A 2022 world under a 2024 scenario was calibrated on 2022 flows and labelled 2024."""
    with pytest.raises(CritminError, match=r"scenario's year is 2024 .* of 2022"):
        critmin.simulate(SCENARIO, critmin.load_world(2022))


def test_a_sweep_of_the_year_runs_each_point_on_that_years_data() -> None:
    """The sweep loaded the world of the scenario's year once and ran every point on it."""
    sweep = run_sweep(SCENARIO, "year", [2022])
    alone = critmin.simulate({**SCENARIO, "year": 2022}).headline()
    assert sweep.points[0].figures["zone_welfare_change_usd"] == pytest.approx(
        alone.figure("zone_welfare_change_usd").value, rel=1e-12
    )


def test_sweep_values_may_be_any_iterable_of_numbers() -> None:
    """A numpy array failed with numpy's "truth value is ambiguous", a generator with a
    TypeError."""
    path = "policy[0].rate"
    listed = run_sweep(SCENARIO, path, [0.1, 0.2]).to_dict()
    assert run_sweep(SCENARIO, path, np.array([0.1, 0.2])).to_dict() == listed
    assert run_sweep(SCENARIO, path, (v for v in [0.1, 0.2])).to_dict() == listed


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: run_sweep(SCENARIO, "policy[0].rate", "0.1"), "expected a list of numbers"),
        (lambda: run_sweep(SCENARIO, "policy[0].rate", 0.1), "expected a list of numbers"),
        (lambda: run_sweep(SCENARIO, "policy[0].rate", ["x"]), "'x' is not a finite number"),
        (lambda: run_sweep(SCENARIO, 5, [0.1]), r"expected a field path .* got int"),
        (lambda: values_between(1, 2, 3.5), "whole number"),
        (lambda: values_between("1", 2, 3), "finite numbers"),
    ],
)
def test_bad_sweep_arguments_are_one_critmin_error(call: Any, message: str) -> None:
    with pytest.raises(CritminError, match=message):
        call()


def test_editing_to_dict_leaves_the_result_as_it_was() -> None:
    """``to_dict()`` handed out the result's own dicts: clearing a product's countries in it
    emptied every later ``frame("countries")`` of the result."""
    result = critmin.simulate(SCENARIO)
    before = result.to_dict()
    result.frames()  # the helpers read the result's own dicts (no copy): and leave them so
    result.headline()
    result.figure("map", "lithium_carbonate")
    assert result.to_dict() == before
    rows = len(result.frame("countries"))
    data = result.to_dict()
    data["products"]["lithium_carbonate"]["countries"].clear()
    data["members"].append("CHN")
    assert len(result.frame("countries")) == rows
    assert result.to_dict()["members"] == ["JPN", "USA"]
    assert result.to_dict(copy=False)["products"] is result.products


def test_a_result_prints_as_one_short_line() -> None:
    """The dataclass repr printed every number of the contract (250 kB for two products)."""
    text = repr(critmin.simulate(SCENARIO))
    assert text == (
        "SimulationResult(scenario='api', year=2024, products=['lithium_carbonate'], "
        "members=2, converged=True)"
    )


def test_what_a_world_hands_out_cannot_change_its_later_answers() -> None:
    """``world.group`` and ``world.product_record`` handed out the world's own cached list and
    dict: appending CHN to ``group("G7")`` made it a G7 member of every later zone."""
    world = critmin.load_world(2024)
    g7 = world.group("G7")
    g7.append("CHN")
    world.product_record("lithium_carbonate")["product_id"] = "other"
    assert "CHN" not in world.group("G7")
    assert "CHN" not in world.resolve_countries(["G7"])
    assert world.product_record("lithium_carbonate")["product_id"] == "lithium_carbonate"


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda w: w.group(5), "UnknownCountryError"),
        (lambda w: w.resolve_countries(["USA", 5]), "UnknownCountryError"),
        (lambda w: w.product_record(811292), "UnknownProductError"),
        (lambda w: w.check_mineral(None), "UnknownMineralError"),
    ],
)
def test_a_world_lookup_of_a_non_text_value_is_its_critmin_error(call: Any, error: str) -> None:
    """A number or None where a code goes failed with an AttributeError (``.strip()``) or a
    TypeError from difflib."""
    with pytest.raises(CritminError, match="expected text") as info:
        call(critmin.load_world(2024))
    assert type(info.value).__name__ == error


PATHS = "examples/paths/lithium_floor_2026_2035.toml"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"years": "2030-2020"}, r"paths option 'years': expected 1900 <= first < last"),
        ({"years": "abc"}, "paths option 'years': expected FIRST-LAST"),
        ({"years": 2030}, "paths option 'years': .*string"),
        ({"draws": 2.5}, "paths option 'draws': .*integer"),
        ({"draws": -1}, "paths option 'draws': .*greater than or equal to 0"),
        ({"chunk": 0}, "chunk size must be a whole number of at least 1, got 0"),
        ({"workers": 1.5}, "workers must be a whole number of at least 1, got 1.5"),
    ],
)
def test_bad_paths_options_are_one_critmin_error(kwargs: dict[str, Any], message: str) -> None:
    """A bad ``years`` was a bare ValueError (the command line turned it into a message), an
    int ``years`` a TypeError, ``draws=2.5`` a TypeError in ``range`` (the table's options were
    copied in unvalidated) and ``chunk=0`` an IndexError after the central paths were solved."""
    from critmin.paths import run_paths

    root = Path(__file__).resolve().parents[2]
    with pytest.raises(CritminError, match=message):
        run_paths(root / PATHS, **{"draws": 4, **kwargs})


def test_paths_csv_into_a_folder_named_as_text(tmp_path: Path) -> None:
    """``write_csv("out")`` failed with ``str / str``; a file in the folder's place is an
    OutputPathError."""
    from critmin.paths import run_paths

    root = Path(__file__).resolve().parents[2]
    result = run_paths(root / PATHS, draws=2, workers=1)
    written = result.write_csv(str(tmp_path / "out"))
    assert sorted(p.name for p in written) == sorted(p.name for p in (tmp_path / "out").iterdir())
    (tmp_path / "file").write_text("x")
    with pytest.raises(OutputPathError, match="is a file"):
        result.write_csv(str(tmp_path / "file"))


def test_load_world_of_a_year_that_is_not_a_whole_number() -> None:
    """``load_world("2024")`` said "no bundled trade data for 2024: trade years are 2022, 2024";
    a numpy integer is a whole number."""
    for year in ("2024", None, 2024.0, True):
        with pytest.raises(UnknownYearError, match=r"year: expected a whole number such as 2024"):
            critmin.load_world(year)  # type: ignore[arg-type]
    assert critmin.load_world(np.int64(2024)).year == 2024  # type: ignore[arg-type]


def test_an_unknown_key_figure_is_a_critmin_error_naming_the_keys() -> None:
    """``headline().figure("nope")`` was a bare KeyError."""
    answer = critmin.simulate(SCENARIO).headline()
    with pytest.raises(CritminError, match=r"'zone_welfare' \(did you mean .*; expected one of"):
        answer.figure("zone_welfare")


def test_uncertainty_chunk_and_workers_are_whole_numbers() -> None:
    """``chunk_size=2.5`` failed with a TypeError in ``range``."""
    from critmin.uncertainty import run_uncertainty

    with pytest.raises(CritminError, match="chunk size must be a whole number"):
        run_uncertainty(SCENARIO, draws=2, chunk_size=2.5)  # type: ignore[arg-type]
    with pytest.raises(CritminError, match="workers must be a whole number"):
        run_uncertainty(SCENARIO, draws=2, workers=0)


def test_the_model_refuses_what_is_not_a_market_or_a_policy() -> None:
    """A dict or a number in a market's or a policy's place failed with an AttributeError
    inside the solve; complex baseline sales lost their imaginary part with a ComplexWarning."""
    from critmin.model import Market, ModelInputError, Policy, solve, solve_batch

    V = np.array([[10.0, 2.0], [3.0, 8.0]])
    market = Market(V, np.zeros((2, 2)), 4.0, 0.5, 1.0)
    with pytest.raises(ModelInputError, match=r"policies\[0\]: expected a Policy, got dict"):
        solve(market, {})  # type: ignore[arg-type]
    with pytest.raises(ModelInputError, match=r"markets\[1\]: expected a Market, got int"):
        solve_batch([market, 1], [Policy(), Policy()])  # type: ignore[list-item]
    with pytest.raises(ModelInputError, match="V: expected an array of real numbers"):
        Market(V.astype(complex), np.zeros((2, 2)), 4.0, 0.5, 1.0)


def test_coalition_candidates_given_as_text_are_refused_as_such() -> None:
    """``candidates="CHN"`` was read letter by letter: "unknown country or group 'C'"."""
    from critmin.coalition import run_coalition

    root = Path(__file__).resolve().parents[2]
    with pytest.raises(CritminError, match=r"coalition.candidates': Input should be a valid list"):
        run_coalition(root / "examples/coalition_core.toml", candidates="CHN", cache_dir=False)


def test_the_analyses_results_print_as_one_line() -> None:
    """The dataclass reprs printed every draw's arrays (90 kB for a paths run of four draws)."""
    from critmin.coalition import run_coalition
    from critmin.paths import run_paths
    from critmin.uncertainty import run_uncertainty

    root = Path(__file__).resolve().parents[2]
    paths = repr(run_paths(root / PATHS, draws=2, workers=1))
    assert paths.startswith("PathsResult(scenario=") and paths.endswith("draws=2)")
    assert "\n" not in paths and len(paths) < 300
    drawn = repr(run_uncertainty(SCENARIO, draws=3, seed=1, workers=1))
    assert drawn == (
        "UncertaintyResult(scenario='api', products=['lithium_carbonate'], draws=3, seed=1, "
        "converged=True)"
    )
    coalition = run_coalition(SCENARIO, candidates=["KOR"], cache_dir=False, workers=1)
    assert repr(coalition).startswith("CoalitionResult(scenario='api', year=2024, players=[")
    assert len(repr(coalition)) < 300


def test_a_sweep_takes_a_loaded_world_as_simulate_does() -> None:
    """``run_sweep`` had no ``world`` argument (simulate, run_uncertainty, run_paths and
    run_coalition have one): every sweep loaded the data again."""
    world = critmin.load_world(2024)
    assert run_sweep(SCENARIO, "policy[0].rate", [0.1], world=world).to_dict() == (
        run_sweep(SCENARIO, "policy[0].rate", [0.1]).to_dict()
    )
    with pytest.raises(CritminError, match="the world's trade data are of 2022"):
        run_sweep(SCENARIO, "policy[0].rate", [0.1], world=critmin.load_world(2022))
