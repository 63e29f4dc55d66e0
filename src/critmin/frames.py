"""Tidy pandas DataFrames of simulation results, for notebooks, CSV and Excel.

Every function takes the results contract (``SimulationResult.to_dict()``) and returns one long
("tidy") table: one row per observation, the product and its stage as columns, so a notebook
can filter, group and pivot without loops. Values and units are those of the contract: keys
ending in ``_pct`` are percent changes, ``_usd`` US dollars, shares (``self_sufficiency``,
``watch_share``) fractions 0-1. :func:`column_header` gives each column its human header with
the unit, as the Excel workbook and CSV files use.

- :func:`products_frame`: one row per product (solver status, summary, zone shares).
- :func:`countries_frame`: one row per product and country (prices, quantities, welfare).
- :func:`flows_frame`: one row per product and trading pair (baseline and scenario value).
- :func:`welfare_frame`: one row per product and group (zone, outside, world) with the parts
  of welfare, plus an ``all products`` total.
- :func:`key_figures_frame`: the headline's key figures (see :mod:`critmin.narrative`).
- :func:`tables`: all of the above by name.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from critmin.errors import CritminError
from critmin.narrative import WELFARE_PARTS, country_label, headline, welfare_parts

TABLES = ("products", "countries", "flows", "welfare", "key_figures")

# human headers of the contract's columns (the unit follows in parentheses)
_LABELS = {
    "product": "product id",
    "name": "product",
    "hs6": "HS6",
    "mineral": "mineral",
    "stage": "stage",
    "country": "country (ISO3)",
    "country_name": "country",
    "exporter": "exporter (ISO3)",
    "importer": "importer (ISO3)",
    "group": "group",
    "member": "zone member",
    "watch": "watch country",
    "banned": "banned",
    "converged": "converged",
    "iterations": "solver iterations",
    "max_residual": "max residual (relative)",
}


def column_header(column: str) -> str:
    """The column's header with its unit: ``consumer_price_change_pct`` -> ``consumer price
    change (%)``, ``value_usd`` -> ``value (USD)``, ``self_sufficiency`` -> ``self sufficiency
    (fraction 0-1)``."""
    if column in _LABELS:
        return _LABELS[column]
    for suffix, unit in (("_pct", "%"), ("_usd", "USD"), ("_seconds", "s")):
        if column.endswith(suffix):
            return f"{column.removesuffix(suffix).replace('_', ' ')} ({unit})"
    if column.startswith(("self_sufficiency", "watch_share", "share")):
        return f"{column.replace('_', ' ')} (fraction 0-1)"
    return column.replace("_", " ")


def _product_columns(pid: str, p: dict[str, Any]) -> dict[str, Any]:
    return {"product": pid, "name": p["name"], "mineral": p["mineral"], "stage": p["stage"]}


def products_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per product: HS6, mineral, stage, solver status, parameters, the summary (zone
    and outside prices, welfare, revenue, subsidy, quota rent) and the zone shares."""
    rows = []
    for pid, p in results["products"].items():
        rows.append(
            {
                **_product_columns(pid, p),
                "hs6": p["hs6"],
                "converged": p["converged"],
                "iterations": p["iterations"],
                "max_residual": p["max_residual"],
                "sigma": p["parameters"]["sigma"],
                "demand_elasticity": p["parameters"]["demand_elasticity"],
                "supply_elasticity_median": p["parameters"]["supply_elasticity_median"],
                **p["summary"],
                **p["zone"],
            }
        )
    return pd.DataFrame(rows)


def countries_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per product and country: every field of the contract's ``countries`` entry."""
    rows = []
    for pid, p in results["products"].items():
        head = _product_columns(pid, p)
        for code, r in p["countries"].items():
            rows.append({**head, "country": code, "country_name": country_label(code), **r})
    return pd.DataFrame(rows)


def flows_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per product and trading pair (exporter -> importer; exporter == importer is
    domestic sales): baseline and scenario value at producer prices, its change and the
    quantity change."""
    members, watch = set(results["members"]), set(results["watch"])
    rows = []
    for pid, p in results["products"].items():
        head = _product_columns(pid, p)
        for f in p["flows"]:
            after = f.get("value_usd")
            rows.append(
                {
                    **head,
                    **f,
                    "value_change_usd": None if after is None else after - f["baseline_value_usd"],
                    "exporter_group": _group(f["exporter"], members, watch),
                    "importer_group": _group(f["importer"], members, watch),
                }
            )
    return pd.DataFrame(rows)


def _group(code: str, members: set[str], watch: set[str]) -> str:
    return "member" if code in members else ("watch" if code in watch else "other")


def welfare_frame(results: dict[str, Any]) -> pd.DataFrame:
    """Welfare and its parts (USD) by product and group (``zone``, ``outside``, ``world``), then
    the same over all products (``product == "all"``). welfare = consumer surplus + producer
    surplus + tariff/levy revenue + quota rent - subsidy cost."""
    keys = [k for k, _ in WELFARE_PARTS]
    rows = []
    for pid, p in results["products"].items():
        sub = {"products": {pid: p}, "members": results["members"], "watch": results["watch"]}
        parts = welfare_parts(sub)
        for group, values in parts.items():
            rows.append({**_product_columns(pid, p), "group": group, **values})
    for group, values in welfare_parts(results).items():
        rows.append(
            {
                "product": "all",
                "name": "all products",
                "mineral": "",
                "stage": "",
                "group": group,
                **values,
            }
        )
    return pd.DataFrame(rows, columns=["product", "name", "mineral", "stage", "group", *keys])


def key_figures_frame(results: dict[str, Any]) -> pd.DataFrame:
    """The key figures of the headline: key, label, value, unit, baseline, text, note."""
    figs = headline(results).figures
    return pd.DataFrame(
        [
            {
                "key": f.key,
                "label": f.label,
                "value": f.value,
                "unit": f.unit,
                "baseline": f.baseline,
                "text": f.text,
                "note": f.note,
            }
            for f in figs
        ]
    )


_BUILDERS = {
    "products": products_frame,
    "countries": countries_frame,
    "flows": flows_frame,
    "welfare": welfare_frame,
    "key_figures": key_figures_frame,
}


def table(results: dict[str, Any], name: str) -> pd.DataFrame:
    """One table by name (one of :data:`TABLES`)."""
    try:
        build = _BUILDERS[name]
    except KeyError:
        raise CritminError(
            f"unknown results table {name!r}; expected one of {', '.join(TABLES)}"
        ) from None
    return build(results)


def tables(results: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Every table (:data:`TABLES`) by name."""
    return {name: table(results, name) for name in TABLES}
