"""The ``critmin`` command: a thin layer over the library.

Every command prints a readable Rich table by default and machine-readable output with
``--json`` or ``--csv``. A :class:`critmin.errors.CritminError` becomes one red line on stderr
and exit status 2; nothing else is caught, so a bug still shows its traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from critmin.errors import CritminError

app = typer.Typer(
    help="critmin: design and stress-test a critical-minerals preferential trade zone.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="The bundled reference dataset.", no_args_is_help=True)
app.add_typer(data_app, name="data")

# a wide console when piped, so tables are not squeezed to 80 columns
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Turn CritminError into one clear message and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CritminError as e:
            err.print(f"[bold red]error:[/] {e}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def print_frame(df: pd.DataFrame, as_json: bool, as_csv: bool, title: str = "") -> None:
    """Print a DataFrame as JSON records, CSV or a Rich table."""
    if as_json:
        sys.stdout.write(df.to_json(orient="records", indent=1, force_ascii=False) + "\n")
        return
    if as_csv:
        sys.stdout.write(df.to_csv(index=False))
        return
    constant = [c for c in df.columns if len(df) > 1 and df[c].astype(str).nunique() == 1]
    caption = ", ".join(f"{c} = {_fmt(df[c].iloc[0])}" for c in constant)
    df = df.drop(columns=constant)
    table = Table(title=title or None, caption=caption or None, show_lines=False)
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col])
        table.add_column(str(col), justify="right" if numeric else "left")
    for row in df.itertuples(index=False):
        table.add_row(*(_fmt(v) for v in row))
    out.print(table)


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return "-"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(v)


# ----------------------------------------------------------------------------- data


@data_app.command("list")
@user_errors
def data_list(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Minerals, stages, products, years and country groups in the bundled data."""
    from critmin.data.show import TABLE_NAMES
    from critmin.world import load_world, trade_years

    world = load_world()
    supply_years = sorted(int(y) for y in world.supply_all_editions["year"].unique())
    info: dict[str, Any] = {
        "minerals": world.minerals,
        "stages": ["mine", "refine", "product"],
        "products": world.products[["product_id", "hs6", "mineral", "stage", "name"]].to_dict(
            "records"
        ),
        "trade_years": trade_years(),
        "supply_years": supply_years,
        "editions": sorted(world.supply_all_editions["edition"].unique()),
        "groups": {
            g: {"name": str(sub["name"].iloc[0]), "members": len(sub)}
            for g, sub in world.groups.groupby("group_id")
        },
        "tables": TABLE_NAMES,
    }
    if as_json:
        sys.stdout.write(json.dumps(info, indent=1) + "\n")
        return
    out.print(f"[bold]Minerals[/] ({len(info['minerals'])}): " + ", ".join(info["minerals"]))
    out.print("[bold]Stages[/]: mine, refine, product")
    out.print(
        f"[bold]Trade years[/]: {info['trade_years']}   [bold]Supply years[/]: {supply_years}"
        f"   [bold]Editions[/]: {', '.join(info['editions'])}"
    )
    print_frame(
        world.products[["product_id", "hs6", "mineral", "stage", "name"]],
        False,
        False,
        "Products (HS6)",
    )
    groups = pd.DataFrame(
        [
            {"group": g, "name": v["name"], "members": v["members"]}
            for g, v in info["groups"].items()
        ]
    )
    print_frame(groups, False, False, "Country groups (usable wherever a country list is)")
    out.print("Tables for 'critmin data show': " + ", ".join(info["tables"]))


