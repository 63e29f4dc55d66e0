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
- linked chains (results with ``chains``; :data:`CHAIN_TABLES`): :func:`chain_stages_frame`
  (one row per chain and stage with the contract's fields, zone/outside/world parts as
  columns, and the stage's share of the zone producers' gain), :func:`chain_flows_frame` (each
  stage's sales between the zone and the rest of the world) and :func:`chain_welfare_frame`
  (one row per chain and group).
- export controls (results with any, :data:`CONTROL_TABLES`; rows of
  :mod:`critmin.control_tables`, as the summary, report and dashboard show them):
  :func:`export_controls_frame` (one row per control of each product) and
  :func:`routed_flows_frame` (one row per routed flow: origin, via, destination). The
  customs-comparable exports are columns of ``countries``
  (``export_value_usd_before/after``, ``export_price_change_pct``; every exporter, in every
  run) and the share of the watch countries' exports going to the zone columns of
  ``products`` (``watch_exports_to_zone_share_before/after``).
- :func:`tables`: all of the above by name (:func:`table_names`: the ones a result has).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from critmin.control_tables import control_rows, results_controls, routed_rows
from critmin.errors import CritminError
from critmin.narrative import (
    WELFARE_PARTS,
    chain_region_flows,
    country_label,
    headline,
    welfare_parts,
)

TABLES = ("products", "countries", "flows", "welfare", "key_figures")
CHAIN_TABLES = ("chain_stages", "chain_flows", "chain_welfare")
"""Tables of linked chains, offered when the results hold ``chains``."""
CONTROL_TABLES = ("export_controls", "routed_flows")
"""Tables of export controls, offered when a product of the results has any
(:func:`critmin.control_tables.results_controls`)."""

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
    "chain": "chain id",
    "step": "step",
    "products": "product ids",
    "key": "product key",
    "link": "link to the previous stage",
    "seller": "sellers (region)",
    "buyer": "buyers (region)",
    "kind": "kind of control",
    "what": "control",
    "destinations": "destinations (ISO3)",
    "to": "destinations (in words)",
    "cap_usd": "cap at baseline prices (USD)",
    "exports_usd": "exports to the destinations at baseline prices (USD)",
    "baseline_usd": "baseline exports to the destinations (USD)",
    "cap_share": "cap share of baseline exports (fraction 0-1)",
    "binding": "binding",
    "route_use": "route use of its cap (fraction 0-1)",
    "leaked_usd": "leaked around the control (USD)",
    "label": "label",
    "origin": "origin (ISO3)",
    "via": "via (ISO3)",
    "destination": "destination (ISO3)",
    "restriction": "restriction",
    "value_usd": "value (USD)",
    "quantity_share_of_cap": "quantity share of cap (fraction 0-1)",
    "leaked_share_of_cut": "leaked share of the cut (fraction 0-1)",
    "export_value_usd_before": "customs-comparable exports before (USD)",
    "export_value_usd_after": "customs-comparable exports after (USD)",
    "sources": "sources",
    "estimated_domestic_sales": "domestic sales estimated for (ISO3)",
    "data_notes": "data notes",
}
# shares (fractions 0-1) among the columns
_SHARES = ("self_sufficiency", "watch_share", "share_of_", "cost_share")


def column_header(column: str) -> str:
    """The column's header with its unit: ``consumer_price_change_pct`` -> ``consumer price
    change (%)``, ``value_usd`` -> ``value (USD)``, ``self_sufficiency`` -> ``self sufficiency
    (fraction 0-1)``."""
    if column in _LABELS:
        return _LABELS[column]
    for suffix, unit in (("_pct", "%"), ("_usd", "USD"), ("_seconds", "s")):
        if column.endswith(suffix):
            return f"{column.removesuffix(suffix).replace('_', ' ')} ({unit})"
    if (
        column.startswith("share")
        or column.endswith("_share")
        or "_share_" in column
        or any(k in column for k in _SHARES)
    ):
        return f"{column.replace('_', ' ')} (fraction 0-1)"
    return column.replace("_", " ")


def _product_columns(pid: str, p: dict[str, Any]) -> dict[str, Any]:
    return {"product": pid, "name": p["name"], "mineral": p["mineral"], "stage": p["stage"]}


