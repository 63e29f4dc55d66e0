"""The results of ``critmin paths``: per year and per mechanism, expected values and the 5-95%
band over the draws, the NPV, and who pays (the results contract of docs/paths.md).

Who pays is measured against the same draw's path without the floor (``none``), year by year
(USD of the base year): ``fiscal cost`` (subsidies, price-gap refunds, offtake purchases net of
release revenue), ``levy revenue`` (the change in members' tariff and levy revenue), ``zone
buyers' cost`` (minus the change in members' consumer surplus, all stages), ``zone producers'
gain`` and ``outside producers' gain`` (changes in producer surplus). The NPV discounts year
``y`` by ``(1 + r)^-(y - first year)``. Expected = mean over the converged draws; P5/P95 are
the 5th and 95th percentiles (``numpy.percentile``, linear).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from critmin.note_kinds import WARNING_PREFIXES
from critmin.numbers import finite_or_none
from critmin.util import (
    check_output_dir,
    numerical_warnings,
    spreadsheet_safe,
    write_texts_together,
)

__all__ = ["MEASURES", "PathsResult"]

MEASURES = {
    "fiscal_cost_usd": "Fiscal cost (taxpayers)",
    "levy_revenue_usd": "Levy revenue (members)",
    "zone_buyers_cost_usd": "Zone buyers' cost",
    "zone_producers_gain_usd": "Zone producers' gain",
    "outside_producers_gain_usd": "Outside producers' gain",
    "price_usd_per_t": "Market price (USD/t)",
    "zone_price_usd_per_t": "Zone buyer price (USD/t)",
    "stockpile_t": "Stockpile (t)",
    "shortfall_t": "Shortfall from disruptions (t)",
}
CSV_FILES = ("mechanisms.csv", "npv.csv", "stages.csv", "warnings.csv")
"""The files ``critmin paths --csv DIR`` writes in ``DIR`` (:meth:`PathsResult.csv_texts`)."""
STAGE_NAMES = ("price_usd_per_t", "zone_price_usd_per_t", "supply_t", "demand_t")
"""The per-stage series of each year's entry (``stage_<name>`` of the raw paths)."""
MONEY = (
    "fiscal_cost_usd",
    "levy_revenue_usd",
    "zone_buyers_cost_usd",
    "zone_producers_gain_usd",
    "outside_producers_gain_usd",
)


def band(x: np.ndarray) -> dict[str, float | None]:
    """Expected value and 5-95% band over the first axis (NaN rows dropped)."""
    x = np.asarray(x, dtype=float)
    ok = np.isfinite(x)
    if not ok.any():
        return {"expected": None, "p5": None, "p95": None}
    v = x[ok]
    return {
        "expected": finite_or_none(float(v.mean())),
        "p5": finite_or_none(float(np.percentile(v, 5))),
        "p95": finite_or_none(float(np.percentile(v, 95))),
    }


