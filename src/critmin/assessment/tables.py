"""Filtered views of the bundled tables for ``critmin data show`` and the web API."""

from __future__ import annotations

import pandas as pd

from critmin.data.schema import TABLES
from critmin.errors import CritminError
from critmin.world import World, load_world, read_table, trade_years

SUPPLY_VIEWS = {"production": "production", "reserves": "reserves", "capacity": "capacity"}
TABLE_NAMES = [*SUPPLY_VIEWS, *TABLES]
"""Tables ``critmin data show`` can print: the supply views, then every bundled table."""


def _other_editions(all_editions: pd.DataFrame) -> pd.Series:
    """Per figure, the values of the editions that are not the latest, e.g. 'MCS2025: 88,000 (est.)'."""
    older = all_editions[~all_editions["is_latest"]]
    if older.empty:
        return pd.Series(dtype="string")

    def describe(r: pd.Series) -> str:
        v = "W" if pd.isna(r["value_t"]) else f"{r['value_t']:,.0f}"
        if pd.isna(r["value_t"]) and isinstance(r["missing_reason"], str):
            v = r["missing_reason"]
        return f"{r['edition']}: {v}{' (est.)' if r['estimated'] else ''}"

    labels = older.apply(describe, axis=1)
    key = ["mineral", "stage", "measure", "country", "year", "basis"]
    return labels.groupby([older[k] for k in key]).agg(lambda s: "; ".join(sorted(s, reverse=True)))


def show_supply(
    world: World,
    measure: str | None,
    mineral: str | None,
    year: int | None,
    stage: str | None,
    countries: list[str] | None,
    all_editions: bool,
) -> pd.DataFrame:
    df = world.supply_all_editions if all_editions else world.supply
    if measure:
        df = df[df["measure"] == measure]
    if mineral:
        df = df[df["mineral"] == world.check_mineral(mineral)]
    if year is not None:
        years = sorted(int(y) for y in world.supply_all_editions["year"].unique())
        if year not in years:
            raise CritminError(f"no supply figures for {year}: years are {years}")
        df = df[df["year"] == year]
    if stage:
        df = df[df["stage"] == check_value(world.supply_all_editions["stage"], stage, "stage")]
    if countries:
        df = df[df["country"].isin([*countries])]
    cols = [
        "mineral",
        "stage",
        "measure",
        "country",
        "country_name",
        "year",
        "value_t",
        "basis",
        "estimated",
        "edition",
        "missing_reason",
    ]
    view = df[cols].copy()
    if not all_editions:
        other = _other_editions(world.supply_all_editions)
        key = list(
            zip(
                df["mineral"],
                df["stage"],
                df["measure"],
                df["country"],
                df["year"],
                df["basis"],
                strict=True,
            )
        )
        view["other_editions"] = [other.get(k, "") for k in key] if len(other) else ""
    else:
        view["is_latest"] = df["is_latest"].to_numpy()
    view["_agg"] = view["country"].isin(["WLD", "OTH"])
    view = view.sort_values(
        ["mineral", "stage", "measure", "year", "_agg", "value_t", "edition"],
        ascending=[True, True, True, True, True, False, False],
        na_position="last",
    )
    return view.drop(columns="_agg").reset_index(drop=True)


FLOW_FILTERS = ("year", "product", "mineral", "exporter", "importer", "country")
SUPPLY_FILTERS = ("mineral", "year", "stage", "country", "all_editions")
_COLUMN_OF = {
    "mineral": "mineral",
    "year": "year",
    "country": "country",
    "stage": "stage",
    "product": "product_id",
}


def check_value(column: pd.Series, value: str, name: str) -> str:
    """``value`` as it is written in ``column`` (matched without regard to case), or a
    :class:`CritminError` listing the values there are: a filter that matches nothing because
    of a typo must not look like a table without rows."""
    known = {str(v).lower(): str(v) for v in column.dropna().unique()}
    hit = known.get(value.strip().lower())
    if hit is None:
        raise CritminError(
            f"no {name} {value!r} in this table; {name}s in it: {', '.join(sorted(known.values()))}"
        )
    return hit


