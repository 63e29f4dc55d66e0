"""The loaded baseline: the bundled reference tables, typed, for one trade year.

``load_world(year)`` is what every capability reads. It loads the compiled tables of the
dataset in use (the Parquet files shipped in ``critmin/data/reference`` by default, a few MB)
as numpy columns from a cache (:mod:`critmin.data.columns`: no pyarrow, no pandas) and offers
lookups that resolve country groups, products and minerals with clear errors. The pandas
DataFrames (:attr:`World.flows`, :attr:`World.supply`, ...) are read with pyarrow on first use.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.data.columns import ColumnTable, read_columns
from critmin.data.dataset import (
    AGGREGATES,
    REFERENCE_DIR,
    dataset_dir,
    read_arrow,
    read_manifest,
    read_table,
    trade_years,
)
from critmin.errors import (
    CritminError,
    UnknownCountryError,
    UnknownMineralError,
    UnknownProductError,
    UnknownYearError,
)

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

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


def _check_text(value: object, what: str, error: type[CritminError]) -> None:
    """``value`` must be text: a number or ``None`` where a code or id goes is ``error``
    naming what was given (it failed with an AttributeError on ``.strip()``)."""
    if not isinstance(value, str):
        raise error(f"{what}: expected text such as a code or id, got {value!r}")


def _plain_strings(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with its string columns as Python strings (object dtype): a product's few hundred
    rows are then compared, mapped and grouped without a round trip through Arrow per
    operation (the values are the same)."""
    import pandas as pd

    text = [c for c, t in df.dtypes.items() if isinstance(t, pd.StringDtype)]
    return df.astype(dict.fromkeys(text, object)) if text else df


def _filter_rows(table: pa.Table, keep: np.ndarray) -> pa.Table:
    """The rows of ``table`` where ``keep`` (a numpy bool array) is True. (pyarrow imports
    pandas the first time it converts from Python, ``pa.array``: this goes through raw
    buffers instead.)"""
    import pyarrow as pa

    bits = pa.py_buffer(np.packbits(keep.astype(bool), bitorder="little"))
    return table.filter(pa.Array.from_buffers(pa.bool_(), len(keep), [None, bits]))


