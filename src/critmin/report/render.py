"""Render simulation results as HTML: the self-contained report and the dashboard's result view.

The view model (:func:`results_view`) turns the results contract into what the templates
show: KPIs, instrument descriptions, welfare tables, diagnostics and provenance. The figures
come from :mod:`critmin.figures`. Both the report and the dashboard use the same
templates (``templates/_results.html.j2``).
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import Any

from jinja2 import (
    BytecodeCache,
    ChoiceLoader,
    Environment,
    FileSystemBytecodeCache,
    FileSystemLoader,
    StrictUndefined,
)
from jinja2.bccache import Bucket

from critmin import __version__
from critmin.control_tables import binding_text, controls_view
from critmin.export import SOURCE_TABLES, source_rows
from critmin.figures import ROUTED_FIGURE, chart_id, result_figures
from critmin.narrative import (
    WELFARE_PARTS,
    chain_region_flows,
    headline,
    stage_labels,
    stage_product,
)
from critmin.note_kinds import WARNING_PREFIXES, draw_warnings, result_warnings
from critmin.numbers import share_pair
from critmin.report import format as fmt
from critmin.report.resources import packed_text, plotly_js_packed, world_geojson_text

TEMPLATES = Path(__file__).parent / "templates"

# bundled tables whose provenance a results page cites
RESULT_TABLES = SOURCE_TABLES

MODEL_CAVEATS = [
    "Partial equilibrium: one market per product; no links between stages or to the rest of "
    "the economy, no exchange-rate or income effects.",
    "Armington: each country's supply of a product is a distinct variety; results depend on "
    "the substitution elasticity (sigma) and on demand and supply elasticities, which are "
    "cited defaults unless the scenario sets them.",
    "Baseline: one trade year of CEPII BACI flows at producer (FOB-like) values; domestic sales "
    "come from USGS output where published, otherwise from an estimate or zero (each product "
    "says which).",
    "Quantities are in baseline-value units; floors in USD/t are compared with BACI unit "
    "values, which mix grades and contract terms.",
    "Welfare changes are first-round surplus changes in USD for the modelled product only.",
]

CHAIN_CAVEAT = (
    "Partial equilibrium: the stages of a linked chain are solved together (a stage's "
    "producers buy the previous stage's product in fixed proportion to their output, "
    "docs/model.md 'Linked chains'); products outside a chain remain single markets; no links "
    "to the rest of the economy, no exchange-rate or income effects."
)

POLICY_LABELS = {
    "tariff": "Tariff",
    "price_floor": "Price floor",
    "export_ban": "Export ban",
    "export_quota": "Export quota",
    "export_licensing": "Export licensing",
}


class TemplateCache(FileSystemBytecodeCache):
    """Jinja's compiled templates kept between runs in ``<cache folder>/templates``: compiling
    the report's templates costs a ``critmin report`` about 0.1 s of CPU. Jinja keys each file
    by the template's name and checks its source's digest and the Python version, and writes
    it atomically; here a damaged file is compiled again and a folder that cannot be written
    only costs the compilation."""

    def load_bytecode(self, bucket: Bucket) -> None:
        try:
            super().load_bytecode(bucket)
        except Exception:  # a damaged or truncated file: compile again
            bucket.reset()

    def dump_bytecode(self, bucket: Bucket) -> None:
        try:
            Path(self.directory).mkdir(parents=True, exist_ok=True)
            super().dump_bytecode(bucket)
        except OSError:
            pass


def template_cache() -> BytecodeCache | None:
    """The :class:`TemplateCache` of the user's cache folder (None with
    ``CRITMIN_TEMPLATE_CACHE=0``)."""
    import os

    from critmin.data.dataset import user_cache_dir

    if os.environ.get("CRITMIN_TEMPLATE_CACHE", "").strip() == "0":
        return None
    return TemplateCache(str(user_cache_dir() / "templates"))


def make_env(*extra_dirs: Path) -> Environment:
    """A Jinja environment over ``extra_dirs`` (searched first) and the report templates,
    with critmin's number filters; compiled templates kept between runs
    (:func:`template_cache`)."""
    loaders = [FileSystemLoader([str(d) for d in extra_dirs]), FileSystemLoader(str(TEMPLATES))]
    env = Environment(
        loader=ChoiceLoader(loaders),
        bytecode_cache=template_cache(),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        {
            "usd": fmt.usd,
            "pct": fmt.pct,
            "pp": fmt.pp,
            "share": fmt.share,
            # before|share_move(after): "3.46% → 3.50%", never a real change as "3.5% → 3.5%"
            "share_move": lambda before, after: " → ".join(share_pair(before, after)),
            "num": fmt.num,
            "sci": fmt.sci,
            "script_json": fmt.script_json,
            "script_text": fmt.script_text,
            "gzip_json": fmt.gzip_json,
            "gzip_text": packed_text,
            "country": fmt.country_label,
            "source_links": fmt.source_links,
        }
    )
    env.tests["warning"] = lambda note: str(note).startswith(WARNING_PREFIXES)
    env.globals.update(
        {
            "version": __version__,
            "chart_id": chart_id,
            "plotly_js_packed": plotly_js_packed,
            "binding_text": binding_text,
        }
    )
    return env


@lru_cache(maxsize=1)
def report_env() -> Environment:
    return make_env()


# ----------------------------------------------------------------------------- view model


def _selector(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def describe_policy(policy: dict[str, Any]) -> dict[str, str]:
    """One instrument in words: type, what it does, on which pairs, which products."""
    kind = str(policy.get("type", "?"))
    products = ", ".join(policy["products"]) if policy.get("products") else "all products"
    if policy.get("stage") and not policy.get("products"):
        products = f"{policy['stage']} stage of the chains"
    if kind == "tariff":
        what = f"ad valorem rate {100 * float(policy['rate']):g}%"
        pairs = (
            f"{_selector(policy.get('exporters', 'non-members'))} → "
            f"{_selector(policy.get('importers', 'members'))}"
        )
    elif kind == "price_floor":
        mech = str(policy.get("mechanism", "variable_levy"))
        what = f"USD {float(policy['price_usd_per_t']):,.0f}/t by {mech.replace('_', ' ')}"
        pairs = (
            "non-members → members (levy tops buyer prices up to the floor)"
            if mech == "variable_levy"
            else "zone producers (subsidy tops up their price)"
        )
    elif kind == "export_ban":
        what = "exports removed" + _leak_text(policy)
        pairs = (
            f"{_selector(policy.get('exporters'))} → "
            f"{_selector(policy.get('importers', 'members'))}"
        )
    elif kind == "export_quota":
        what = f"exports capped at {100 * float(policy['share_of_baseline']):g}% of baseline"
        what += _leak_text(policy)
        importers = policy.get("importers", "all")
        pairs = f"{_selector(policy.get('exporters'))} → " + (
            "all destinations" if importers == "all" else _selector(importers)
        )
    elif kind == "export_licensing":
        grant = policy.get("grant_share")
        if isinstance(grant, dict):
            grant_text = ", ".join(f"{k} {100 * float(v):g}%" for k, v in grant.items())
        else:
            grant_text = f"{100 * float(grant or 0):g}%"
        what = f"licences granted for {grant_text} of baseline exports"
        ranges = policy.get("grant_share_range")
        if ranges:
            items = ranges.items() if isinstance(ranges, dict) else [("", ranges)]
            what += (
                " (range "
                + ", ".join(
                    f"{k + ' ' if k else ''}{100 * float(lo):g}-{100 * float(hi):g}%"
                    for k, (lo, hi) in items
                )
                + ")"
            )
        what += _leak_text(policy)
        importers = policy.get("importers", "all")
        pairs = f"{_selector(policy.get('exporters'))} → " + (
            "all destinations" if importers == "all" else _selector(importers)
        )
    else:
        what, pairs = "", ""
    return {
        "type": POLICY_LABELS.get(kind, kind),
        "what": what,
        "pairs": pairs,
        "products": products,
        "label": str(policy.get("label") or ""),
    }


def _leak_text(policy: dict[str, Any]) -> str:
    """``; leaks via THA, MEX at +20% cost, up to 30% of their trade`` for a leaky control."""
    vias = policy.get("leak_via")
    if not vias:
        return ""
    return (
        f"; leaks via {_selector(vias)} at +{100 * float(policy.get('leak_cost') or 0):g}% "
        f"cost, up to {100 * float(policy.get('leak_share') or 0):g}% of their trade"
    )


def _welfare_row(label: str, rows: list[dict[str, Any]], kind: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {"label": label, "kind": kind, "code": ""}
    for k, _ in WELFARE_PARTS:
        vals = [r[k] for r in rows if r.get(k) is not None]
        out[k] = sum(vals) if vals else None
    return out


def welfare_tables(product: dict[str, Any], top_others: int = 10) -> dict[str, Any]:
    """Rows for the welfare table: members, watch countries, the largest others, subtotals."""
    countries = product["countries"]

    def row(code: str, r: dict[str, Any]) -> dict[str, Any]:
        kind = "member" if r["member"] else ("watch" if r["watch"] else "other")
        return {**r, "code": code, "label": fmt.country_label(code), "kind": kind}

    def mag(item: dict[str, Any]) -> float:
        return -abs(float(item.get("welfare_change_usd") or 0.0))

    all_rows = [row(c, r) for c, r in countries.items()]
    members = sorted((r for r in all_rows if r["kind"] == "member"), key=mag)
    watch = sorted((r for r in all_rows if r["kind"] == "watch"), key=mag)
    others = sorted((r for r in all_rows if r["kind"] == "other"), key=mag)
    shown_others, rest = others[:top_others], others[top_others:]
    lines: list[dict[str, Any]] = [*members, _welfare_row("Zone members, total", members, "total")]
    lines += watch
    lines += shown_others
    if rest:
        lines.append(_welfare_row(f"{len(rest)} other countries", rest, "rest"))
    lines.append(_welfare_row("Outside the zone, total", watch + others, "total"))
    lines.append(_welfare_row("World", all_rows, "total"))
    full = sorted(all_rows, key=lambda r: r["label"])
    return {"lines": lines, "all": full}


def product_view(
    pid: str, product: dict[str, Any], members: set[str] | None = None
) -> dict[str, Any]:
    """What a product section shows besides its charts (``controls``: its export controls
    and routed flows, :func:`critmin.control_tables.controls_view`, ``None`` without any)."""
    z, s = product["zone"], product["summary"]
    kpis = [
        {
            "label": "Zone consumer price",
            "value": fmt.pct(s["zone_consumer_price_change_pct"]),
            "raw": s["zone_consumer_price_change_pct"],
            "key": "zone_consumer_price_change_pct",
        },
        {
            "label": "Outside consumer price",
            "value": fmt.pct(s["outside_consumer_price_change_pct"]),
            "raw": s["outside_consumer_price_change_pct"],
            "key": "outside_consumer_price_change_pct",
        },
        {
            "label": "Zone welfare",
            "value": "USD " + fmt.usd(s["zone_welfare_change_usd"], True),
            "raw": s["zone_welfare_change_usd"],
            "key": "zone_welfare_change_usd",
        },
        {
            "label": "Tariff / levy revenue",
            "value": "USD " + fmt.usd(s["tariff_revenue_change_usd"], True),
            "raw": s["tariff_revenue_change_usd"],
            "key": "tariff_revenue_change_usd",
        },
        {
            "label": "Zone self-sufficiency",
            "value": " → ".join(share_pair(z["self_sufficiency_baseline"], z["self_sufficiency"])),
            "raw": z["self_sufficiency"],
            "key": "self_sufficiency",
        },
        {
            "label": "Watch share of zone demand",
            "value": " → ".join(share_pair(z["watch_share_baseline"], z["watch_share"])),
            "raw": z["watch_share"],
            "key": "watch_share",
        },
    ]
    return {
        "id": pid,
        "p": product,
        "kpis": kpis,
        "welfare": welfare_tables(product),
        "anchor": chart_id(pid).removeprefix("chart-"),
        "controls": controls_view(product, members or set()),
        "routed_chart": chart_id(pid, ROUTED_FIGURE) if product.get("leakage") else "",
    }


def chain_view(results: dict[str, Any], cid: str) -> dict[str, Any]:
    """What a chain section shows besides its figures: the stages in order (prices, zone
    shares, producer surplus and the rent captured), the flows between regions by stage and
    the chain's welfare (docs/report.md, "Linked chains")."""
    ch = results["chains"][cid]
    labels = stage_labels(ch)
    stages = []
    for k, (s, cap) in enumerate(zip(ch["stages"], ch["captured_by_stage"], strict=True)):
        product = stage_product(results, cid, k)
        stages.append(
            {
                "label": labels[k],
                "s": s,
                "captured": cap,
                "names": [product["name"]] if product else s["products"],
                "anchor": chart_id(s["key"]).removeprefix("chart-") if product else "",
            }
        )
    flows = chain_region_flows(results, cid)
    for f in flows:
        before, after = f["baseline_value_usd"], f["value_usd"]
        f["label"] = labels[f["step"] - 1]
        f["change_pct"] = None if after is None or not before else (after / before - 1) * 100
    return {
        "id": cid,
        "ch": ch,
        "anchor": chart_id("chain", cid).removeprefix("chart-"),
        "paragraph": "",
        "stages": stages,
        "flows": flows,
    }


