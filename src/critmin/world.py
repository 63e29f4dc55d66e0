"""The loaded baseline: the bundled reference tables, typed, for one trade year.

``load_world(year)`` is what every capability reads. It loads the compiled Parquet tables
shipped in ``critmin/data/reference`` (a few MB; well under a second) and offers lookups that
resolve country groups, products and minerals with clear errors.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from critmin.data.dataset import (
    AGGREGATES,
    REFERENCE_DIR,
    dataset_dir,
    read_manifest,
    read_table,
    trade_years,
)
from critmin.errors import (
    UnknownCountryError,
    UnknownMineralError,
    UnknownProductError,
    UnknownYearError,
)

__all__ = [
    "AGGREGATES",
    "REFERENCE_DIR",
    "World",
    "dataset_dir",
    "load_world",
    "read_manifest",
    "read_table",
    "trade_years",
]


def _suggest(word: str, options: list[str]) -> str:
    close = difflib.get_close_matches(word, options, n=3, cutoff=0.6)
    return f" (did you mean {', '.join(close)}?)" if close else ""


def _plain_strings(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its string columns as Python strings (object dtype): a product's few hundred
    rows are then compared, mapped and grouped without a round trip through Arrow per
    operation (the values are the same)."""
    text = [c for c, t in df.dtypes.items() if isinstance(t, pd.StringDtype)]
    return df.astype(dict.fromkeys(text, object)) if text else df