@dataclass(frozen=True)
class World:
    """The baseline for one trade year. All tables are pandas DataFrames in the documented
    schemas (``critmin data schema``); ``supply`` holds only the latest edition's figures.

    The tables are read as numpy columns (:class:`critmin.data.columns.ColumnTable`, from a
    cache) and become DataFrames on first use (read with pyarrow): a scenario's calibration and
    resolution read the numpy columns (:meth:`flow_columns`, :meth:`supply_columns`,
    :meth:`product_record`, the indexes below), so that ``critmin simulate`` imports neither
    pandas (about 0.3 s of CPU per process) nor pyarrow (about 0.1 s)."""

    year: int
    reference_dir: Path = field(repr=False)
    flows_table: ColumnTable = field(repr=False)
    """The flows of ``year``."""
    supply_table: ColumnTable = field(repr=False)
    """The latest edition's supply figures."""

    # ------------------------------------------------------------------ tables (pandas)
    @cached_property
    def supply(self) -> pd.DataFrame:
        table = read_arrow("supply", self.reference_dir)
        return table.filter(table.column("is_latest")).to_pandas()

    @cached_property
    def flows(self) -> pd.DataFrame:
        table = read_arrow("flows", self.reference_dir)
        year = np.array(table.column("year").to_pylist()) == self.year
        return _filter_rows(table, year).to_pandas()

    @property
    def supply_all_editions(self) -> pd.DataFrame:
        return read_table("supply", self.reference_dir)

    @property
    def wgi(self) -> pd.DataFrame:
        return read_table("wgi", self.reference_dir)

    @property
    def eu_supply_shares(self) -> pd.DataFrame:
        return read_table("eu_supply_shares", self.reference_dir)

    @property
    def eu_sr_ei(self) -> pd.DataFrame:
        return read_table("eu_sr_ei", self.reference_dir)

    @property
    def us_salient(self) -> pd.DataFrame:
        return read_table("us_salient", self.reference_dir)

    @property
    def groups(self) -> pd.DataFrame:
        return read_table("groups", self.reference_dir)

    @property
    def products(self) -> pd.DataFrame:
        return read_table("products", self.reference_dir)

    @property
    def elasticities(self) -> pd.DataFrame:
        return read_table("elasticities", self.reference_dir)

    def _columns(self, name: str) -> ColumnTable:
        return read_columns(name, self.reference_dir)

    @cached_property
    def _group_index(self) -> dict[str, tuple[str, ...]]:
        groups = self._columns("groups")
        members: dict[str, list[str]] = {}
        for g, c in zip(groups.pylist("group_id"), groups.pylist("country"), strict=True):
            if g is not None:
                members.setdefault(str(g).upper(), []).append(str(c))
        return {g: tuple(sorted(codes)) for g, codes in sorted(members.items())}

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
        for table, name in (
            (self.flows_table, "exporter"),
            (self.flows_table, "importer"),
            (self.supply_table, "country"),
        ):
            codes.update(str(c) for c in table.values(name) if c is not None)
        return tuple(sorted(codes - AGGREGATES))

    @property
    def group_names(self) -> list[str]:
        """The country groups' names (``G7``, ``EU27``, ...), sorted."""
        return sorted(self._group_index)

    @property
    def minerals(self) -> list[str]:
        """The mineral ids of the products and supply tables, sorted."""
        return list(self._mineral_names)

    @cached_property
    def _mineral_names(self) -> tuple[str, ...]:
        names = self._columns("products").values("mineral")
        names |= self.supply_table.values("mineral")
        return tuple(sorted(str(m) for m in names if m is not None))

    @property
    def product_ids(self) -> list[str]:
        """The bundled products' ids, in table order."""
        return [str(p) for p in self._columns("products").pylist("product_id")]

    def group(self, name: str) -> list[str]:
        """The sorted ISO3 codes of a country group (``G7``; ``EU`` is ``EU27``), a new list
        on each call. Raises :class:`UnknownCountryError` for an unknown group."""
        _check_text(name, "country group", UnknownCountryError)
        key = name.strip().upper()
        key = {"EU": "EU27", "EUROPEAN UNION": "EU27"}.get(key, key)
        if key not in self._group_index:
            raise UnknownCountryError(
                f"unknown country group {name!r}{_suggest(key, self.group_names)}; "
                f"groups: {', '.join(self.group_names)}"
            )
        return list(self._group_index[key])

    def resolve_countries(self, items: list[str] | str) -> list[str]:
        """Expand ISO3 codes and group names into a sorted list of ISO3 codes."""
        from critmin.countries import to_iso3

        if isinstance(items, str):
            items = [s for s in items.replace(";", ",").split(",") if s.strip()]
        out: set[str] = set()
        for item in items:
            _check_text(item, "country or group", UnknownCountryError)
            token = item.strip()
            up = token.upper()
            if up in self._group_index or up in {"EU", "EUROPEAN UNION"}:
                out.update(self.group(up))
                continue
            iso = up if len(up) == 3 and up.isalpha() else to_iso3(token)
            if iso is None or iso in AGGREGATES or (len(up) == 3 and iso not in self._iso3_set):
                raise UnknownCountryError(
                    f"unknown country or group {token!r}"
                    f"{_suggest(up, [*self._known_iso3(), *self.group_names])}"
                )
            out.add(iso)
        return sorted(out)

    def _known_iso3(self) -> list[str]:
        return sorted(self._iso3_set)

    @cached_property
    def _iso3_set(self) -> frozenset[str]:
        from critmin.countries import all_countries

        return frozenset(all_countries()) | frozenset(self._country_codes)

    # ------------------------------------------------------------------ indexes (built once)
    # The tables' string columns are Arrow-backed: one boolean filter over the flows costs about
    # a millisecond, and calibration used to run several per product. These indexes are built
    # on first use, once per World, and hand out row subsets in the tables' own row order (so
    # every sum over them adds the same numbers in the same order as a filter would).

    @cached_property
    def _product_rows(self) -> dict[str, int]:
        """Row position of each product id, then of each HS6 code not already an id."""
        index: dict[str, int] = {}
        products = self._columns("products")
        for k, pid in enumerate(str(v) for v in products.pylist("product_id")):
            index.setdefault(pid, k)
        for k, hs in enumerate(str(v) for v in products.pylist("hs6")):
            index.setdefault(hs, k)
        return index

    @cached_property
    def _product_records(self) -> list[dict[str, Any]]:
        return self._columns("products").records()

    @cached_property
    def _plain_flows(self) -> pd.DataFrame:
        return _plain_strings(self.flows)

    @cached_property
    def _plain_supply(self) -> pd.DataFrame:
        return _plain_strings(self.supply)

    @cached_property
    def _flow_rows(self) -> dict[str, np.ndarray]:
        """Row positions of each product id's flows (ascending: table order)."""
        return self.flows_table.row_groups("product_id")

    @cached_property
    def _supply_rows(self) -> dict[tuple[str, str, str], np.ndarray]:
        """Row positions of the latest-edition supply rows by ``(mineral, stage, measure)``."""
        return self.supply_table.row_groups("mineral", "stage", "measure")

    @cached_property
    def _elasticity_rows(self) -> dict[tuple[str, str], dict[str, Any]]:
        """Rows of the elasticities table by ``(product_class, parameter)`` (first wins)."""
        table = self._columns("elasticities")
        floats = [name for name, col in table.columns.items() if col.kind == "float"]
        out: dict[tuple[str, str], dict[str, Any]] = {}
        for row in table.records():
            row.update({k: float("nan") for k in floats if row[k] is None})  # as pandas: NaN
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
        names = ("exporter", "importer", "value_usd", "quantity_t", "basis", "method")
        return {name: self.flows_table.array(name) for name in names}

    @cached_property
    def _supply_columns(self) -> dict[str, np.ndarray]:
        return {name: self.supply_table.array(name) for name in ("country", "year", "value_t")}

    def flow_columns(self, product_id: str) -> dict[str, np.ndarray]:
        """The columns exporter, importer, value_usd, quantity_t, basis and method of one
        product's flows (id or HS6), in table order: :meth:`product_flows` as numpy arrays."""
        pid = str(self.product_record(product_id)["product_id"])
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
    def processing_shares(self) -> Mapping[str, np.ndarray]:
        """The EU 2023 global processing-stage (``P``) shares by country, without ``OTH``:
        columns material (lower case), country and share, in table order. Read-only (the
        mapping and its arrays): it is computed once per world and every later baseline of a
        refined product reads it, so an edit would change their numbers silently."""
        table = self._columns("eu_supply_shares")
        cols = {n: table.array(n) for n in ("scope", "stage", "country", "material", "share")}
        keep = (cols.pop("scope") == "global") & (cols.pop("stage") == "P")
        keep &= np.array([c is not None and c != "OTH" for c in cols["country"]], dtype=bool)
        cols = {name: column[keep] for name, column in cols.items()}
        cols["material"] = np.array(
            [m.lower() if isinstance(m, str) else None for m in cols["material"]], dtype=object
        )
        for column in cols.values():
            column.setflags(write=False)
        return MappingProxyType(cols)

    def _product_row(self, product_id: str) -> int:
        _check_text(product_id, "product", UnknownProductError)
        k = self._product_rows.get(product_id)
        if k is None:
            raise UnknownProductError(
                f"unknown product {product_id!r}{_suggest(product_id, self.product_ids)}; "
                "see 'critmin data list'"
            )
        return k

    def product(self, product_id: str) -> pd.Series:
        """The products-table row of a product id or HS6 code."""
        return self.products.iloc[self._product_row(product_id)]

    def product_record(self, product_id: str) -> dict[str, Any]:
        """The products-table row of a product id or HS6 code as a dict (``None`` where a
        value is missing), without pandas: a new dict on each call, so that editing one leaves
        the world's later calibrations as they were."""
        return dict(self._product_records[self._product_row(product_id)])

    def check_mineral(self, mineral: str) -> str:
        """The mineral id of ``mineral`` (any case, spaces or hyphens for underscores).
        Raises :class:`UnknownMineralError` for a mineral the data do not hold."""
        _check_text(mineral, "mineral", UnknownMineralError)
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
    if isinstance(year, bool) or not isinstance(year, int | np.integer):
        # "2024" was refused as "no bundled trade data for 2024: trade years are 2022, 2024"
        raise UnknownYearError(f"year: expected a whole number such as 2024, got {year!r}")
    year = int(year)
    reference_dir = Path(reference_dir) if reference_dir is not None else dataset_dir()
    years = trade_years(reference_dir)
    if year not in years:
        raise UnknownYearError(
            f"no bundled trade data for {year}: trade years are {', '.join(map(str, years))}"
        )
    supply_all = read_columns("supply", reference_dir)
    flows = read_columns("flows", reference_dir)
    return World(
        year=year,
        reference_dir=reference_dir,
        flows_table=flows.take(flows.column("year").values == year),
        supply_table=supply_all.take(supply_all.column("is_latest").true()),
    )


def world_for(world: object, year: int) -> World:
    """The world a scenario of trade year ``year`` runs on: ``world`` when given (it must be a
    :class:`World` of that year), else :func:`load_world` of ``year``.

    Raises :class:`CritminError` for anything else passed as ``world`` (``simulate(s, 2024)``
    failed deep in calibration with an ``AttributeError``) and for a world of another year: its
    flows would have been calibrated silently under the scenario's year."""
    if world is None:
        return load_world(year)
    if not isinstance(world, World):
        raise CritminError(
            f"world: expected a World from critmin.load_world(year), got {type(world).__name__}"
        )
    if world.year != year:
        raise CritminError(
            f"world: the scenario's year is {year} but the world's trade data are of "
            f"{world.year}: pass critmin.load_world({year}), or leave world out"
        )
    return world
