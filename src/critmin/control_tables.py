"""Export controls and routed flows of a product's results, as rows for people.

The terminal summary, the HTML report and the dashboard all show a product's export controls
from these rows (docs/controls.md, "Reading the results"), so the three say the same thing.
Everything is read from the results contract of one product (``products.<id>``); nothing is
recomputed by the model:

- ``export_controls`` (destination quotas, licences and the routes of leaky bans, one entry per
  quota group), ``leakage`` (routed flows: origin, via, destination), the ``banned`` flag of
  ``flows`` (bans without leakage) and the exporters' ``quota_rent_usd`` (a quota on all of an
  exporter's exports, which is no quota group);
- the customs-comparable exports of each restricted exporter
  (``countries.<iso>.export_value_usd_before/after``, ``export_price_change_pct``) and the share
  of the watch countries' exports that go to the zone
  (``zone.watch_exports_to_zone_share_before/after``).

A control *binds* when its exporter's direct exports reach the cap (``exports_usd >= cap_usd``
up to a relative 1e-6) or, equivalently, its export-tax equivalent is positive. A ban binds
wherever there was baseline trade; a leaky ban's route is *full* when the routed flow reaches
the route's cap (``leak_share`` x the vias' baseline trade). The cap's share of baseline is
``cap_usd / sum_j V_ij`` over the control's destinations (baseline ``flows``).

A quota on all of an exporter's exports (``export_quota`` without ``importers``) leaves no
entry in ``export_controls``; it shows through its rent. Its export-tax equivalent is read off
any of the exporter's flows: ``e = (1 + export price change) / (1 + producer price change) - 1``
(the export price is ``pi (1 + e)``, docs/model.md).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

BINDING_TOLERANCE = 1e-6
"""Relative tolerance of "exports reach the cap" (the solver's residual is far smaller)."""


def _float(v: Any) -> float | None:
    return None if v is None else float(v)


def destinations_text(codes: Iterable[str], members: set[str], most: int = 3) -> str:
    """A control's destinations in a few words: the codes when there are at most ``most``,
    ``"the zone's 27 members"`` when they are exactly the members, else ``"109 destinations
    (27 members)"`` (how many of them are zone members)."""
    dest = list(codes)
    if len(dest) <= most:
        return ", ".join(dest)
    inside = sum(1 for c in dest if c in members)
    if members and set(dest) == members:
        return f"the zone's {len(dest)} members"
    return f"{len(dest)} destinations ({inside} member{'' if inside == 1 else 's'})"


def _baseline_to(product: dict[str, Any], exporter: str, dest: set[str]) -> float:
    return float(
        sum(
            f["baseline_value_usd"]
            for f in product["flows"]
            if f["exporter"] == exporter and f["importer"] in dest
        )
    )


def _ban_routes(product: dict[str, Any]) -> dict[tuple[str, str], list[str]]:
    """``(origin, destination) -> vias`` of the routed flows around bans."""
    routes: dict[tuple[str, str], list[str]] = {}
    for r in product.get("leakage") or []:
        if r["restriction"] == "ban":
            routes.setdefault((r["origin"], r["destination"]), []).append(r["via"])
    return routes


def control_rows(product: dict[str, Any], members: set[str]) -> list[dict[str, Any]]:
    """One row per control of the product: its quota groups (``export_controls``), then the
    bans without leakage (one row per exporter, from the banned flows), then quotas on all of
    an exporter's exports (exporters with a quota rent and no quota group).

    Each row: ``exporter``, ``kind`` (``quota`` = quota or licence, ``leaky quota``,
    ``leaky ban``, ``ban``, ``quota on all exports``), ``what`` (the kind in words, a
    destination quota's as its record says: ``quota``, ``licence`` or ``quota and licence``,
    with the cap's share of baseline or the vias), ``destinations`` (codes) and ``to`` (in words),
    ``cap_usd``, ``exports_usd`` (USD at baseline prices), ``cap_share`` (the cap over baseline
    exports to the destinations), ``binding``, ``route_use`` (a leaky ban's routed flow over
    its route's cap), ``export_tax_equivalent_pct``, ``leaked_usd``, ``leaked_share_of_cut``,
    ``baseline_usd`` (baseline exports to the destinations) and ``label``."""
    rows: list[dict[str, Any]] = []
    bans = _ban_routes(product)
    for c in product.get("export_controls") or []:
        exporter, dest = c["exporter"], list(c["destinations"])
        cap, exports = _float(c["cap_usd"]), _float(c["exports_usd"])
        base = _baseline_to(product, exporter, set(dest))
        full = None if cap is None or exports is None else exports >= cap * (1 - BINDING_TOLERANCE)
        vias = bans.get((exporter, dest[0])) if len(dest) == 1 else None
        row: dict[str, Any] = {
            "exporter": exporter,
            "destinations": dest,
            "to": destinations_text(dest, members),
            "cap_usd": cap,
            "exports_usd": exports,
            "baseline_usd": base,
            "cap_share": cap / base if cap is not None and base > 0 else None,
            "export_tax_equivalent_pct": _float(c["export_tax_equivalent_pct"]),
            "leaked_usd": _float(c["leaked_usd"]),
            "leaked_share_of_cut": _float(c["leaked_share_of_cut"]),
            "label": str(c.get("label") or ""),
        }
        if vias is not None:
            use = None if cap is None or exports is None or cap <= 0 else exports / cap
            row |= {
                "kind": "leaky ban",
                "what": f"ban, leaks via {', '.join(sorted(vias))}",
                "binding": True,
                "route_use": use,
            }
        else:
            leaky = row["label"].endswith("(leaky)")
            share = row["cap_share"]
            cap_text = "" if share is None else f" at {100 * share:.0f}% of baseline"
            row |= {
                "kind": "leaky quota" if leaky else "quota",
                "what": f"{c.get('kind') or 'quota/licence'}{cap_text}"
                + (", leaky" if leaky else ""),
                "binding": full,
                "route_use": None,
            }
        rows.append(row)
    rows += _tight_bans(product, members)
    rows += _whole_quotas(product, {r["exporter"] for r in rows if r["kind"] != "ban"})
    return rows


def _tight_bans(product: dict[str, Any], members: set[str]) -> list[dict[str, Any]]:
    """Bans without leakage, one row per exporter: the pairs flagged ``banned`` in ``flows``."""
    by_exporter: dict[str, list[tuple[str, float]]] = {}
    for f in product["flows"]:
        if f.get("banned"):
            by_exporter.setdefault(f["exporter"], []).append(
                (f["importer"], float(f["baseline_value_usd"]))
            )
    rows = []
    for exporter, pairs in by_exporter.items():
        dest = sorted(c for c, _ in pairs)
        base = sum(v for _, v in pairs)
        rows.append(
            {
                "exporter": exporter,
                "kind": "ban",
                "what": "ban",
                "destinations": dest,
                "to": destinations_text(dest, members),
                "cap_usd": 0.0,
                "exports_usd": 0.0,
                "baseline_usd": base,
                "cap_share": 0.0,
                "binding": base > 0,
                "route_use": None,
                "export_tax_equivalent_pct": None,
                "leaked_usd": 0.0,
                "leaked_share_of_cut": 0.0,
                "label": "",
            }
        )
    return rows


def _whole_quotas(product: dict[str, Any], grouped: set[str]) -> list[dict[str, Any]]:
    """Quotas on all of an exporter's exports: exporters with a quota rent that have no quota
    group of their own; the tax equivalent from one of their flows (module docstring)."""
    rows = []
    for code, c in product["countries"].items():
        rent = c.get("quota_rent_usd") or 0.0
        if rent <= 0 or code in grouped:
            continue
        exports = [f for f in product["flows"] if f["exporter"] == code != f["importer"]]
        e = None
        pi = c.get("producer_price_change_pct")
        for f in exports:
            xp = f.get("export_price_change_pct")
            if xp is not None and pi is not None and pi > -100 and not f.get("banned"):
                e = ((1 + xp / 100) / (1 + pi / 100) - 1) * 100
                break
        dest = sorted(f["importer"] for f in exports)
        rows.append(
            {
                "exporter": code,
                "kind": "quota on all exports",
                "what": "quota on all exports",
                "destinations": dest,
                "to": "all destinations",
                "cap_usd": None,
                "exports_usd": None,
                "baseline_usd": float(sum(f["baseline_value_usd"] for f in exports)),
                "cap_share": None,
                "binding": True,
                "route_use": None,
                "export_tax_equivalent_pct": e,
                "leaked_usd": 0.0,
                "leaked_share_of_cut": 0.0,
                "label": "",
            }
        )
    return rows


def routed_rows(product: dict[str, Any]) -> list[dict[str, Any]]:
    """The routed flows (``leakage``), largest value first: ``origin``, ``via``,
    ``destination``, ``value_usd`` (USD at export prices including the detour cost),
    ``restriction`` (``ban``, ``quota``, ``licence`` or ``quota and licence``: the instrument
    that set the cap), ``quantity_share_of_cap`` (the route's use of its
    cap) and ``leaked_share_of_cut`` (the routed quantity over the cut on the pair)."""
    keys = (
        "origin",
        "via",
        "destination",
        "value_usd",
        "restriction",
        "quantity_share_of_cap",
        "leaked_share_of_cut",
    )
    rows = [{k: r.get(k) for k in keys} for r in product.get("leakage") or []]
    rows.sort(key=lambda r: -(r["value_usd"] or 0.0))
    return rows


def exporter_rows(product: dict[str, Any], exporters: Iterable[str]) -> list[dict[str, Any]]:
    """Customs-comparable exports of the restricted exporters (USD at export prices, the
    quotas' export-tax equivalents included): before, after, change (%), the export price
    change (%) and the quota or licence rent (USD) they earn."""
    rows = []
    for code in dict.fromkeys(exporters):
        c = product["countries"].get(code)
        if c is None or c.get("export_value_usd_before") is None:
            continue
        before, after = c["export_value_usd_before"], c.get("export_value_usd_after")
        rows.append(
            {
                "exporter": code,
                "export_value_usd_before": before,
                "export_value_usd_after": after,
                "export_value_change_pct": (
                    None if after is None or not before else (after / before - 1) * 100
                ),
                "export_price_change_pct": c.get("export_price_change_pct"),
                "quota_rent_usd": c.get("quota_rent_usd"),
            }
        )
    return rows


def controls_view(product: dict[str, Any], members: set[str]) -> dict[str, Any] | None:
    """A product's export controls for people, or ``None`` when it has none: ``controls``
    (:func:`control_rows`), ``routed`` (:func:`routed_rows`), ``routed_usd`` (their sum),
    ``exporters`` (:func:`exporter_rows` of the restricted exporters) and
    ``watch_to_zone`` (the share of the watch countries' exports going to the zone, before and
    after, fractions 0-1; ``None`` each when the watch countries export nothing)."""
    controls = control_rows(product, members)
    routed = routed_rows(product)
    if not controls and not routed:
        return None
    zone = product.get("zone") or {}
    restricted = [r["exporter"] for r in controls] + [r["origin"] for r in routed]
    return {
        "controls": controls,
        "routed": routed,
        "routed_usd": sum(r["value_usd"] or 0.0 for r in routed),
        "exporters": exporter_rows(product, restricted),
        "watch_to_zone": {
            "before": zone.get("watch_exports_to_zone_share_before"),
            "after": zone.get("watch_exports_to_zone_share_after"),
        },
    }


def results_controls(results: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """:func:`controls_view` of every product that has export controls, by product id (empty
    when the scenario has none)."""
    members = set(results.get("members") or [])
    out = {}
    for pid, p in results["products"].items():
        view = controls_view(p, members)
        if view is not None:
            out[pid] = view
    return out


def binding_text(row: dict[str, Any]) -> str:
    """Whether a control binds, in words: ``yes`` / ``no`` / ``-`` (unknown); a leaky ban adds
    how full its route is (``yes; route full``, ``yes; route 46% full``)."""
    if row["binding"] is None:
        return "-"
    text = "yes" if row["binding"] else "no"
    use = row.get("route_use")
    if row["kind"] == "leaky ban" and use is not None:
        full = use >= 1 - BINDING_TOLERANCE
        text += "; route full" if full else f"; route {100 * use:.0f}% full"
    return text
