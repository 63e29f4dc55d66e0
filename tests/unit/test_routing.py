"""critmin assess --view routing: mirror gaps flagged as possible indirect routing."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from critmin.assessment.routing import mirror_gaps, read_comtrade
from critmin.cli import app

ROWS = """reporter,partner,cmd,flow,value
156,842,811292,X,10000000
842,156,811292,M,50000000
156,276,811292,X,8000000
276,156,811292,M,8400000
156,0,811292,X,99000000
"""


def test_a_large_mirror_gap_is_flagged_with_both_figures(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(ROWS)
    flags = mirror_gaps(read_comtrade(path))
    assert len(flags) == 1  # CHN -> DEU differs by the CIF/FOB margin only; World is no partner
    (flag,) = flags
    assert (flag["exporter"], flag["importer"], flag["hs6"]) == ("CHN", "USA", "811292")
    assert flag["exporter_reported_usd"] == 1e7 and flag["importer_reported_usd"] == 5e7
    assert flag["ratio"] == pytest.approx(5.0)
    assert "third countries" in str(flag["flag"])


def test_the_cli_needs_a_comtrade_file_and_names_missing_columns(tmp_path: Path) -> None:
    runner = CliRunner()
    res = runner.invoke(app, ["assess", "--view", "routing"])
    assert res.exit_code == 2 and "--comtrade" in res.output
    bad = tmp_path / "bad.csv"
    bad.write_text("reporter,partner,value\n1,2,3\n")
    res = runner.invoke(app, ["assess", "--view", "routing", "--comtrade", str(bad)])
    assert res.exit_code == 2 and "column(s) cmd, flow" in " ".join(res.output.split())


@pytest.mark.parametrize(
    ("rows", "words"),
    [
        ("156,842,811292,X,abc\n", "line 2: value 'abc'"),
        ("156,842,811292,X,-5\n", "at least 0"),
        ("156,842,811292,X,1e400\n", "finite"),
        ("156,842,811292,X,\n", "line 2: value"),
        ("CHN,842,811292,X,5\n", "reporter 'CHN' must be a numeric M49"),
        ("", "no rows"),
    ],
)
def test_bad_comtrade_values_get_one_message(tmp_path: Path, rows: str, words: str) -> None:
    path = tmp_path / "c.csv"
    path.write_text("reporter,partner,cmd,flow,value\n" + rows)
    res = CliRunner().invoke(app, ["assess", "--view", "routing", "--comtrade", str(path)])
    assert res.exit_code == 2, res.output
    assert words in " ".join(res.output.split()) and "internal error" not in res.output


@pytest.mark.shared_data
def test_china_to_us_811292_in_2024_is_several_times_larger_as_the_us_reports(
    shared_data: Path,
) -> None:
    path = (
        shared_data / "trade" / "critical_materials_atlas" / "comtrade_raw" / "comtrade_2024.csv.gz"
    )
    flags = mirror_gaps(read_comtrade(path), ["811292"])
    (chn_usa,) = [f for f in flags if f["exporter"] == "CHN" and f["importer"] == "USA"]
    assert float(chn_usa["ratio"]) > 4  # USD 53.3 million reported by the US, 9.6 by China


def test_hs_codes_are_checked_and_absent_ones_named(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(ROWS)
    runner = CliRunner()
    base = ["assess", "--view", "routing", "--comtrade", str(path)]
    for hs in ("abc", "81129", ","):
        res = runner.invoke(app, [*base, "--hs", hs])
        assert res.exit_code == 2 and "six-digit HS codes" in res.output, (hs, res.output)
    res = runner.invoke(app, [*base, "--hs", "999999,811292"])
    assert res.exit_code == 0 and "warning: --hs 999999: no row" in " ".join(res.output.split())


def test_codes_no_country_has_are_named(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text(ROWS + "999,842,811292,X,5000000\n")
    res = CliRunner().invoke(app, ["assess", "--view", "routing", "--comtrade", str(path)])
    flat = " ".join(res.output.split())
    assert res.exit_code == 0 and "1 reporter or partner code(s) of c.csv" in flat
    assert "(999)" in flat
    path.write_text(ROWS)
    res = CliRunner().invoke(app, ["assess", "--view", "routing", "--comtrade", str(path)])
    assert res.exit_code == 0 and "no M49 country code" not in res.output