def table_filters(name: str, columns: list[str]) -> tuple[str, ...]:
    """The filters that apply to table ``name`` (with these columns)."""
    if name in SUPPLY_VIEWS or name == "supply":
        return SUPPLY_FILTERS
    if name == "flows":
        return FLOW_FILTERS
    out = [f for f, col in _COLUMN_OF.items() if col in columns]
    return (*out, "group") if name == "groups" else tuple(out)


def show_table(
    table: str,
    *,
    mineral: str | None = None,
    year: int | None = None,
    stage: str | None = None,
    country: str | None = None,
    product: str | None = None,
    exporter: str | None = None,
    importer: str | None = None,
    group: str | None = None,
    all_editions: bool = False,
) -> tuple[pd.DataFrame, str]:
    """Return (rows, title) for a table name and filters; unknown names give a clear error,
    and so does a filter the table has no column for (it would be silently ignored) or a
    stage that does not exist (it would silently match nothing)."""
    name = table.strip().lower()
    if name not in TABLE_NAMES:
        raise CritminError(f"unknown table {table!r}; tables: {', '.join(TABLE_NAMES)}")
    given = {
        "mineral": mineral,
        "year": year,
        "stage": stage,
        "country": country,
        "product": product,
        "exporter": exporter,
        "importer": importer,
        "group": group,
        "all_editions": all_editions or None,
    }
    plain = None if name in SUPPLY_VIEWS or name in ("supply", "flows") else read_table(name)
    allowed = table_filters(name, [] if plain is None else list(plain.columns))
    wrong = [f for f, v in given.items() if v is not None and v != "" and f not in allowed]
    if wrong:
        raise CritminError(
            f"the {name} table cannot be filtered by {', '.join(wrong)}; its filters: "
            f"{', '.join(allowed) or 'none'}"
        )
    trade_year = year if year in trade_years() else 2024
    world = load_world(trade_year)
    countries = world.resolve_countries(country) if country else None
    title = name
    if plain is None and name != "flows":
        df = show_supply(
            world, SUPPLY_VIEWS.get(name), mineral, year, stage, countries, all_editions
        )
        unit_note = "value_t: metric tonnes of " + (
            ", ".join(sorted(set(df["basis"].dropna()))) or "-"
        )
        title = f"{name}{' ' + mineral if mineral else ''}{' ' + str(year) if year else ''} ({unit_note})"
        return df, title
    if plain is None:  # flows
        if year is not None and year not in trade_years():
            raise CritminError(f"no bundled trade data for {year}: trade years are {trade_years()}")
        df = world.flows
        if product:
            df = world.product_flows(product)
        if mineral:
            pids = world.products[world.products["mineral"] == world.check_mineral(mineral)]
            df = df[df["product_id"].isin(pids["product_id"])]
        if exporter:
            df = df[df["exporter"].isin(world.resolve_countries(exporter))]
        if importer:
            df = df[df["importer"].isin(world.resolve_countries(importer))]
        if countries:
            df = df[df["exporter"].isin(countries) | df["importer"].isin(countries)]
        df = df.sort_values("value_usd", ascending=False).reset_index(drop=True)
        return df, f"flows {trade_year} (value_usd: USD; quantity_t: tonnes)"
    df = plain
    if name == "groups" and group:
        df = df[df["group_id"].str.upper() == group.upper()]
        if df.empty:
            world.group(group)  # raises with suggestions
    if mineral:
        df = df[df["mineral"] == world.check_mineral(mineral)]
    if year is not None:
        df = df[df["year"] == year]
    if countries:
        df = df[df["country"].isin(countries)]
    if stage:
        df = df[df["stage"] == check_value(plain["stage"], stage, "stage")]
    if product:
        df = df[df["product_id"] == check_value(plain["product_id"], product, "product")]
    return df.reset_index(drop=True), title