def derived(raw: dict[str, np.ndarray], none: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Measures (D, T) of a mechanism against the no-floor path of the same draws."""
    return {
        # what the mechanism adds: the no-floor path pays the scenario's own subsidies too
        "fiscal_cost_usd": raw["fiscal_cost_usd"] - none["fiscal_cost_usd"],
        "levy_revenue_usd": raw["levy_revenue_usd"] - none["levy_revenue_usd"],
        "zone_buyers_cost_usd": -(
            raw["zone_consumer_surplus_usd"] - none["zone_consumer_surplus_usd"]
        ),
        "zone_producers_gain_usd": raw["zone_producer_surplus_usd"]
        - none["zone_producer_surplus_usd"],
        "outside_producers_gain_usd": raw["outside_producer_surplus_usd"]
        - none["outside_producer_surplus_usd"],
        "price_usd_per_t": raw["price_usd_per_t"],
        "zone_price_usd_per_t": raw["zone_price_usd_per_t"],
        "stockpile_t": raw["stockpile_t"],
        "shortfall_t": raw["shortfall_t"],
    }


@dataclass(repr=False)
class PathsResult:
    """Paths of every mechanism: ``raw[mech][key]`` arrays ``(D, T)`` (stage series ``(D, T,
    S)``) over the draws, and the central path ``central[mech][key]`` ``(T,)``."""

    scenario: str
    market: str
    stages: list[str]
    years: list[int]
    mechanisms: list[str]
    raw: dict[str, dict[str, np.ndarray]]
    central: dict[str, dict[str, np.ndarray]]
    settings: dict[str, Any]
    facts: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    timing: dict[str, Any] = field(default_factory=dict)

    @property
    def draws(self) -> int:
        """The number of draws (0: the central path alone)."""
        return int(self.raw["none"]["converged"].shape[0]) if self.raw else 0

    def __repr__(self) -> str:
        """One line (the dataclass printed every draw's arrays: 90 kB for four draws)."""
        years = f"{self.years[0]}-{self.years[-1]}" if self.years else "none"
        return (
            f"PathsResult(scenario={self.scenario!r}, market={self.market!r}, years={years}, "
            f"mechanisms={self.mechanisms}, draws={self.draws})"
        )

    def _paths(self, mech: str) -> dict[str, np.ndarray]:
        """(D, T) measures over the draws (the central path alone when there are none), NaN
        where a draw did not converge."""
        src = (
            self.raw
            if self.draws
            else {k: {n: v[None] for n, v in d.items()} for k, d in self.central.items()}
        )
        ok = (src[mech]["converged"] == 1.0) & (src["none"]["converged"] == 1.0)
        out = derived(src[mech], src["none"])
        return {k: np.where(ok, v, np.nan) for k, v in out.items()}

    def discount(self) -> np.ndarray:
        r = float(self.settings["discount_rate"])
        y0 = self.years[0]
        return np.array([(1.0 + r) ** -(y - y0) for y in self.years])

    def npv(self, mech: str) -> dict[str, np.ndarray]:
        """NPV per draw of every money measure."""
        p = self._paths(mech)
        w = self.discount()
        return {k: (p[k] * w).sum(axis=1) for k in MONEY}

    def to_dict(self) -> dict[str, Any]:
        """The results contract of docs/paths.md. NumPy's RuntimeWarnings in the accounts
        (``inf - inf`` for the buyers' surplus of a year whose disruption cuts them off) become
        a ``numerical:`` note, as in ``critmin simulate``: in the JSON, on the page and in
        ``warnings.csv``, not a line on the terminal alone."""
        with numerical_warnings() as numeric:
            mechs, per_year = self._figures()
        notes = list(self.notes)
        if numeric:
            notes.append(
                f"numerical: {'; '.join(numeric)} in the paths' accounts: the figures "
                "concerned are undefined and left out (null)"
            )
        total = self.draws if self.draws else 1
        for mech, entry in mechs.items():
            left_out = total - entry["converged_draws"]
            if left_out:  # the mechanisms' figures then rest on different sets of draws
                notes.append(
                    f"numerical: {mech}: {left_out} of {total} draw(s) did not converge (in it "
                    "or in the same draw without a floor) and are left out of its figures "
                    "(its NPVs; a year's figures keep the draws whose solve of that year "
                    "converged)"
                )
        return {
            "scenario": self.scenario,
            "market": self.market,
            "stages": list(self.stages),
            "draws": self.draws,
            "settings": self.settings,
            "facts": self.facts,
            "years": per_year,
            "mechanisms": mechs,
            "notes": notes,
            "timing": self.timing,
        }

    def _figures(self) -> tuple[dict[str, Any], list[dict[str, Any]]]:
        """Each mechanism's entry (years, NPV, who pays) and each year's figures by
        mechanism, of :meth:`to_dict`."""
        mechs: dict[str, Any] = {}
        per_year: list[dict[str, Any]] = [{"year": y, "mechanisms": {}} for y in self.years]
        src = (
            self.raw
            if self.draws
            else {k: {n: v[None] for n, v in d.items()} for k, d in self.central.items()}
        )
        for mech in self.mechanisms:
            p = self._paths(mech)
            # stage series over the draws each year's figures keep (those of :meth:`_paths`)
            ok = (src[mech]["converged"] == 1.0) & (src["none"]["converged"] == 1.0)
            kept = {
                name: np.where(ok[:, :, None], src[mech][f"stage_{name}"], np.nan)
                for name in STAGE_NAMES
            }
            npv = self.npv(mech)
            nb = {k: band(v) for k, v in npv.items()}
            conv = src[mech]["converged"].all(axis=1) & src["none"]["converged"].all(axis=1)
            mechs[mech] = {
                "years": [
                    {"year": y, **{k: band(p[k][:, t]) for k in MEASURES}}
                    for t, y in enumerate(self.years)
                ],
                "npv": nb,
                "who_pays": {
                    "taxpayers_usd": _sub(nb["fiscal_cost_usd"], nb["levy_revenue_usd"]),
                    "zone_buyers_usd": nb["zone_buyers_cost_usd"]["expected"],
                    "outside_producers_usd": _neg(nb["outside_producers_gain_usd"]["expected"]),
                    "zone_producers_gain_usd": nb["zone_producers_gain_usd"]["expected"],
                },
                "bad_decade": {
                    "fiscal_cost_npv_p95_usd": nb["fiscal_cost_usd"]["p95"],
                    "zone_buyers_cost_npv_p95_usd": nb["zone_buyers_cost_usd"]["p95"],
                },
                "converged_draws": int(conv.sum()),
            }
            for t in range(len(self.years)):
                stage_entry = {}
                for s, key in enumerate(self.stages):
                    stage_entry[key] = {
                        name: band(kept[name][:, t, s])["expected"] for name in STAGE_NAMES
                    }
                per_year[t]["mechanisms"][mech] = {
                    "fiscal_cost_usd": band(p["fiscal_cost_usd"][:, t])["expected"],
                    "levy_revenue_usd": band(p["levy_revenue_usd"][:, t])["expected"],
                    "stockpile_t": band(p["stockpile_t"][:, t])["expected"],
                    "shortfall_t": band(p["shortfall_t"][:, t])["expected"],
                    "stages": stage_entry,
                }
        return mechs, per_year

    def write_csv(self, directory: str | Path) -> list[Path]:
        """Write :meth:`csv_texts` together (:func:`critmin.util.write_texts_together`: all
        four, or none replaced) into the folder ``directory`` (created if missing; checked
        first: a file there is an :class:`~critmin.errors.OutputPathError`); returns their
        paths."""
        files = self.csv_texts(check_output_dir(directory, "write_csv"))
        write_texts_together(files)
        return list(files)

    def csv_texts(self, directory: str | Path) -> dict[Path, str]:
        """``mechanisms.csv`` (mechanism, year, measure, expected, p5, p95), ``npv.csv``
        (mechanism, measure, expected, p5, p95, the discount rate and the year discounted to),
        ``stages.csv`` (mechanism, year, stage, expected price, supply, demand) and
        ``warnings.csv`` (where: the market; warning: the notes that warn, as in the JSON and
        on the page; the header alone when there are none): path in ``directory`` -> text."""
        from critmin.export import warnings_csv  # pandas: for --csv alone

        d = self.to_dict()
        mechanisms = [["mechanism", "year", "measure", "expected", "p5", "p95"]]
        # each NPV row says how it discounts: the rate and the year its USD are valued at
        rate, to_year = float(self.settings["discount_rate"]), self.years[0]
        npv: list[list[Any]] = [
            ["mechanism", "measure", "expected", "p5", "p95", "discount_rate", "discounted_to"]
        ]
        for mech, entry in d["mechanisms"].items():
            for row in entry["years"]:
                for k in MEASURES:
                    b = row[k]
                    mechanisms.append([mech, row["year"], k, b["expected"], b["p5"], b["p95"]])
            for k, b in entry["npv"].items():
                npv.append([mech, k, b["expected"], b["p5"], b["p95"], rate, to_year])
        stages = [
            [
                "mechanism",
                "year",
                "stage",
                "price_usd_per_t",
                "zone_price_usd_per_t",
                "supply_t",
                "demand_t",
            ]
        ]
        for row in d["years"]:
            for mech, entry in row["mechanisms"].items():
                for key, v in entry["stages"].items():
                    stages.append(
                        [
                            mech,
                            row["year"],
                            key,
                            v["price_usd_per_t"],
                            v["zone_price_usd_per_t"],
                            v["supply_t"],
                            v["demand_t"],
                        ]
                    )
        texts = (
            _csv_text(mechanisms),
            _csv_text(npv),
            _csv_text(stages),
            warnings_csv(
                (d["market"], note) for note in d["notes"] if note.startswith(WARNING_PREFIXES)
            ),
        )
        folder = Path(directory)
        return {folder / name: text for name, text in zip(CSV_FILES, texts, strict=True)}


def _csv_text(rows: list[list[Any]]) -> str:
    """Rows as CSV text (the csv module's quoting, ``\r\n`` line ends as before); a negative
    zero (a cost of nothing, negated) is written ``0.0``, not ``-0.0``; a text a spreadsheet
    would run as a formula (a stage key is a user product's id) is quoted
    (:func:`critmin.util.spreadsheet_safe`)."""
    buf = io.StringIO(newline="")
    csv.writer(buf).writerows(
        [
            [0.0 if isinstance(v, float) and v == 0.0 else spreadsheet_safe(v) for v in row]
            for row in rows
        ]
    )
    return buf.getvalue()


def _sub(a: dict[str, float | None], b: dict[str, float | None]) -> float | None:
    x, y = a["expected"], b["expected"]
    return None if x is None or y is None else finite_or_none(x - y)


def _neg(x: float | None) -> float | None:
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else -x
