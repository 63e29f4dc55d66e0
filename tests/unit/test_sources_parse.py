"""critmin.sources._parse: numbers as published, units, reading text tables."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from critmin.errors import SourceFormatError
from critmin.sources._parse import mass_factor, parse_number, parse_numbers, read_csv_text, slug


@pytest.mark.parametrize(
    ("cell", "value", "reason", "estimated"),
    [
        ("1,700", 1700.0, None, False),
        (" 82,700 ", 82700.0, None, False),
        ("0.5", 0.5, None, False),
        ("\u221288", -88.0, None, False),
        ("e150", 150.0, None, True),
        (">2000000", 2_000_000.0, "band", False),
        (">25", 25.0, "band", False),
        ("<1,000", 0.0, "band", False),
        ("Less than ½ unit.", 0.0, "band", False),
        ("50–300", 50.0, "band", False),
        ("330 - 390", 330.0, "band", False),
        ("W", math.nan, "W", False),
        ("NA", math.nan, "NA", False),
        ("--", math.nan, "--", False),
        ("\u2014", math.nan, "--", False),
        (" -", math.nan, "--", False),
        ("XX", math.nan, "XX", False),
        ("E", math.nan, "E", False),
        ("Large", math.nan, "text", False),
        ("", math.nan, "blank", False),
        (None, math.nan, "blank", False),
    ],
)
def test_parse_number(cell: str | None, value: float, reason: str | None, estimated: bool) -> None:
    parsed = parse_number(cell)
    assert (math.isnan(parsed.value) and math.isnan(value)) or parsed.value == value
    assert parsed.missing_reason == reason
    assert parsed.estimated is estimated


@given(st.integers(min_value=0, max_value=10**12))
def test_thousands_separators_round_trip(n: int) -> None:
    assert parse_number(f"{n:,}").value == float(n)
    assert parse_number(str(n)).missing_reason is None


def test_parse_numbers_keeps_alignment_with_a_shifted_index() -> None:
    cells = pd.Series(["W", "1,700", ""], index=[5, 6, 7])
    parsed = parse_numbers(cells)
    assert list(parsed.index) == [5, 6, 7]
    assert parsed.loc[5, "missing_reason"] == "W"
    assert parsed.loc[6, "value"] == 1700.0 and parsed.loc[6, "value_text"] == "1,700"
    assert parsed.loc[7, "missing_reason"] == "blank"


def test_mass_factor() -> None:
    assert mass_factor("kt") == 1e3
    assert mass_factor("kg") == 1e-3
    assert mass_factor("Mt") == 1e6
    assert mass_factor("mmt") == 1e6
    assert mass_factor("thousand metric dry tons") == 1e3
    assert mass_factor("million carats") == pytest.approx(0.2)
    assert mass_factor("million cubic meters") is None
    with pytest.raises(KeyError):
        mass_factor("furlongs")


def test_slug() -> None:
    assert slug("Rare earths ") == "rare_earths"
    assert slug("Pumice & Pumicite") == "pumice_and_pumicite"
    assert slug("Nitrogen (Fixed)—Ammonia") == "nitrogen_fixed_ammonia"


def test_read_csv_text_errors(tmp_path: Path, source_fixtures: Path) -> None:
    with pytest.raises(SourceFormatError, match="file not found"):
        read_csv_text(tmp_path / "nope.csv")
    with pytest.raises(SourceFormatError, match="empty"):
        read_csv_text(source_fixtures / "empty.csv")
    with pytest.raises(SourceFormatError, match=r"garbage\.csv.*binary"):
        read_csv_text(source_fixtures / "garbage.csv")
    cp = tmp_path / "cp.csv"
    cp.write_bytes("a,b\nT\xfcrkiye,1\n".encode("cp1252"))
    with pytest.raises(SourceFormatError, match="wrong text encoding"):
        read_csv_text(cp)
    assert read_csv_text(cp, encodings=("utf-8-sig", "cp1252")).iloc[0, 0] == "Türkiye"
    with pytest.raises(SourceFormatError, match="not a file"):
        read_csv_text(tmp_path)
