"""A readable terminal summary of simulation results (``critmin simulate`` without --json)."""

from __future__ import annotations

from typing import Any

import pandas as pd
from rich.console import Console
from rich.table import Table


def _usd(v: float | None) -> str:
    if v is None:
        return "-"
    a = abs(v)
    if a >= 1e9:
        return f"{v / 1e9:,.2f} bn"
    if a >= 1e6:
        return f"{v / 1e6:,.1f} m"
    if a >= 1e3:
        return f"{v / 1e3:,.0f} k"
    return f"{v:,.0f}"


def _pct(v: float | None) -> str:
    return "-" if v is None else f"{v:+.2f}%"


def _share(v: float | None) -> str:
    return "-" if v is None else f"{100 * v:.1f}%"


def diversion(
    product: dict[str, Any], members: set[str], top: int
) -> list[tuple[str, float, float]]:
    """Exporters into the zone ranked by the change in their sales to members (USD, producer prices)."""
    change: dict[str, list[float]] = {}
    for f in product["flows"]:
        if f["importer"] in members and f["exporter"] != f["importer"]:
            before, after = f["baseline_value_usd"], f["value_usd"] or 0.0
            acc = change.setdefault(f["exporter"], [0.0, 0.0])
            acc[0] += before
            acc[1] += after
    rows = [(c, b, a - b) for c, (b, a) in change.items()]
    rows.sort(key=lambda r: r[2])
    losers = [r for r in rows if r[2] < 0][:top]
    gainers = [r for r in reversed(rows) if r[2] > 0][:top]
    return losers + gainers


def print_summary(console: Console, data: dict[str, Any], top: int = 8) -> None:
    members = set(data["members"])
    console.print(
        f"[bold]{data['scenario']}[/]  (trade year {data['year']}; zone: "
        f"{len(members)} countries; watch: {', '.join(data['watch']) or 'none'})"
    )
    for pid, p in data["products"].items():
        z, s = p["zone"], p["summary"]
        status = (
            "[green]converged[/]"
            if p["converged"]
            else f"[bold red]NOT converged[/] {p['message']}"
        )
        console.rule(f"[bold]{p['name']}[/] ({pid}, HS {p['hs6']})")
        console.print(
            f"{status} in {p['iterations']} iterations, max residual {p['max_residual']:.1e}, "
            f"{1000 * p['solve_seconds']:.1f} ms; sigma {p['parameters']['sigma']:g}, "
            f"demand elasticity {p['parameters']['demand_elasticity']:g}"
        )
        console.print(
            f"Zone self-sufficiency {_share(z['self_sufficiency_baseline'])} -> "
            f"{_share(z['self_sufficiency'])};  watch share {_share(z['watch_share_baseline'])} -> "
            f"{_share(z['watch_share'])}"
        )
        console.print(
            f"Consumer prices: zone {_pct(s['zone_consumer_price_change_pct'])}, outside "
            f"{_pct(s['outside_consumer_price_change_pct'])}.  Welfare: zone "
            f"{_usd(s['zone_welfare_change_usd'])}, outside {_usd(s['outside_welfare_change_usd'])}, "
            f"world {_usd(s['world_welfare_change_usd'])} USD"
        )
        console.print(
            f"Tariff/levy revenue {_usd(s['tariff_revenue_change_usd'])}, subsidy cost "
            f"{_usd(s['subsidy_cost_usd'])}, quota rent {_usd(s['quota_rent_usd'])} USD "
            f"(baseline market {_usd(s['baseline_market_usd'])} USD)"
        )
        rows = diversion(p, members, top)
        if rows:
            t = Table(title="Trade diversion: exporters' sales to the zone", title_justify="left")
            for col in ("exporter", "baseline USD", "change USD", "change"):
                t.add_column(col, justify="left" if col == "exporter" else "right")
            for c, before, delta in rows:
                rel = f"{100 * delta / before:+.1f}%" if before else "new"
                t.add_row(c, _usd(before), _usd(delta), rel)
            console.print(t)
        countries = p["countries"]
        ranked = sorted(
            countries.items(), key=lambda kv: abs(kv[1]["welfare_change_usd"] or 0.0), reverse=True
        )[:top]
        t = Table(title="Largest welfare changes (USD)", title_justify="left")
        for col in (
            "country",
            "zone",
            "producer price",
            "consumer price",
            "consumer surplus",
            "producer surplus",
            "revenue",
            "subsidy",
            "quota rent",
            "welfare",
        ):
            t.add_column(col, justify="left" if col in {"country", "zone"} else "right")
        for c, r in ranked:
            t.add_row(
                c,
                "member" if r["member"] else ("watch" if r["watch"] else ""),
                _pct(r["producer_price_change_pct"]),
                _pct(r["consumer_price_change_pct"]),
                _usd(r["consumer_surplus_change_usd"]),
                _usd(r["producer_surplus_change_usd"]),
                _usd(r["tariff_revenue_change_usd"]),
                _usd(r["subsidy_cost_usd"]),
                _usd(r["quota_rent_usd"]),
                _usd(r["welfare_change_usd"]),
            )
        console.print(t)
        for w in p["warnings"]:
            console.print(f"[yellow]data:[/] {w}", highlight=False)
        if p["estimated_domestic_sales"]:
            console.print(
                "[yellow]estimate:[/] domestic sales rest on estimated national output for "
                + ", ".join(p["estimated_domestic_sales"]),
                highlight=False,
            )


def assess_table(records: list[dict[str, Any]], with_zone: bool) -> pd.DataFrame:
    """The ranked assess table as a DataFrame with percentages for display."""
    rows = []
    for r in records:
        row: dict[str, Any] = {
            "mineral": r["mineral"],
            "stage": r["stage"],
            "year": r["year"],
            "HHI": round(r["hhi_10000"]),
            "top": r["top_supplier"],
            "top %": round(100 * r["top_supplier_share"], 1),
            "top3 %": round(100 * r["top3_share"], 1),
            "n90": r["n_for_90"],
            "coverage %": round(100 * r["coverage"], 1),
        }
        if with_zone:
            row["zone supply %"] = round(100 * r["zone_supply_share"], 1)
            row["watch supply %"] = round(100 * r["watch_supply_share"], 1)
            ss, ws = r.get("zone_self_sufficiency"), r.get("watch_share")
            row["zone self-suff. %"] = None if ss is None else round(100 * ss, 1)
            row["watch share %"] = None if ws is None else round(100 * ws, 1)
            outs = r.get("top_outside_suppliers") or []
            row["top outside"] = ", ".join(o["country"] for o in outs[:3])
        rows.append(row)
    return pd.DataFrame(rows)
