"""critmin.countries: every spelling the sources use, M49 codes, errors."""

from __future__ import annotations

import csv
from importlib import resources

import pytest

from critmin.countries import (
    all_countries,
    country_name,
    is_aggregate,
    m49_to_iso3,
    require_iso3,
    strip_estimate_marker,
    to_iso3,
)
from critmin.errors import CritminError, UnknownCountryError


@pytest.mark.parametrize(
    ("name", "iso3"),
    [
        # USGS MCS
        ("Congo (Kinshasa)", "COD"),
        ("Burma", "MMR"),
        ("Korea, Republic of", "KOR"),
        ("Russia ", "RUS"),
        ("United\xa0States", "USA"),
        ("United States1", "USA"),
        ("Other countries6", "OTH"),
        ("Other Countries", "OTH"),
        ("World total (rounded) 10", "WLD"),
        ("World total (rounded), excluding U.S. production", "WLD"),
        ("Brazil (beneficiated)", "BRA"),
        ("Peru, crude borates", "PER"),
        ("Côte d’Ivoire", "CIV"),
        ("Chinae", "CHN"),
        ("Korea, Republic ofe", "KOR"),
        ("United\xa0States and Canada", "OTH"),
        ("China, Germany, and Russia", "OTH"),
        # EU CRM
        ("Congo, D.R.", "COD"),
        ("Congo", "COG"),
        ("Korea, South", "KOR"),
        ("Türkiye", "TUR"),
        ("Turkyie", "TUR"),
        ("Brasilia", "BRA"),
        ("Libanon", "LBN"),
        # WGI legacy and plain codes
        ("ZAR", "COD"),
        ("ROM", "ROU"),
        ("ADO", "AND"),
        ("TMP", "TLS"),
        ("WBG", "PSE"),
        ("KSV", "XKX"),
        ("AUS", "AUS"),
        ("chl", "CHL"),
        ("S19", "TWN"),
        # APRI free text
        ("England", "GBR"),
        ("USA", "USA"),
        ("South Korea", "KOR"),
        ("Ivory Coast", "CIV"),
        # numbers are M49
        ("842", "USA"),
        (156, "CHN"),
    ],
)
def test_to_iso3_resolves_source_spellings(name: str | int, iso3: str) -> None:
    assert to_iso3(name) == iso3


@pytest.mark.parametrize("name", ["Atlantis", "", "   ", None, "EU", "Somaliland", "568"])
def test_to_iso3_unknown_or_not_a_country_is_none(name: str | None) -> None:
    assert to_iso3(name) is None


def test_estimate_marker_is_split_only_when_it_makes_the_name_unknown() -> None:
    assert strip_estimate_marker("Russiae") == ("Russia", True)
    assert strip_estimate_marker("Other countriese") == ("Other countries", True)
    assert strip_estimate_marker("Zimbabwe") == ("Zimbabwe", False)
    assert strip_estimate_marker("Ukraine, concentrate") == ("Ukraine, concentrate", False)


@pytest.mark.parametrize(
    ("code", "iso3"),
    [(842, "USA"), (156, "CHN"), (251, "FRA"), (699, "IND"), (490, "TWN"), (757, "CHE"),
     (579, "NOR"), (840, "USA"), (180, "COD"), (0, "WLD"), ("36", "AUS")],
)  # fmt: skip
def test_m49_to_iso3(code: int | str, iso3: str) -> None:
    assert m49_to_iso3(code) == iso3


@pytest.mark.parametrize("code", [568, 837, 838, 839, 899, 99999, "x"])
def test_m49_special_areas_are_none(code: int | str) -> None:
    assert m49_to_iso3(code) is None


def test_country_name_and_list() -> None:
    assert country_name("COD") == "Congo (Kinshasa)"
    assert country_name("tur") == "Türkiye"
    assert country_name("WLD") == "World"
    countries = all_countries()
    assert countries == sorted(countries)
    assert {"CHN", "TWN", "XKX", "PSE"} <= set(countries)
    assert "SUN" not in countries and "SUN" in all_countries(include_historical=True)
    assert "WLD" not in countries and "OTH" not in countries
    assert is_aggregate("WLD") and is_aggregate("OTH") and not is_aggregate("CHN")


def test_every_country_display_name_round_trips() -> None:
    for iso3 in all_countries(include_historical=True):
        assert to_iso3(iso3) == iso3
        assert to_iso3(country_name(iso3)) == iso3


def test_name_map_is_reviewed_data() -> None:
    path = resources.files("critmin.data.curated").joinpath("country_names.csv")
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and set(rows[0]) == {"source_name", "iso3", "note"}
    known = set(all_countries(include_historical=True)) | {"WLD", "OTH", ""}
    for row in rows:
        assert row["iso3"] in known, row
        assert row["note"], row


def test_require_iso3_names_input_and_suggests() -> None:
    assert require_iso3("Chile", "test") == "CHL"
    with pytest.raises(UnknownCountryError) as info:
        require_iso3("Chlie", "scenario field 'zone'")
    message = str(info.value)
    assert "'Chlie'" in message and "scenario field 'zone'" in message and "'Chile'" in message
    assert isinstance(info.value, CritminError)


def test_country_name_unknown_raises() -> None:
    with pytest.raises(UnknownCountryError, match="XYZ"):
        country_name("XYZ")