@data_app.command("show")
@user_errors
def data_show(
    table: str = typer.Argument(..., help="production, reserves, supply, flows, wgi, ..."),
    mineral: str | None = typer.Option(None, help="Mineral id, e.g. lithium."),
    year: int | None = typer.Option(None, help="Data year."),
    stage: str | None = typer.Option(None, help="mine | refine | product."),
    country: str | None = typer.Option(None, help="ISO3 codes or groups, comma-separated."),
    product: str | None = typer.Option(None, help="Product id or HS6 code (flows)."),
    exporter: str | None = typer.Option(None, help="Exporters (flows): codes or groups."),
    importer: str | None = typer.Option(None, help="Importers (flows): codes or groups."),
    group: str | None = typer.Option(None, help="Group id (groups table)."),
    all_editions: bool = typer.Option(False, "--all-editions", help="Every edition's value."),
    limit: int = typer.Option(200, help="At most this many rows (0 = all)."),
    as_json: bool = typer.Option(False, "--json", help="Print JSON records."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
) -> None:
    """Show a bundled table, filtered. Example: critmin data show production --mineral lithium --year 2024"""
    from critmin.data.show import show_table

    df, title = show_table(
        table,
        mineral=mineral,
        year=year,
        stage=stage,
        country=country,
        product=product,
        exporter=exporter,
        importer=importer,
        group=group,
        all_editions=all_editions,
    )
    if limit and len(df) > limit:
        title += f" (first {limit} of {len(df)} rows; --limit 0 for all)"
        df = df.head(limit)
    print_frame(df, as_json, as_csv, title)


@data_app.command("sources")
@user_errors
def data_sources(as_json: bool = typer.Option(False, "--json", help="Print JSON.")) -> None:
    """Provenance of every bundled table: publisher, edition, DOI/URL, licence, transformations."""
    from critmin.world import read_manifest

    manifest = read_manifest()
    if as_json:
        sys.stdout.write(json.dumps(manifest["tables"], indent=1) + "\n")
        return
    out.print(f"Reference dataset built {manifest['built']}\n")
    for name, entry in manifest["tables"].items():
        out.print(f"[bold]{name}[/] ({entry['rows']:,} rows): {entry['row']}")
        for p in entry["provenance"]:
            out.print(f"  {p['publisher']}: {p['title']} [{p['edition']}]")
            out.print(f"    {p['doi_or_url']} — licence: {p['licence']}")
        for t in entry["transformations"]:
            out.print(f"    · {t}")
        out.print()


@data_app.command("check")
@user_errors
def data_check(
    source: Path | None = typer.Option(
        None, help="Also compare flow totals with the BACI files in this source folder."
    ),
    reference: Path | None = typer.Option(None, help="Check this reference folder instead."),
) -> None:
    """Verify hashes, row counts, columns and published totals; exit 1 on any failure."""
    from critmin.data.check import run_checks
    from critmin.world import REFERENCE_DIR

    results = run_checks(reference or REFERENCE_DIR, source)
    for r in results:
        mark = "[green]PASS[/]" if r.ok else "[bold red]FAIL[/]"
        out.print(f"{mark} {r.name}: {r.detail}", highlight=False)
    failed = [r for r in results if not r.ok]
    if failed:
        err.print(f"[bold red]{len(failed)} check(s) failed[/]")
        raise typer.Exit(1)
    out.print(f"[green]all {len(results)} checks passed[/]")


@data_app.command("build")
@user_errors
def data_build(
    source: Path = typer.Option(Path("../shared/data"), help="Folder of the source releases."),
    out_dir: Path | None = typer.Option(None, "--out", help="Write here instead of the package."),
) -> None:
    """Compile the bundled reference dataset from the source releases."""
    from critmin.data.build import REFERENCE_DIR, build

    manifest = build(source, out_dir or REFERENCE_DIR, log=lambda m: err.print(f"[dim]{m}[/]"))
    for name, entry in manifest["tables"].items():
        out.print(f"{name:18s} {entry['rows']:>8,} rows  {entry['sha256'][:12]}")


@data_app.command("schema")
@user_errors
def data_schema(
    markdown: bool = typer.Option(False, "--markdown", help="Markdown for docs."),
) -> None:
    """Columns, units and meaning of every bundled table."""
    from critmin.data.schema import DOC_FOOTER, TABLES

    if markdown:
        lines = ["# Bundled tables", "", "Generated by `critmin data schema --markdown`.", ""]
        for t in TABLES.values():
            lines += [
                f"## {t.name}",
                "",
                f"One row: {t.row}.",
                "",
                "| column | type | unit | meaning |",
                "|---|---|---|---|",
            ]
            lines += [
                f"| {c.name} | {c.dtype} | {c.unit} | {c.description.replace('|', chr(92) + '|')} |"
                for c in t.columns
            ]
            lines.append("")
        sys.stdout.write("\n".join(lines) + "\n" + DOC_FOOTER)
        return
    for t in TABLES.values():
        df = pd.DataFrame([c.__dict__ for c in t.columns])
        print_frame(df, False, False, f"{t.name}: {t.row}")


# ----------------------------------------------------------------------------- assess

ASSESS_VIEWS = ("supply", "nir", "criticality")


@app.command("assess")
@user_errors
def assess_cmd(
    minerals: str | None = typer.Option(
        None, help="Comma-separated mineral ids (default: every bundled mineral)."
    ),
    stage: str | None = typer.Option(None, help="mine, refine or product (comma-separated)."),
    year: int = typer.Option(2024, help="Production year (2021-2025)."),
    members: str | None = typer.Option(
        None, help="Zone members: ISO3 codes and groups, comma-separated."
    ),
    zone: Path | None = typer.Option(
        None, help="Take the zone's members and watch countries from a scenario file."
    ),
    watch: str | None = typer.Option(
        None, help="Watch countries (outside the zone), comma-separated; needs a zone."
    ),
    view: str = typer.Option(
        "supply",
        help="supply (by mineral and stage), nir (net import reliance) or criticality "
        "(EU SR building blocks).",
    ),
    country: str | None = typer.Option(
        None, help="Country for --view nir (default USA: USGS salient statistics)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print JSON records."),
    as_csv: bool = typer.Option(False, "--csv", help="Print CSV."),
) -> None:
    """Rank minerals and stages by supply concentration; with a zone, its self-sufficiency and
    the watch countries' share. --view nir: net import reliance; --view criticality: the EU
    supply-risk building blocks beside the official SR and EI."""
    from critmin.assess import (
        Zone,
        assess,
        check_stages,
        criticality_view,
        nearest_trade_year,
        nir_view,
    )
    from critmin.world import load_world

    if as_json and as_csv:
        raise CritminError("choose one of --json and --csv")
    view = view.strip().lower()
    if view not in ASSESS_VIEWS:
        raise CritminError(f"unknown view {view!r}: use {', '.join(ASSESS_VIEWS)}")
    if view != "supply" and (members or zone or watch):
        raise CritminError(f"--members, --zone and --watch apply to the supply view, not {view}")
    if country is not None and view != "nir":
        raise CritminError("--country applies to --view nir")
    if watch and not (members or zone):
        raise CritminError("--watch needs a zone: give --members or --zone")
    if members and zone:
        raise CritminError("give the zone with --members or --zone, not both")
    mineral_list = [m.strip() for m in minerals.split(",") if m.strip()] if minerals else None
    stages = check_stages(stage.split(",")) if stage else None
    world = load_world(nearest_trade_year(year))

    if view == "criticality":
        frame = criticality_view(world, mineral_list)
        print_frame(
            frame,
            as_json,
            as_csv,
            "EU 2023 supply-risk building blocks HHI_WGI,t recomputed from the bundled EU "
            "shares, t and WGI, beside the EU's official SR and EI (2023)",
        )
        if not (as_json or as_csv):
            out.print(
                "[bold]Sources:[/] European Commission, Study on the Critical Raw Materials for "
                "the EU 2023 (global and EU-sourcing shares, t, SR, EI; reference period "
                "~2016-2020); World Bank WGI (six-indicator mean, rescaled 0-10). The official "
                "SR also weighs import reliance, substitution and recycling at the bottleneck "
                "stage: compare, do not expect equality.",
                highlight=False,
            )
        return

    if view == "nir":
        records = nir_view(world, country or "USA", mineral_list, stages, year)
        if as_json:
            sys.stdout.write(json.dumps(records, indent=1, allow_nan=False) + "\n")
            return
        from critmin.summary import nir_table

        frame = nir_table(records)
        if as_csv:
            sys.stdout.write(frame.to_csv(index=False))
            return
        print_frame(frame, False, False, f"Net import reliance of {country or 'USA'}, {year} (%)")
        _print_sources(records)
        return

    z: Zone | None = None
    if zone is not None:
        from critmin.scenario import Scenario

        sc = Scenario.from_file(zone)
        z = Zone(
            world.resolve_countries(sc.zone.members),
            world.resolve_countries(sc.zone.watch) if sc.zone.watch else [],
        )
    elif members:
        z = Zone(world.resolve_countries(members), world.resolve_countries(watch) if watch else [])
    records = assess(world, mineral_list, stages, year, z)
    if as_json:
        sys.stdout.write(json.dumps(records, indent=1, allow_nan=False) + "\n")
        return
    from critmin.summary import assess_table

    frame = assess_table(records, z is not None)
    if as_csv:
        sys.stdout.write(frame.to_csv(index=False))
        return
    title = (
        f"Supply concentration by mineral and stage, {year} (most concentrated first; shares in %)"
    )
    if z is not None:
        title += f"; zone of {len(z.members)} countries" + (
            f", watch {', '.join(z.watch)}" if z.watch else ""
        )
    print_frame(frame, False, False, title)
    out.print(
        "[bold]supply[/]: USGS = production of the year; EU = EU CRM 2023 shares (~2016-2020); "
        "BACI = exporters' shares of world exports.  [bold]cov[/]: share of the world total the "
        "named figures account for.",
        highlight=False,
    )
    if z is not None:
        out.print(
            "[bold]self-suff. / watch[/]: share of the zone's demand met inside the zone / by the "
            "watch countries. [bold]basis[/] trade = the traded product at that stage (BACI + "
            "calibrated domestic sales, by value); proxy = zone output / zone demand one stage "
            "down (element tonnes, capped at 100%; outside supply split by output) - a proxy, "
            "not a trade figure; '-' = no basis (see --json zone_note). [bold]zcov[/]: share of "
            "zone demand that is measured rather than estimated. [bold]GPR[/]: the zone's "
            "GeoPolRisk (trade basis).",
            highlight=False,
        )
        for r in records:
            if r.get("zone_basis") is None and r.get("zone_note"):
                note = str(r["zone_note"])
                out.print(
                    f"  no zone figure for {r['mineral']} {r['stage']}: {note}", highlight=False
                )
    _print_sources(records)


def _print_sources(records: list[dict[str, Any]]) -> None:
    from critmin.assess import source_summary

    out.print("[bold]Sources[/] (each record's own in --json 'sources'):", highlight=False)
    for line in source_summary(records):
        out.print(f"  {line}", highlight=False)


# ----------------------------------------------------------------------------- simulate


def _load_solver() -> None:
    """Load the solver's compiled kernels, with a note on stderr while it runs: the very first
    run on a machine compiles them (about a minute; ``make setup`` does it ahead of time)."""
    from critmin.model import warm_up

    with err.status("loading the solver (compiled once per machine: the first run takes longer)"):
        warm_up()


@app.command("simulate")
@user_errors
def simulate_cmd(
    scenario: Path = typer.Argument(..., help="Scenario TOML file (see examples/)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results contract as JSON."),
    output: Path | None = typer.Option(None, "--out", "-o", help="Also write the JSON here."),
    top: int = typer.Option(8, help="Countries per table in the summary."),
) -> None:
    """Simulate a scenario: prices, flows, revenue and welfare inside and outside the zone."""
    from critmin.simulate import simulate
    from critmin.summary import print_summary
    from critmin.util import write_json_atomic

    _load_solver()
    result = simulate(scenario)
    data = result.to_dict()
    if output is not None:
        write_json_atomic(output, data)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=1, allow_nan=False) + "\n")
    else:
        print_summary(out, data, top=top)
    if not result.converged:
        err.print("[bold red]some products did not converge: see 'converged' and 'message'[/]")
        raise typer.Exit(1)


