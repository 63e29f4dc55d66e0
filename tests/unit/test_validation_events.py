"""The antimony customs figures quoted in docs/validation.md agree with the raw Comtrade file.

docs/validation_events.py prints the tables of docs/validation.md; this test recomputes the
customs row of the antimony tables (China-reported exports of HS 811010 2022 -> 2024 and the
US-reported imports from China, Thailand and Mexico) from
``../shared/data/trade/critical_materials_atlas/comtrade_raw/`` with a plain implementation of
its own (csv + gzip, deduplicated, the largest row per reporter, partner and flow as
../shared/data/SOURCES.md 8b prescribes) and checks the doc's figures, so the doc cannot drift
from the data. The model rows are not re-solved here (minutes); the golden tests pin them.
"""

from __future__ import annotations

import csv
import gzip
from pathlib import Path

import pytest

from critmin import load_world
from critmin.countries import m49_to_iso3
from critmin.scenario.resolution import zone_lists

REPO_ROOT = Path(__file__).resolve().parents[2]
DOC = REPO_ROOT / "docs" / "validation.md"
CUSTOMS_ROW = "customs 2022->2024"
# the zone of examples/controls/antimony_licensing_2024.toml
MEMBERS = ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"]


def doc_customs_rows() -> dict[str, float]:
    """Column -> percentage of every ``customs 2022->2024`` row of the doc's tables."""
    lines = DOC.read_text().splitlines()
    found: dict[str, float] = {}
    header: list[str] = []
    for i, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if i + 1 < len(lines) and lines[i + 1].startswith("|---"):
            header = cells
        elif cells and cells[0] == CUSTOMS_ROW:
            for col, cell in zip(header[1:], cells[1:], strict=True):
                found[col] = float(cell.rstrip("%"))
    return found


def largest_rows(path: Path, hs: int) -> dict[tuple[int, int, str], tuple[float, float]]:
    """(reporter, partner, flow) -> (value, net weight) of the largest row of one HS code."""
    best: dict[tuple[int, int, str], tuple[float, float]] = {}
    with gzip.open(path, "rt", newline="") as handle:
        for row in csv.DictReader(handle):
            if int(row["cmd"]) != hs:
                continue
            key = (int(row["reporter"]), int(row["partner"]), row["flow"])
            value = float(row["value"])
            weight = float(row["netwgt"]) if row["netwgt"] else 0.0
            if key not in best or value > best[key][0]:
                best[key] = (value, weight)
    return best


def change(after: float, before: float) -> float:
    return 100 * (after / before - 1)


@pytest.mark.shared_data
def test_antimony_customs_figures_in_the_doc_match_the_raw_file(shared_data: Path) -> None:
    raw = shared_data / "trade" / "critical_materials_atlas" / "comtrade_raw"
    members, _, _ = zone_lists(load_world(2022), MEMBERS, ["CHN"])
    years = {y: largest_rows(raw / f"comtrade_{y}.csv.gz", 811010) for y in (2022, 2024)}
    measures: dict[int, dict[str, float]] = {}
    for year, rows in years.items():
        china = {p: vw for (r, p, f), vw in rows.items() if r == 156 and f == "X"}
        world_value, world_weight = china[0]
        zone = sum(v for p, (v, _) in china.items() if p != 0 and m49_to_iso3(p) in members)
        us_imports = {p: v for (r, p, f), (v, _) in rows.items() if r == 842 and f == "M"}
        measures[year] = {
            "to USA": china[842][0],
            "to zone": zone,
            "to non-members": world_value - zone,
            "unit value": world_value / world_weight,
            "US imports from CHN": us_imports[156],
            "US imports from THA": us_imports[764],
            "US imports from MEX": us_imports[484],
        }
    expected = {k: change(measures[2024][k], measures[2022][k]) for k in measures[2022]}
    quoted = doc_customs_rows()
    assert set(expected) <= set(quoted), f"missing in {DOC.name}: {set(expected) - set(quoted)}"
    for column, value in expected.items():
        assert quoted[column] == pytest.approx(value, abs=0.051), column
    # what the text says: China's exports to the US fell, US imports via Thailand rose
    assert expected["to USA"] < -50 and expected["US imports from THA"] > 100
