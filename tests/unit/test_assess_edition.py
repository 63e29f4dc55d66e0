"""``critmin assess --edition``: a figure from the USGS edition that published it, named in the
output, so it can be compared with that edition's own tables (bundled data)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from critmin.assessment import assess, nir_view, us_nir
from critmin.cli import app
from critmin.errors import CritminError, UnknownYearError
from critmin.world import World

runner = CliRunner()


def test_lithium_2024_from_mcs2025_and_mcs2026(world: World) -> None:
    """Australia's 2024 lithium: 88,000 t in MCS2025 (an estimate, world 240,000 t), revised
    to 82,700 t in MCS2026 (world 222,000 t)."""
    new = assess(world, ["lithium"], ["mine"], 2024)[0]
    old = assess(world, ["lithium"], ["mine"], 2024, edition="MCS2025")[0]
    assert new["edition"] == "MCS2026" and old["edition"] == "MCS2025"
    assert new["world_total"] == 222_000 and old["world_total"] == 240_000
    shares = {s["country"]: s["share"] for s in old["top_suppliers"]}
    assert shares["AUS"] == pytest.approx(88_000 / 240_000)
    assert "USGS MCS2025" in old["source"] and "USGS MCS2025" in old["sources"][0]


def test_edition_is_case_and_space_insensitive_and_checked(world: World) -> None:
    assert assess(world, ["cobalt"], ["mine"], 2023, edition="mcs 2024")[0]["edition"] == "MCS2024"
    with pytest.raises(CritminError, match=r"unknown edition 'MCS1999'.*MCS2023"):
        assess(world, ["cobalt"], ["mine"], 2024, edition="MCS1999")
    with pytest.raises(UnknownYearError, match="MCS2023 publishes production for 2021, 2022"):
        assess(world, ["cobalt"], ["mine"], 2025, edition="MCS2023")


def test_nir_view_edition_matches_that_editions_table(world: World) -> None:
    """Cobalt's 2024 U.S. NIR: 76 % in MCS2025 (its Figure 2), 74 % in MCS2026."""
    old = nir_view(world, "USA", ["cobalt"], ["mine"], 2024, edition="MCS2025")
    new = nir_view(world, "USA", ["cobalt"], ["mine"], 2024)
    salient_old = next(r for r in old if r["method"] == "usgs_salient")
    salient_new = next(r for r in new if r["method"] == "usgs_salient")
    assert (salient_old["edition"], salient_old["published_nir"]) == ("MCS2025", "76")
    assert (salient_new["edition"], salient_new["published_nir"]) == ("MCS2026", "74")
    assert salient_old["matches_usgs"] is True and salient_old["view"] == "nir"
    assert us_nir(world, "cobalt", 2024, "MCS2025")["nir_text"] == "76"


def _json(args: list[str]) -> Any:
    res = runner.invoke(app, args)
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_cli_edition_json_and_table() -> None:
    args = ["assess", "--minerals", "lithium", "--stage", "mine"]
    recs = _json([*args, "--edition", "MCS2025", "--json"])
    assert [r["edition"] for r in recs] == ["MCS2025"]
    res = runner.invoke(app, [*args, "--edition", "MCS2025"])
    assert res.exit_code == 0 and "USGS MCS2025" in res.output
    default = runner.invoke(app, args)
    assert default.exit_code == 0 and "newest edition per figure (MCS2026)" in default.output


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--edition", "MCS1999"], "unknown edition 'MCS1999'"),
        (["--edition", "MCS2023", "--year", "2025"], "MCS2023 publishes production for"),
        (["--view", "criticality", "--edition", "MCS2025"], "--edition applies to"),
    ],
)
def test_cli_bad_edition_exits_2(args: list[str], needle: str) -> None:
    res = runner.invoke(app, ["assess", *args])
    assert res.exit_code == 2, res.output
    assert needle in res.output and "Traceback" not in res.output


def test_every_view_returns_the_one_record_type() -> None:
    """supply, nir and criticality records share view, mineral, stage, year, edition, sources
    and notes."""
    common = {"view", "mineral", "stage", "year", "edition", "sources", "notes"}
    supply = _json(["assess", "--minerals", "gallium", "--json"])
    nir = _json(["assess", "--view", "nir", "--minerals", "gallium", "--json"])
    crit = _json(["assess", "--view", "criticality", "--minerals", "gallium", "--json"])
    for view, recs in (("supply", supply), ("nir", nir), ("criticality", crit)):
        assert recs, view
        for r in recs:
            assert set(r) >= common, (view, common - set(r))
            assert r["view"] == view and isinstance(r["sources"], list)