# ----------------------------------------------------------------------------- report / serve


@app.command("report")
@user_errors
def report_cmd(
    scenario: Path = typer.Argument(..., help="Scenario TOML file (see examples/)."),
    output: Path = typer.Option(Path("report.html"), "--out", "-o", help="HTML file to write."),
    draws: int = typer.Option(0, help="Also run this many Monte Carlo draws and add fan charts."),
    seed: int | None = typer.Option(None, help="Seed of the Monte Carlo draws (default 0)."),
) -> None:
    """Simulate a scenario and write one self-contained HTML report (works offline)."""
    from critmin.report import write_report

    if draws < 0:
        raise CritminError("--draws must be 0 or more")
    _load_solver()
    data = write_report(scenario, output, draws=draws, seed=seed)
    size = output.stat().st_size / 1e6
    out.print(f"wrote {output} ({size:.1f} MB, {len(data['products'])} product(s))")
    if not data["converged"]:
        err.print("[bold red]some products did not converge: see the report's diagnostics[/]")
        raise typer.Exit(1)


@app.command("serve")
@user_errors
def serve_cmd(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, help="TCP port."),
    db: Path | None = typer.Option(
        None,
        help="SQLite file for saved scenarios (default: $CRITMIN_DB or "
        "~/.local/share/critmin/scenarios.sqlite3).",
    ),
) -> None:
    """Run the web dashboard and JSON API (FastAPI + uvicorn; docs at /openapi.json)."""
    from critmin.web.app import serve

    serve(host=host, port=port, db_path=db)


