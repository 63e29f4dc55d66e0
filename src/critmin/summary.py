"""A readable terminal summary of simulation results (``critmin simulate`` without --json)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from critmin.note_kinds import WARNING_PREFIXES, shared_warnings
from critmin.numbers import pct as _pct
from critmin.numbers import share as _share
from critmin.numbers import share_pair, usd_terms
from critmin.numbers import usd as _usd


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


UNITS_LINE = (
    "Units: % for shares and changes (JSON: shares as fractions 0-1, *_pct keys in %), "
    "USD at producer prices."
)
DASH_NOTE = (
    "-: not defined: a producer price needs baseline sales, a consumer price baseline "
    "purchases; 'new' = no baseline sales to the zone."
)


def print_answer(console: Console, data: dict[str, Any]) -> None:
    """The answer first: the written paragraph, the key figures and welfare with its parts."""
    from critmin.narrative import WELFARE_PARTS, headline

    answer = headline(data)
    console.print(escape(answer.paragraph), highlight=False)
    t = Table(title="Key figures", title_justify="left", show_header=True)
    t.add_column("figure")
    t.add_column("value", justify="right")
    t.add_column("meaning", overflow="fold")
    for f in answer.figures:
        if f.key.startswith("zone_") and f.unit == "USD" and f.key != "zone_welfare_change_usd":
            continue  # the parts are on the welfare line below
        t.add_row(f.label, f.text, f.note)
    console.print(t)
    zone = answer.welfare["zone"]
    keys = [k for k, _ in WELFARE_PARTS if k not in {"welfare_change_usd", "subsidy_cost_usd"}]
    labels = dict(WELFARE_PARTS)
    # one unit for the total and its parts, so that the line visibly adds up
    total, *texts, cost = usd_terms(
        [zone["welfare_change_usd"], *(zone[k] for k in keys), zone["subsidy_cost_usd"]]
    )
    parts = " + ".join(f"{labels[k]} {t}" for k, t in zip(keys, texts, strict=True))
    console.print(
        f"Zone welfare {total} USD = {parts} - subsidy cost {cost.lstrip('+')}",
        highlight=False,
    )


def products_table(data: dict[str, Any]) -> Table:
    """One row per product, largest zone price change first, and the cross-product total."""
    from critmin.narrative import price_changes, welfare_parts, zone_shares

    products = data["products"]
    order = sorted(
        products,
        key=lambda pid: -abs(products[pid]["summary"]["zone_consumer_price_change_pct"] or 0.0),
    )
    shares, prices = zone_shares(data), price_changes(data)
    parts = welfare_parts(data)
    with_subsidy = any(products[pid]["summary"]["subsidy_cost_usd"] for pid in order)
    t = Table(
        title=f"{len(products)} products, largest zone price change first",
        title_justify="left",
    )
    t.add_column("product", no_wrap=True, overflow="ellipsis", max_width=30)
    t.add_column("stage", no_wrap=True)
    for col in ("zone price", "outside", "self-suff. %", "zone welfare", "revenue"):
        t.add_column(col, justify="right", no_wrap=True)
    if with_subsidy:
        t.add_column("subsidy", justify="right", no_wrap=True)

    def ss(before: float | None, after: float | None) -> str:
        a, b = share_pair(before, after)  # a real change is never shown as 94.5→94.5
        return f"{a.rstrip('%')}→{b.rstrip('%')}"

    failed = 0
    for pid in order:
        p = products[pid]
        z, s = p["zone"], p["summary"]
        failed += not p["converged"]
        row = [
            pid + ("" if p["converged"] else " *"),
            p["stage"],
            _pct(s["zone_consumer_price_change_pct"], 1),
            _pct(s["outside_consumer_price_change_pct"], 1),
            ss(z["self_sufficiency_baseline"], z["self_sufficiency"]),
            _usd(s["zone_welfare_change_usd"], signed=True),
            _usd(s["tariff_revenue_change_usd"], signed=True),
        ]
        if with_subsidy:
            row.append(_usd(s["subsidy_cost_usd"]))
        t.add_row(*row)
    t.add_section()
    total = [
        "[bold]all products[/]",
        "",
        _pct(prices["zone_consumer_price_change_pct"], 1),
        _pct(prices["outside_consumer_price_change_pct"], 1),
        ss(shares["self_sufficiency_baseline"], shares["self_sufficiency"]),
        _usd(parts["zone"]["welfare_change_usd"], signed=True),
        _usd(parts["world"]["tariff_revenue_change_usd"], signed=True),
    ]
    if with_subsidy:
        total.append(_usd(parts["world"]["subsidy_cost_usd"]))
    t.add_row(*total)
    t.caption = (
        "USD; prices in % change (all products: weighted by baseline purchases); "
        "self-sufficiency baseline→scenario, % of zone demand; revenue and subsidy: world totals"
        + (f"; * = did not converge ({failed})" if failed else "")
        + "."
    )
    return t


def print_product_warnings(console: Console, products: Mapping[str, Any]) -> None:
    """Each distinct warning of the products once, with the products that give it
    (:func:`critmin.note_kinds.shared_warnings`)."""
    for note, where in shared_warnings(products).items():
        console.print(f"[bold yellow]warning:[/] {escape(where)}: {escape(note)}", highlight=False)


def print_warnings(console: Console, data: Mapping[str, Any]) -> None:
    """Every warning of a result, products' (:func:`print_product_warnings`) then chains',
    without its tables: for commands that write the result elsewhere (``critmin report``)."""
    print_product_warnings(console, data["products"])
    for cid, chain in (data.get("chains") or {}).items():
        for note in chain.get("notes") or []:
            if note.startswith(WARNING_PREFIXES):
                console.print(
                    f"[bold yellow]warning:[/] chain {escape(cid)}: {escape(note)}",
                    highlight=False,
                )


def print_summary(
    console: Console, data: dict[str, Any], top: int = 8, detail: bool | None = None
) -> None:
    """The terminal summary: the answer, the key figures, (several products) one row per
    product with the cross-product total, then the detail of each product (by default only
    when there are at most three; ``detail=True`` always)."""
    members = set(data["members"])
    console.print(
        f"[bold]{escape(data['scenario'])}[/]  (trade year {data['year']}; zone: "
        f"{len(members)} countries; watch: {', '.join(data['watch']) or 'none'})"
    )
    console.print(f"[dim]{UNITS_LINE}[/]", highlight=False)
    print_answer(console, data)
    if data.get("chains"):
        print_chains(console, data["chains"])
    products = data["products"]
    if len(products) > 1:
        console.print(products_table(data))
    if detail is None:
        detail = len(products) <= 3
    if not detail:
        # the tables are left out, never the warnings: an instrument that does nothing or
        # buyers cut off from every supplier must be seen whatever the length of the output
        print_product_warnings(console, products)
        console.print(
            "[dim]Per-product tables (trade diversion, export controls, welfare by country): "
            "--detail; every table: --xlsx FILE or --csv DIR; everything: --json.[/]"
        )
        return
    for pid, p in products.items():
        z, s = p["zone"], p["summary"]
        console.rule(f"[bold]{escape(str(p['name']))}[/] ({escape(pid)}, HS {p['hs6']})")
        if not p["converged"]:
            # a point that is not an equilibrium: its numbers must not be read as results
            console.print(
                f"[bold red]NOT converged:[/] {escape(p['message'])}. No results are shown for "
                f"this product (sigma {p['parameters']['sigma']:g}, demand elasticity "
                f"{p['parameters']['demand_elasticity']:g}); in --json its figures are those of "
                'the last iterate, marked "converged": false.',
                highlight=False,
            )
            _print_notes(console, p, warnings=True)
            _print_notes(console, p)
            continue
        console.print(
            f"[green]converged[/] in {p['iterations']} iterations, max residual "
            f"{p['max_residual']:.1e}, {1000 * p['solve_seconds']:.1f} ms; sigma "
            f"{p['parameters']['sigma']:g}, demand elasticity "
            f"{p['parameters']['demand_elasticity']:g}"
        )
        _print_notes(console, p, warnings=True)
        ss_before, ss_after = share_pair(z["self_sufficiency_baseline"], z["self_sufficiency"])
        ws_before, ws_after = share_pair(z["watch_share_baseline"], z["watch_share"])
        console.print(
            f"Zone self-sufficiency {ss_before} -> {ss_after};  watch share {ws_before} -> "
            f"{ws_after}"
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
            if any(not before for _, before, _ in rows):
                t.caption = "'new': the exporter sold nothing to the zone in the baseline."
            console.print(t)
        print_controls(console, p, members, top)
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
        dashes = False
        for c, r in ranked:
            dashes |= (
                r["producer_price_change_pct"] is None or r["consumer_price_change_pct"] is None
            )
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
        if dashes:
            t.caption = DASH_NOTE.split("; 'new'")[0] + "."
        console.print(t)
        for w in p["warnings"]:
            console.print(f"[yellow]data:[/] {escape(w)}", highlight=False)
        if tariffs := baseline_tariff_measures(p.get("sources") or []):
            console.print(
                "[yellow]tariffs:[/] calibrated with baseline tariffs (t0) from "
                + escape("; ".join(tariffs))
                + " (citations: the JSON's sources)",
                highlight=False,
            )
        if p["estimated_domestic_sales"]:
            console.print(
                "[yellow]estimate:[/] domestic sales rest on estimated national output for "
                + ", ".join(p["estimated_domestic_sales"]),
                highlight=False,
            )
        _print_notes(console, p)


def baseline_tariff_measures(sources: Sequence[str]) -> list[str]:
    """The measures behind a product's baseline tariffs (``[tariffs]``, docs/controls.md), once
    each, from its ``sources`` entries ``baseline tariff: <measure> (<lines>, ...): <source>``
    (a user's file: ``baseline tariff: user file <name>, line <n>``, one entry per file)."""
    out: list[str] = []
    for s in sources:
        if not s.startswith("baseline tariff: "):
            continue
        measure = s.removeprefix("baseline tariff: ")
        measure = measure.split(", line ")[0] if measure.startswith("user file ") else measure
        measure = measure.split(" (")[0]
        if measure not in out:
            out.append(measure)
    return out


ROUTED_ROWS = 12
"""Routed flows listed at most in the terminal (the rest are summed on one line)."""


def print_controls(console: Console, product: dict[str, Any], members: set[str], top: int) -> None:
    """The product's export controls (critmin.control_tables), nothing when it has none: one
    row per control (what, destinations, binding, export-tax equivalent, leaked USD and share
    of the cut), the restricted exporters' customs-comparable exports with their rent, the
    watch countries' share of exports going to the zone, and the routed flows (origin -> via
    -> destination, USD, use of the route's cap), largest first."""
    from rich import box

    from critmin.control_tables import binding_text, controls_view

    view = controls_view(product, members)
    if view is None:
        return
    t = Table(
        title="Export controls",
        title_justify="left",
        caption="binding: exports reach the cap (a leaky ban: how full its route is); tax eq.: "
        "the export-tax equivalent of the cap (of a leaky ban: the rent on its route); leaked: "
        "USD routed around it and the routed quantity over the cut it makes.",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    t.add_column("exporter", no_wrap=True)
    t.add_column("control", overflow="fold", min_width=14)
    t.add_column("to", overflow="fold", min_width=10)
    t.add_column("binding", overflow="fold")
    for col in ("tax eq.", "leaked USD", "of cut"):
        t.add_column(col, justify="right", no_wrap=True)
    for r in view["controls"]:
        t.add_row(
            r["exporter"],
            escape(r["what"]),
            escape(r["to"]),
            binding_text(r),
            _pct(r["export_tax_equivalent_pct"], 1),
            _usd(r["leaked_usd"]),
            _share(r["leaked_share_of_cut"]),
        )
    console.print(t)
    for e in view["exporters"]:
        console.print(
            f"{e['exporter']} exports at export prices (customs-comparable): USD "
            f"{_usd(e['export_value_usd_before'])} -> {_usd(e['export_value_usd_after'])} "
            f"({_pct(e['export_value_change_pct'], 1)}), export price "
            f"{_pct(e['export_price_change_pct'], 1)}; quota/licence rent USD "
            f"{_usd(e['quota_rent_usd'])}",
            highlight=False,
        )
    w = view["watch_to_zone"]
    if w["before"] is not None or w["after"] is not None:
        console.print(
            "Watch countries' exports going to the zone: "
            + " -> ".join(share_pair(w["before"], w["after"])),
            highlight=False,
        )
    routed = view["routed"]
    if not routed:
        return
    shown = routed[: max(top, ROUTED_ROWS)]
    t = Table(
        title=f"Routed flows: USD {_usd(view['routed_usd'])} around the controls",
        title_justify="left",
        caption="USD at export prices incl. the detour cost; share of cap: the route's use of "
        "its cap; of cut: the routed quantity over the cut on the pair.",
        caption_justify="left",
        box=box.SIMPLE_HEAD,
    )
    t.add_column("origin → via → destination", no_wrap=True)
    for col in ("USD", "share of cap", "of cut", "restriction"):
        t.add_column(col, justify="left" if col == "restriction" else "right", no_wrap=True)
    for r in shown:
        t.add_row(
            f"{r['origin']} → {r['via']} → {r['destination']}",
            _usd(r["value_usd"]),
            _share(r["quantity_share_of_cap"]),
            _share(r["leaked_share_of_cut"]),
            r["restriction"],
        )
    rest = routed[len(shown) :]
    if rest:
        t.add_row(
            f"{len(rest)} more route(s)",
            _usd(sum(r["value_usd"] or 0.0 for r in rest)),
            "",
            "",
            "",
        )
    console.print(t)


def _print_notes(console: Console, product: dict[str, Any], warnings: bool = False) -> None:
    """The product's warnings (``warnings=True``: policies that do or may do nothing, buyers
    left with no supplier, numerical trouble; critmin.scenario.no_effect) or its other notes."""
    for note in product.get("notes", []):
        if note.startswith(WARNING_PREFIXES) and warnings:
            console.print(f"[bold yellow]warning:[/] {escape(note)}", highlight=False)
        elif not note.startswith(WARNING_PREFIXES) and not warnings:
            console.print(f"[dim]note:[/] {escape(note)}", highlight=False)


def print_chains(console: Console, chains: dict[str, Any]) -> None:
    """The answer of each linked chain, stage by stage (docs/model.md, "Linked chains"): a rule
    with the stages in order, the chain's welfare, then one row per stage (fits 100 columns):
    buyer prices in the zone and outside (% change), zone self-sufficiency and watch share (%
    of zone demand, before -> after), producer surplus of the zone's and outside producers
    (USD) and the stage's share of the zone producers' gain (who captures the rent)."""
    from rich import box

    for cid, ch in chains.items():
        w = ch["welfare"]
        flow = " -> ".join(s["stage"] for s in ch["stages"])
        n = len(ch["stages"])
        console.rule(
            f"[bold]Chain {escape(cid)}[/]: {flow} ({n} stage{'' if n == 1 else 's'} "
            "solved together)"
        )
        status = "" if ch["converged"] else "[bold red]NOT converged:[/] "
        console.print(
            f"{status}{escape(ch['message'])}.\nChain welfare (USD, sum over its stages): zone "
            f"{_usd(w['zone'], signed=True)}, outside {_usd(w['outside'], signed=True)}, world "
            f"{_usd(w['world'], signed=True)}",
            highlight=False,
        )
        t = Table(
            title="Stages, in order",
            title_justify="left",
            caption="price: buyer price, % change; self-suff. and watch share: % of zone demand "
            "(before->after); producers: change in producer surplus, USD; zone gain share: the "
            "stage's share of the gains of the zone's producers that gain (who captures the "
            "rent; a stage can take a share and still lose on balance)",
            caption_justify="left",
            box=box.SIMPLE_HEAD,
            pad_edge=False,
        )
        t.add_column("stage\nproducts", min_width=12, overflow="fold")
        for col in (
            "zone\nprice",
            "outside\nprice",
            "zone\nself-suff.",
            "watch\nshare",
            "zone\nproducers",
            "outside\nproducers",
            "zone gain\nshare",
        ):
            t.add_column(col, justify="right", no_wrap=True)
        for k, (s, cap) in enumerate(zip(ch["stages"], ch["captured_by_stage"], strict=True)):
            gain = cap["share_of_zone_producer_gain"]

            def moved(before: float | None, after: float | None) -> str:
                a, b = share_pair(before, after)
                return f"{a.rstrip('%')}->{b.rstrip('%')}"

            t.add_row(
                f"{k + 1}. {s['stage']}\n[dim]{escape(', '.join(s['products']))}[/]",
                _pct(s["zone_price_change_pct"]),
                _pct(s["outside_price_change_pct"]),
                moved(s["zone_self_sufficiency_before"], s["zone_self_sufficiency_after"]),
                moved(s["watch_share_before"], s["watch_share_after"]),
                _usd(s["producer_surplus_usd"]["zone"], signed=True),
                _usd(s["producer_surplus_usd"]["outside"], signed=True),
                "-" if gain is None else _share(gain),
            )
        console.print(t)
        if all(c["share_of_zone_producer_gain"] is None for c in ch["captured_by_stage"]):
            console.print("[dim]share of zone gain '-': no zone producer gains at any stage[/]")
        for note in ch["notes"]:
            kind = (
                "[bold yellow]warning:[/]"
                if note.startswith(WARNING_PREFIXES)
                else "[yellow]note:[/]"
            )
            console.print(f"{kind} {escape(note)}", highlight=False)


def _pct1(v: float | None) -> float | None:
    return None if v is None else round(100 * v, 1)


_SUPPLY_LABEL = {"production": "USGS", "eu_shares": "EU", "exports": "BACI"}
_ZONE_LABEL = {"trade": "trade", "production_proxy": "proxy", "share_proxy": "share"}


def assess_table(records: Sequence[Mapping[str, Any]], with_zone: bool) -> pd.DataFrame:
    """The ranked assess table as a DataFrame with percentages for display."""
    rows = []
    for r in records:
        row: dict[str, Any] = {
            "mineral": r["mineral"],
            "stage": r["stage"],
            "year": r["year"],
            "supply": _SUPPLY_LABEL.get(r.get("supply_basis", ""), r.get("supply_basis")),
            "HHI": None if r["hhi_10000"] is None else round(r["hhi_10000"]),
            "top": r["top_supplier"],
            "top %": _pct1(r["top_supplier_share"]),
            "top3 %": _pct1(r["top3_share"]),
            "n90": r["n_for_90"],
            "cov %": _pct1(r["coverage"]),
        }
        if with_zone:
            row["zone sup. %"] = _pct1(r.get("zone_supply_share"))
            row["watch sup. %"] = _pct1(r.get("watch_supply_share"))
            row["self-suff. %"] = _pct1(r.get("zone_self_sufficiency"))
            row["watch %"] = _pct1(r.get("watch_share"))
            row["basis"] = _ZONE_LABEL.get(r.get("zone_basis") or "", "-")
            row["zcov %"] = _pct1(r.get("zone_coverage"))
            g = r.get("geopolrisk")
            row["GPR"] = None if g is None else round(g, 3)
            outs = r.get("top_outside_suppliers") or []
            row["top outside"] = ", ".join(o["country"] for o in outs[:3])
        rows.append(row)
    frame = pd.DataFrame(rows)
    for col in ("HHI", "n90"):  # counts and the rounded HHI stay integers where some are missing
        if col in frame:
            frame[col] = frame[col].astype("Int64")
    return frame


def criticality_table(frame: pd.DataFrame) -> pd.DataFrame:
    """The criticality view for people: shares and coverage in %, HHI on the 0-10,000 scale
    of the supply table (the JSON and CSV keep fractions and HHI 0-1); EU indices as given."""
    out = pd.DataFrame(
        {
            "material": frame["material"],
            "stage": frame["stage"],
            "top": frame["top_country"],
            "top %": (100 * frame["top_share"]).round(1),
            "HHI": (10_000 * frame["hhi"]).round(0),
            "HHI_WGI,t": frame["hhi_wgi_t_global"].round(2),
            "cov %": (100 * frame["coverage_global"]).round(1),
            "HHI_WGI,t EU": frame["hhi_wgi_t_eu_sourcing"].round(2),
            "EU cov %": (100 * frame["coverage_eu_sourcing"]).round(1),
            "SR 2023": frame["official_sr_2023"],
            "EI 2023": frame["official_ei_2023"],
        }
    )
    return out


CRITICALITY_PRIORITY = (
    "material",
    "stage",
    "top",
    "top %",
    "HHI_WGI,t",
    "SR 2023",
    "EI 2023",
    "HHI",
    "cov %",
    "HHI_WGI,t EU",
    "EU cov %",
)


# assess table columns, most important first: the last ones are hidden first when the table is
# wider than the terminal (``--wide`` shows all)
ASSESS_PRIORITY = (
    "mineral",
    "stage",
    "HHI",
    "top",
    "top %",
    "self-suff. %",
    "watch %",
    "watch sup. %",
    "zone sup. %",
    "top3 %",
    "top outside",
    "supply",
    "basis",
    "n90",
    "cov %",
    "zcov %",
    "GPR",
    "year",
)


def table_width(frame: pd.DataFrame) -> int:
    """Columns a Rich table of ``frame`` takes: each column's widest cell or header plus 3
    (padding and rule), plus the closing rule."""
    width = 1
    for col in frame.columns:
        cells = [len(str(col))] + [len(_cell(v)) for v in frame[col]]
        width += max(cells) + 3
    return width


def _cell(v: Any) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    return f"{v:,.0f}" if isinstance(v, float) and abs(v) >= 1000 else str(v)


def fit_columns(
    frame: pd.DataFrame, width: int, priority: tuple[str, ...] = ASSESS_PRIORITY
) -> tuple[pd.DataFrame, list[str]]:
    """``frame`` without its least important columns (last in ``priority``; columns not named
    there go first) until it fits ``width`` terminal columns; returns it and the hidden names.
    Columns that hold one value only are left to the printer (it moves them to the caption)."""
    rank = {c: k for k, c in enumerate(priority)}
    order = sorted(frame.columns, key=lambda c: -rank.get(str(c), len(priority)))
    constant = {c for c in frame.columns if len(frame) > 1 and frame[c].astype(str).nunique() == 1}
    shown = frame.drop(columns=list(constant))
    hidden: list[str] = []
    for col in order:
        if table_width(shown) <= width or len(shown.columns) <= 2:
            break
        if col in constant:
            continue
        shown = shown.drop(columns=[col])
        hidden.append(str(col))
    return frame.drop(columns=hidden), hidden


def _yes_no(v: bool | None) -> str:
    return "-" if v is None else ("yes" if v else "no")


def nir_table(records: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The net-import-reliance view as a DataFrame for display (percent)."""
    rows = []
    for r in records:
        method = "USGS salient" if r["method"] == "usgs_salient" else "output + trade"
        rows.append(
            {
                "country": r["country"],
                "mineral": r["mineral"],
                "stage": r.get("stage") or "",
                "method": method + (f" ({r['edition']})" if r.get("edition") else ""),
                "unit": r.get("unit") or "",
                "production": r.get("production"),
                "imports": r.get("imports"),
                "exports": r.get("exports"),
                "NIR %": r.get("nir_text") or "-",
                "published": r.get("published_nir") or "-",
                "matches": _yes_no(r.get("matches_usgs")),
                "cov %": _pct1(r.get("coverage")),
                "why not / note": "" if r.get("nir") is not None else (r.get("reason") or ""),
            }
        )
    return pd.DataFrame(rows)