def products_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per product: HS6, mineral, stage, solver status, parameters, the summary (zone
    and outside prices, welfare, revenue, subsidy, quota rent), the zone shares and the
    provenance: the baseline's sources (``; ``-separated), the countries whose domestic sales
    rest on estimated national output (the contract's ``estimated_domestic_sales``) and the
    data notes (the contract's ``warnings``: replaced unit values, estimates, caveats;
    `` | ``-separated)."""
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
                # provenance, as the terminal's "data:" and "estimate:" lines give it
                "sources": "; ".join(p.get("sources") or []),
                "estimated_domestic_sales": ", ".join(p.get("estimated_domestic_sales") or []),
                "data_notes": " | ".join(p.get("warnings") or []),
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


_STAGE_SPLITS = ("producer_surplus_usd", "consumer_surplus_usd", "welfare_usd")


def chain_stages_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per chain and stage (in order): the contract's stage fields (price, output and
    zone share changes, input cost share, revenue, subsidy, quota rent), the zone / outside
    (/ world) splits as columns (``producer_surplus_zone_usd``, ...) and the stage's
    ``share_of_zone_producer_gain`` from ``captured_by_stage``; ``notes``: the stage's notes,
    then the chain's notes about the stage."""
    rows = []
    for cid, ch in (results.get("chains") or {}).items():
        for k, (s, cap) in enumerate(zip(ch["stages"], ch["captured_by_stage"], strict=True)):
            row: dict[str, Any] = {"chain": cid, "step": k + 1}
            for key, value in s.items():
                if key in _STAGE_SPLITS:
                    base = key.removesuffix("_usd")
                    row.update({f"{base}_{g}_usd": v for g, v in value.items()})
                elif key == "products":
                    row[key] = ", ".join(value)
                elif key != "notes":
                    row[key] = value
            row["share_of_zone_producer_gain"] = cap["share_of_zone_producer_gain"]
            # the chain's notes about this stage too (why its input cost share is below the
            # estimate its own note gives: "stage 2 (...): input cost share cut for ...")
            about = [n for n in ch.get("notes") or [] if n.startswith(f"stage {k + 1} (")]
            row["notes"] = "; ".join([*s["notes"], *about])
            rows.append(row)
    return pd.DataFrame(rows, columns=None if rows else ["chain", "step", "stage"])


def chain_flows_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per chain, stage and (seller, buyer) region pair (zone or outside): baseline
    and scenario value of the stage's sales (USD at producer prices) and the change
    (:func:`critmin.narrative.chain_region_flows`)."""
    rows = []
    for cid in results.get("chains") or {}:
        for f in chain_region_flows(results, cid):
            before, after = f["baseline_value_usd"], f["value_usd"]
            rows.append(
                {
                    **f,
                    "value_change_usd": None if after is None else after - before,
                    "value_change_pct": None
                    if after is None or not before
                    else (after / before - 1) * 100,
                }
            )
    columns = ["chain", "step", "stage", "seller", "buyer", "baseline_value_usd", "value_usd"]
    return pd.DataFrame(rows, columns=None if rows else columns)


def chain_welfare_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per chain and group (``zone``, ``outside``, ``world``): the chain's welfare
    change (the contract's ``welfare``, the sum over its stages), its producer and consumer
    surplus summed over the stages and the other parts of welfare over its stages' products
    (tariff revenue, quota rent, subsidy cost; :func:`critmin.narrative.welfare_parts`), so
    that the parts add up to the welfare as in ``welfare`` (USD)."""
    rows = []
    others = ("tariff_revenue_change_usd", "quota_rent_usd", "subsidy_cost_usd")
    for cid, ch in (results.get("chains") or {}).items():
        pids = [pid for s in ch["stages"] for pid in s.get("products") or [s["key"]]]
        sub = {
            "products": {pid: results["products"][pid] for pid in pids},
            "members": results["members"],
            "watch": results["watch"],
        }
        parts = welfare_parts(sub)
        for group in ("zone", "outside", "world"):
            sums: dict[str, float | None] = {}
            for key in ("producer_surplus_usd", "consumer_surplus_usd"):
                groups = ("zone", "outside") if group == "world" else (group,)
                vals = [s[key][g] for s in ch["stages"] for g in groups]
                name = key.replace("_usd", "_change_usd")
                sums[name] = None if any(v is None for v in vals) else float(sum(vals))
            rows.append(
                {
                    "chain": cid,
                    "mineral": ch["mineral"],
                    "group": group,
                    "converged": ch["converged"],
                    "welfare_change_usd": ch["welfare"][group],
                    **sums,
                    **{k: parts[group][k] for k in others},
                }
            )
    return pd.DataFrame(
        rows,
        columns=[
            "chain",
            "mineral",
            "group",
            "converged",
            "welfare_change_usd",
            "producer_surplus_change_usd",
            "consumer_surplus_change_usd",
            *others,
        ],
    )


_CONTROL_COLUMNS = (
    "exporter",
    "kind",
    "what",
    "destinations",
    "to",
    "cap_usd",
    "exports_usd",
    "baseline_usd",
    "cap_share",
    "binding",
    "route_use",
    "export_tax_equivalent_pct",
    "leaked_usd",
    "leaked_share_of_cut",
    "label",
)
_ROUTED_COLUMNS = (
    "origin",
    "via",
    "destination",
    "value_usd",
    "quantity_share_of_cap",
    "leaked_share_of_cut",
    "restriction",
)
_HEAD = ("product", "name", "mineral", "stage")


def export_controls_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per product and export control (:func:`critmin.control_tables.control_rows`):
    the quota groups of the contract's ``export_controls`` (quotas, licences, routes of leaky
    bans), bans without leakage and quotas on all of an exporter's exports. Columns: exporter,
    kind, the control in words, destinations (codes, comma-separated, and in words), cap and
    exports at baseline prices (USD; a ban's are 0), baseline exports to the destinations
    (USD), the cap's share of them, whether it binds, a leaky ban's route use, the
    export-tax equivalent (%), what leaked (USD) and its share of the cut, and the label."""
    members = set(results.get("members") or [])
    rows = []
    for pid, p in results["products"].items():
        for r in control_rows(p, members):
            row = {k: r[k] for k in _CONTROL_COLUMNS}
            row["destinations"] = ", ".join(r["destinations"])
            rows.append({**_product_columns(pid, p), **row})
    return pd.DataFrame(rows, columns=[*_HEAD, *_CONTROL_COLUMNS])


def routed_flows_frame(results: dict[str, Any]) -> pd.DataFrame:
    """One row per product and routed flow around a control (the contract's ``leakage``,
    largest value first; :func:`critmin.control_tables.routed_rows`): origin, via,
    destination, value (USD at export prices including the detour cost), the route's use of
    its cap, the routed quantity's share of the cut on the pair, and the restriction (``ban``,
    ``quota``, ``licence`` or ``quota and licence``)."""
    rows = []
    for pid, p in results["products"].items():
        for r in routed_rows(p):
            rows.append({**_product_columns(pid, p), **{k: r[k] for k in _ROUTED_COLUMNS}})
    return pd.DataFrame(rows, columns=[*_HEAD, *_ROUTED_COLUMNS])


_BUILDERS = {
    "products": products_frame,
    "countries": countries_frame,
    "flows": flows_frame,
    "welfare": welfare_frame,
    "key_figures": key_figures_frame,
    "chain_stages": chain_stages_frame,
    "chain_flows": chain_flows_frame,
    "chain_welfare": chain_welfare_frame,
    "export_controls": export_controls_frame,
    "routed_flows": routed_flows_frame,
}


def table_names(results: dict[str, Any]) -> tuple[str, ...]:
    """The tables a result offers: :data:`TABLES`, plus :data:`CHAIN_TABLES` when it holds
    linked chains and :data:`CONTROL_TABLES` when a product has export controls."""
    names = TABLES + (CHAIN_TABLES if results.get("chains") else ())
    return names + (CONTROL_TABLES if results_controls(results) else ())


def table(results: dict[str, Any], name: str) -> pd.DataFrame:
    """One table by name (one of :data:`TABLES`, :data:`CHAIN_TABLES` or
    :data:`CONTROL_TABLES`; a chain or control table of a result without any is empty)."""
    try:
        build = _BUILDERS[name]
    except KeyError:
        known = ", ".join((*TABLES, *CHAIN_TABLES, *CONTROL_TABLES))
        raise CritminError(f"unknown results table {name!r}; expected one of {known}") from None
    return build(results)


def tables(results: dict[str, Any]) -> dict[str, pd.DataFrame]:
    """Every table of the result (:func:`table_names`) by name."""
    return {name: table(results, name) for name in table_names(results)}