# ----------------------------------------------------------------------------- uncertainty


@app.command("uncertainty")
@user_errors
def uncertainty_cmd(
    scenario: Path = typer.Argument(..., help="Scenario TOML file (see examples/)."),
    draws: int | None = typer.Option(
        None,
        "--draws",
        "-n",
        help="Monte Carlo draws (default: the scenario's uncertainty.draws, else 1000).",
    ),
    seed: int | None = typer.Option(
        None, help="Random seed (default: the scenario's uncertainty.seed, else 0)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    output: Path | None = typer.Option(None, "--out", "-o", help="Also write the JSON here."),
    draws_out: Path | None = typer.Option(
        None, "--draws-out", help="Write every draw to this .csv or .parquet file."
    ),
    scheduler: str | None = typer.Option(
        None, help="Dask scheduler address (tcp://host:port): run the chunks on that cluster."
    ),
    workers: int | None = typer.Option(
        None, help="Local worker processes (default: every core, small runs in this process)."
    ),
    chunk_size: int = typer.Option(
        250, "--chunk-size", help="Draws per task (results do not depend on it)."
    ),
    threshold: float | None = typer.Option(
        None, help="Shortfall threshold, fraction of reference zone demand (default 0.05)."
    ),
    coverage: float | None = typer.Option(
        None, help="Probability q the stockpile must cover (default 0.95)."
    ),
    duration_days: float | None = typer.Option(
        None, "--duration-days", help="Disruption length the stockpile bridges (default 365)."
    ),
    reference: str | None = typer.Option(
        None, help="Shortfall reference: baseline (default) or no_disruption."
    ),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar on stderr (default: long runs)."
    ),
) -> None:
    """Elasticity uncertainty and disruption risk: distributions, shortfall probability and the
    stockpile that covers it (docs/uncertainty.md)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    from critmin.scenario import load_scenario
    from critmin.uncertainty import run_uncertainty
    from critmin.util import write_json_atomic

    sc = load_scenario(scenario)
    _load_solver()
    settings_draws = (
        draws if draws is not None else (sc.uncertainty.draws if sc.uncertainty else 1000)
    )
    show = (
        progress
        if progress is not None
        else (err.is_terminal and settings_draws * len(sc.product) >= 2000)
    )
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=err,
        transient=True,
        disable=not show,
    )
    with bar:
        tid = bar.add_task("solving draws", total=settings_draws * len(sc.product))
        result = run_uncertainty(
            sc,
            draws=draws,
            seed=seed,
            chunk_size=chunk_size,
            scheduler=scheduler,
            workers=workers,
            shortfall_threshold=threshold,
            coverage=coverage,
            duration_days=duration_days,
            reference=reference,
            progress=lambda done, total: bar.update(tid, completed=done, total=total),
        )
    data = result.to_dict()
    if output is not None:
        write_json_atomic(output, data)
    if draws_out is not None:
        frame = result.frame()
        if draws_out.suffix.lower() == ".parquet":
            frame.to_parquet(draws_out, index=False)
        else:
            frame.to_csv(draws_out, index=False)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=1, allow_nan=False) + "\n")
    else:
        _print_uncertainty(data)
    if not result.converged:
        err.print(
            "[bold red]some draws did not converge: they are left out of the summaries "
            "(see 'nonconverged_draws')[/]"
        )
        raise typer.Exit(1)


def _engine(data: dict[str, Any]) -> str:
    n = data["workers"]
    if data["engine"] == "dask":
        return f"a Dask cluster of {n} worker(s)"
    return f"{n} local processes" if n > 1 else "1 local process"


def _print_uncertainty(data: dict[str, Any]) -> None:
    def usd(v: float | None) -> str:
        return "-" if v is None else f"USD {v / 1e6:,.1f} m"

    for pid, p in data["products"].items():
        rows = [
            {
                "output": o["label"],
                "unit": o["unit"],
                "point": o["point"],
                "5%": o["p05"],
                "median": o["median"],
                "95%": o["p95"],
            }
            for o in p["outputs"].values()
        ]
        print_frame(
            pd.DataFrame(rows),
            False,
            False,
            f"{p['name']} ({pid}): {p['converged_draws']:,} draws",
        )
        sh, st = p["shortfall"], p["stockpile"]
        unit = "t" if st["unit"] == "t" else "USD at baseline prices"
        out.print(
            f"P(shortfall > {100 * sh['threshold']:g}% of {data['shortfall_reference']} zone "
            f"demand) = {100 * sh['probability_above_threshold']:.1f}%"
            + (
                f"; draws with a disruption: {100 * p['disrupted_share']:.1f}%"
                if p["disruption_events"]
                else ""
            ),
            highlight=False,
        )
        days = f", {st['days_of_demand']:.1f} days of zone demand" if st["days_of_demand"] else ""
        out.print(
            f"Stockpile covering {100 * st['coverage']:g}% of draws of a "
            f"{st['duration_days']:g}-day disruption (released at the shortfall rate): "
            f"{st['tonnes']:,.0f} {unit}{days}; {usd(st['cost_usd'])} at USD "
            f"{st['reference_price_usd_per_t'] or 0:,.0f}/t ({st['reference_price_basis']}); "
            f"covers {100 * st['covered_fraction']:.1f}% of draws",
            highlight=False,
        )
        if st["iea_90_day_tonnes"] is not None:
            out.print(
                f"IEA 90-day analogue (90 days of zone net imports): "
                f"{st['iea_90_day_tonnes']:,.0f} {unit}, {usd(st['iea_90_day_cost_usd'])}, "
                f"covers {100 * st['iea_90_day_covered_fraction']:.1f}% of draws",
                highlight=False,
            )
        out.print()
    t = data["timings"]
    out.print(
        f"{data['draws']:,} draws x {len(data['products'])} product(s), seed {data['seed']}, "
        f"chunks of {data['chunk_size']} on {_engine(data)}: "
        f"{t['solve_seconds']:.1f} s solving ({t['product_draws_per_second']:,.0f} draws/s), "
        f"{t['total_seconds']:.1f} s in all",
        highlight=False,
    )


def main() -> None:
    """Entry point of the ``critmin`` console script."""
    app()


if __name__ == "__main__":
    main()