def provenance(tables: tuple[str, ...] = RESULT_TABLES) -> dict[str, Any]:
    """Publisher, edition, licence and URL of the bundled tables a result rests on."""
    return source_rows(tables)


def results_view(scenario: dict[str, Any], results: dict[str, Any]) -> dict[str, Any]:
    """Template context for a results page (report or dashboard)."""
    products = results["products"]
    zone = scenario.get("zone", {})
    answer = headline(results)
    tiles = [
        "self_sufficiency",
        "watch_share",
        "zone_consumer_price_change_pct",
        "outside_consumer_price_change_pct",
        "zone_welfare_change_usd",
        "outside_welfare_change_usd",
    ]
    tile_list = []
    for key in tiles:
        f = answer.figure(key)
        tile_list.append(
            {"label": f.label, "value": f.text, "key": key, "raw": f.value, "note": f.note}
        )
    zone_parts = answer.welfare["zone"]
    parts = [
        {"label": label, "value": zone_parts[key], "key": key}
        for key, label in WELFARE_PARTS
        if key != "welfare_change_usd"
    ]
    warnings = [(pid, w) for pid, p in products.items() for w in p["warnings"]]
    return {
        "scenario": scenario,
        "results": results,
        "members_given": zone.get("members", []),
        "watch_given": zone.get("watch", []),
        "policies": [describe_policy(p) for p in scenario.get("policy", [])],
        "headline": tile_list,
        "answer": answer,
        "welfare_parts": parts,
        "totals": {
            "zone_consumer_price_change_pct": answer.figure("zone_consumer_price_change_pct").value,
            "outside_consumer_price_change_pct": answer.figure(
                "outside_consumer_price_change_pct"
            ).value,
            "zone_welfare_change_usd": answer.welfare["zone"]["welfare_change_usd"],
            "outside_welfare_change_usd": answer.welfare["outside"]["welfare_change_usd"],
            "world_welfare_change_usd": answer.welfare["world"]["welfare_change_usd"],
            "tariff_revenue_change_usd": answer.welfare["world"]["tariff_revenue_change_usd"],
            "subsidy_cost_usd": answer.welfare["world"]["subsidy_cost_usd"],
            "quota_rent_usd": answer.welfare["world"]["quota_rent_usd"],
        },
        "zone_welfare": zone_parts["welfare_change_usd"],
        "products": [product_view(pid, p, set(results["members"])) for pid, p in products.items()],
        "chains": [
            {**chain_view(results, cid), "paragraph": answer.chains.get(cid, "")}
            for cid in results.get("chains") or {}
        ],
        "warnings": warnings,
        "result_warnings": result_warnings(results),
        "caveats": [CHAIN_CAVEAT, *MODEL_CAVEATS[1:]] if results.get("chains") else MODEL_CAVEATS,
        "provenance": provenance(),
        "figures": result_figures(results),
    }