def _numpy_columns(df: pd.DataFrame, names: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Columns of ``df`` as numpy arrays: text as ``object`` (``None`` where missing), numbers
    as float64 (NaN where missing), integers as they are."""
    out: dict[str, np.ndarray] = {}
    for name in names:
        column = df[name]
        if isinstance(column.dtype, pd.StringDtype):
            text = column.to_numpy(dtype=object)
            text[column.isna().to_numpy(dtype=bool)] = None
            out[name] = text
        elif column.dtype.kind == "f":
            out[name] = column.to_numpy(dtype=np.float64, na_value=np.nan)
        else:
            out[name] = column.to_numpy()
    return out


@dataclass(frozen=True)
class World:
    """The baseline for one trade year. All tables are pandas DataFrames in the documented
    schemas (``critmin data schema``); ``supply`` holds only the latest edition's figures."""

    year: int
    supply: pd.DataFrame
    supply_all_editions: pd.DataFrame
    flows: pd.DataFrame
    wgi: pd.DataFrame
    eu_supply_shares: pd.DataFrame
    eu_sr_ei: pd.DataFrame
    us_salient: pd.DataFrame
    groups: pd.DataFrame
    products: pd.DataFrame
    elasticities: pd.DataFrame
    _group_index: dict[str, list[str]] = field(default_factory=dict, repr=False)

    # ------------------------------------------------------------------ lookups
    @property
    def countries(self) -> list[str]:
        """Every country code that appears in the flows or the supply tables."""
        return list(self._country_codes)

    @cached_property
    def _country_codes(self) -> tuple[str, ...]:
        # computed once per World: scanning ~45k flow rows took ~70 ms per call, and
        # resolve_countries calls it for every code it checks
        codes: set[str] = set()
        for column in (self.flows["exporter"], self.flows["importer"], self.supply["country"]):
            codes.update(str(c) for c in column.unique())  # Arrow-native unique, then ~200 codes
        return tuple(sorted(codes - AGGREGATES))

    @property
    def group_names(self) -> list[str]:
        return sorted(self._group_index)

    @property
    def minerals(self) -> list[str]:
        return sorted(set(self.products["mineral"]) | set(self.supply["mineral"]))

    @property
    def product_ids(self) -> list[str]:
        return list(self.products["product_id"])

    def group(self, name: str) -> list[str]:
        key = name.strip().upper()
        key = {"EU": "EU27", "EUROPEAN UNION": "EU27"}.get(key, key)
        if key not in self._group_index:
            raise UnknownCountryError(
                f"unknown country group {name!r}{_suggest(key, self.group_names)}; "
                f"groups: {', '.join(self.group_names)}"
            )
        return self._group_index[key]

    def resolve_countries(self, items: list[str] | str) -> list[str]:
        """Expand ISO3 codes and group names into a sorted list of ISO3 codes."""
        from critmin.countries import to_iso3

        if isinstance(items, str):
            items = [s for s in items.replace(";", ",").split(",") if s.strip()]
        out: set[str] = set()
        for item in items:
            token = item.strip()
            up = token.upper()
            if up in self._group_index or up in {"EU", "EUROPEAN UNION"}:
                out.update(self.group(up))
                continue
            iso = up if len(up) == 3 and up.isalpha() else to_iso3(token)
            if iso is None or iso in AGGREGATES or (len(up) == 3 and iso not in self._known_iso3()):
                raise UnknownCountryError(
                    f"unknown country or group {token!r}"
                    f"{_suggest(up, [*self._known_iso3(), *self.group_names])}"
                )
            out.add(iso)
        return sorted(out)

    def _known_iso3(self) -> list[str]:
        from critmin.countries import all_countries

        return sorted(set(all_countries()) | set(self.countries))

    # ------------------------------------------------------------------ indexes (built once)
    # The tables' string columns are Arrow-backed: one boolean filter over the flows costs about
    # a millisecond, and calibration used to run several per product. These indexes are built
    # on first use, once per World, and hand out row subsets in the tables' own row order (so
    # every sum over them adds the same numbers in the same order as a filter would).

    @cached_property
    def _product_rows(self) -> dict[str, int]:
        """Row position of each product id, then of each HS6 code not already an id."""
        index: dict[str, int] = {}
        for k, pid in enumerate(str(v) for v in self.products["product_id"]):
            index.setdefault(pid, k)
        for k, hs in enumerate(str(v) for v in self.products["hs6"]):
            index.setdefault(hs, k)
        return index

    @cached_property
    def _plain_flows(self) -> pd.DataFrame:
        return _plain_strings(self.flows)

    @cached_property
    def _plain_supply(self) -> pd.DataFrame:
        return _plain_strings(self.supply)

    @cached_property
    def _flow_rows(self) -> dict[str, np.ndarray]:
        """Row positions of each product id's flows (ascending: table order)."""
        groups = self.flows.groupby("product_id", sort=False, observed=True).indices
        return {str(pid): np.asarray(rows) for pid, rows in groups.items()}

    @cached_property
    def _supply_rows(self) -> dict[tuple[str, str, str], np.ndarray]:
        """Row positions of the latest-edition supply rows by ``(mineral, stage, measure)``."""
        groups = self.supply.groupby(
            ["mineral", "stage", "measure"], sort=False, observed=True
        ).indices
        out: dict[tuple[str, str, str], np.ndarray] = {}
        for key, rows in groups.items():
            parts: tuple[Any, ...] = key  # type: ignore[assignment]
            out[(str(parts[0]), str(parts[1]), str(parts[2]))] = np.asarray(rows)
        return out

    @cached_property
    def _elasticity_rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Rows of the elasticities table by ``(product_class, parameter)`` (first wins)."""
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for row in self.elasticities.to_dict("records"):
            out.setdefault(
                (str(row["product_class"]), str(row["parameter"])),
                {str(k): v for k, v in row.items()},
            )
        return out

    def elasticity_row(self, product_class: str, parameter: str) -> dict[str, Any] | None:
        """The elasticities-table row of a product class and parameter, else the ``metal``
        class's, else None."""
        rows = self._elasticity_rows
        return rows.get((product_class, parameter)) or rows.get(("metal", parameter))

    def supply_rows(self, minerals: list[str], stage: str, measure: str) -> pd.DataFrame:
        """Latest-edition rows of ``minerals`` at ``stage`` for ``measure``, in table order
        (incl. ``WLD``/``OTH``): the rows and index a boolean filter of :attr:`supply` would
        return, with text columns as Python strings (``object``)."""
        parts = [
            rows
            for m in dict.fromkeys(minerals)
            if (rows := self._supply_rows.get((m, stage, measure))) is not None
        ]
        if not parts:
            return self._plain_supply.iloc[:0]
        return self._plain_supply.iloc[np.sort(np.concatenate(parts))]

    # Plain numpy columns (built once per World) for calibration, which runs once per product:
    # text as Python strings (``None`` where missing), numbers as float64 (NaN where missing).

    @cached_property
    def _flow_columns(self) -> dict[str, np.ndarray]:
        return _numpy_columns(
            self.flows, ("exporter", "importer", "value_usd", "quantity_t", "basis", "method")
        )

    @cached_property
    def _supply_columns(self) -> dict[str, np.ndarray]:
        return _numpy_columns(self.supply, ("country", "year", "value_t"))

    def flow_columns(self, product_id: str) -> dict[str, np.ndarray]:
        """The columns exporter, importer, value_usd, quantity_t, basis and method of one
        product's flows (id or HS6), in table order: :meth:`product_flows` as numpy arrays."""
        pid = str(self.product(product_id)["product_id"])
        rows = self._flow_rows.get(pid, np.zeros(0, dtype=np.intp))
        return {name: column[rows] for name, column in self._flow_columns.items()}

    def supply_columns(
        self, minerals: list[str], stage: str, measure: str
    ) -> dict[str, np.ndarray]:
        """The columns country, year and value_t of :meth:`supply_rows`, as numpy arrays."""
        parts = [
            rows
            for m in dict.fromkeys(minerals)
            if (rows := self._supply_rows.get((m, stage, measure))) is not None
        ]
        rows = np.sort(np.concatenate(parts)) if parts else np.zeros(0, dtype=np.intp)
        return {name: column[rows] for name, column in self._supply_columns.items()}

    @cached_property
    def processing_shares(self) -> dict[str, np.ndarray]:
        """The EU 2023 global processing-stage (``P``) shares by country, without ``OTH``:
        columns material (lower case), country and share, in table order."""
        t = self.eu_supply_shares
        keep = ((t["scope"] == "global") & (t["stage"] == "P") & (t["country"] != "OTH")).to_numpy(
            dtype=bool, na_value=False
        )
        cols = _numpy_columns(t[keep], ("material", "country", "share"))
        cols["material"] = np.array(
            [m.lower() if isinstance(m, str) else None for m in cols["material"]], dtype=object
        )
        return cols

    def product(self, product_id: str) -> pd.Series:
        k = self._product_rows.get(product_id)
        if k is None:
            raise UnknownProductError(
                f"unknown product {product_id!r}{_suggest(product_id, self.product_ids)}; "
                "see 'critmin data list'"
            )
        return self.products.iloc[k]

    def check_mineral(self, mineral: str) -> str:
        m = mineral.strip().lower().replace(" ", "_").replace("-", "_")
        if m not in self.minerals:
            raise UnknownMineralError(f"unknown mineral {mineral!r}{_suggest(m, self.minerals)}")
        return m

    def product_flows(self, product_id: str) -> pd.DataFrame:
        """The flows of one product (id or HS6): the rows and index of a boolean filter of
        :attr:`flows`, text columns as Python strings (``object``), from an index built once."""
        pid = str(self.product(product_id)["product_id"])
        rows = self._flow_rows.get(pid)
        return self._plain_flows.iloc[rows if rows is not None else []]

    def flow_basis(self) -> dict[str, str]:
        """Product id -> basis of its flows this year: observed, estimate, or both joined by '+'."""
        grouped = self.flows.groupby("product_id")["basis"].unique()
        return {str(pid): "+".join(sorted(map(str, b))) for pid, b in grouped.items()}

    def production(
        self,
        mineral: str,
        stage: str = "mine",
        year: int | None = None,
        measure: str = "production",
    ) -> pd.DataFrame:
        """Latest-edition figures for one mineral and stage (all rows incl. WLD / OTH)."""
        m = self.check_mineral(mineral)
        df = self.supply[
            (self.supply["mineral"] == m)
            & (self.supply["stage"] == stage)
            & (self.supply["measure"] == measure)
        ]
        if year is not None:
            df = df[df["year"] == year]
        return df


def load_world(year: int = 2024, reference_dir: Path | None = None) -> World:
    """Load the bundled baseline for a trade year (BACI years: 2022 and 2024).

    Supply figures (USGS production, reserves) of every year 2021-2025 are included; the flows
    are those of ``year``. Raises :class:`UnknownYearError` for a year without trade data.
    """
    reference_dir = Path(reference_dir) if reference_dir is not None else dataset_dir()
    years = trade_years(reference_dir)
    if year not in years:
        raise UnknownYearError(
            f"no bundled trade data for {year}: trade years are {', '.join(map(str, years))}"
        )
    supply_all = read_table("supply", reference_dir)
    flows = read_table("flows", reference_dir)
    groups = read_table("groups", reference_dir)
    index: dict[str, list[str]] = {
        str(g).upper(): sorted(map(str, sub["country"])) for g, sub in groups.groupby("group_id")
    }
    return World(
        year=year,
        supply=supply_all[supply_all["is_latest"]].reset_index(drop=True),
        supply_all_editions=supply_all,
        flows=flows[flows["year"] == year].reset_index(drop=True),
        wgi=read_table("wgi", reference_dir),
        eu_supply_shares=read_table("eu_supply_shares", reference_dir),
        eu_sr_ei=read_table("eu_sr_ei", reference_dir),
        us_salient=read_table("us_salient", reference_dir),
        groups=groups,
        products=read_table("products", reference_dir),
        elasticities=read_table("elasticities", reference_dir),
        _group_index=index,
    )