# ----------------------------------------------------------------------------- report


def scenario_dict(scenario: Any) -> dict[str, Any]:
    """The scenario as a plain dict (from a Scenario model, a dict in the same schema or the
    path of a scenario file)."""
    from critmin.scenario.spec import Scenario, load_scenario

    if isinstance(scenario, str | Path | dict | Scenario):
        data: dict[str, Any] = load_scenario(scenario).model_dump(mode="json", exclude_none=True)
        return data
    raise TypeError(f"expected a Scenario, a dict or a path, got {type(scenario).__name__}")


def fans_from_summary(uncertainty: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Fan-chart data from an uncertainty result dict (``UncertaintyResult.to_dict()``): the
    5%, 50% and 95% quantiles it reports per output (one 5-95% band and the median). Callers
    that hold the draws pass finer bands from ``critmin.uncertainty.fan_data`` instead."""
    levels = [0.05, 0.5, 0.95]
    return {
        pid: {
            "name": p["name"],
            "draws": p.get("converged_draws", p.get("draws")),
            "levels": levels,
            "outputs": {
                key: {
                    "label": o["label"],
                    "unit": o["unit"],
                    "quantiles": [o["p05"], o["median"], o["p95"]],
                    "point": o.get("point"),
                }
                for key, o in p["outputs"].items()
            },
        }
        for pid, p in uncertainty["products"].items()
    }


def render_report(
    scenario: Any,
    results: dict[str, Any],
    generated: dt.datetime | None = None,
    uncertainty: dict[str, Any] | None = None,
) -> str:
    """One self-contained HTML document: Plotly.js, the map geometry, the figures and the
    full results (as JSON) are inlined; nothing is fetched from the network.

    The report renders the results it is given and runs nothing. ``uncertainty`` adds fan
    charts of a Monte Carlo run to each product's section: either ``{"draws", "seed", "fans"}``
    with ``fans`` from ``critmin.uncertainty.fan_data`` or an uncertainty result dict
    (``UncertaintyResult.to_dict()``, see :func:`fans_from_summary`), and its ``warnings``
    that the results' own notes do not give (:func:`critmin.note_kinds.draw_warnings`) above
    the detail."""
    from critmin.figures import uncertainty_figures

    context = results_view(scenario_dict(scenario), fmt.clean(results))
    if uncertainty:
        if "fans" not in uncertainty:
            uncertainty = {
                "draws": uncertainty.get("draws"),
                "seed": uncertainty.get("seed"),
                "fans": fans_from_summary(uncertainty),
                "products": uncertainty["products"],  # licence grant-share ranges
                "warnings": uncertainty.get("warnings") or [],
            }
        context["figures"].update(uncertainty_figures(uncertainty["fans"]))
        context["uncertainty"] = uncertainty
        context["uncertainty_warnings"] = draw_warnings(uncertainty, results)
    generated = generated or dt.datetime.now(dt.UTC)
    return (
        report_env()
        .get_template("report.html.j2")
        .render(
            **context,
            title=f"{results['scenario']} — critmin report",
            generated=generated.strftime("%Y-%m-%d %H:%M UTC"),
            geojson=world_geojson_text(),
            inline_assets=True,
            compress_data=True,
            lazy_tables=True,
            country_names={
                code: fmt.country_label(code)
                for p in results["products"].values()
                for code in p["countries"]
            },
        )
    )


def write_report(
    scenario: Any,
    results: dict[str, Any],
    path: str | Path,
    uncertainty: dict[str, Any] | None = None,
    generated: dt.datetime | None = None,
) -> Path:
    """Write the report of ``results`` (the results contract of ``scenario``, a Scenario or
    dict) to ``path`` atomically (see :func:`render_report`); returns the path. Running the
    model is the caller's job (``critmin report`` does it)."""
    from critmin.util import write_text_atomic

    target = Path(path)
    write_text_atomic(
        target, render_report(scenario, results, generated=generated, uncertainty=uncertainty)
    )
    return target
