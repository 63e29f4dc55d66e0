"""``critmin paths``: yearly paths of a price floor under four mechanisms, and who pays."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from critmin.cli.app import (
    app,
    err,
    load_solver,
    out,
    path_argument,
    path_option,
    print_frame,
    print_notes,
    progress_bar,
    user_errors,
    warn_no_effect,
)


@app.command("paths")
@user_errors
def paths_cmd(
    scenario: Path = path_argument(..., help="Scenario TOML file with a \\[paths] table."),
    years: str | None = typer.Option(
        None, "--years", help="FIRST-LAST, e.g. 2025-2035 (default: the scenario's paths.years)."
    ),
    draws: int | None = typer.Option(
        None,
        "--draws",
        "-n",
        min=0,
        max=1_000_000,
        help="Monte Carlo paths, 0: the central path only (default: the scenario's paths.draws, "
        "else 200).",
    ),
    seed: int | None = typer.Option(
        None,
        min=0,
        max=2**63 - 1,
        help="Random seed (default: the scenario's paths.seed, else 0).",
    ),
    scheduler: str | None = typer.Option(
        None, help="Dask scheduler address (tcp://host:port): run the chunks on that cluster."
    ),
    workers: int | None = typer.Option(
        None, min=1, help="Threads solving draws in this process (default: one per core)."
    ),
    chunk_size: int = typer.Option(
        25, "--chunk-size", min=1, help="Draws per task (results do not depend on it)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    csv_dir: Path | None = path_option(
        None,
        "--csv",
        help="Write CSV tables into this folder: mechanisms.csv, npv.csv, stages.csv and "
        "warnings.csv (columns where,warning; the header alone when there are none).",
    ),
    html: Path | None = path_option(None, "--html", help="Write an offline HTML page here."),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar on stderr (default: on a terminal)."
    ),
) -> None:
    """Time and who pays: one equilibrium per year, with fiscal costs and stakes.

    Demand growth, capacity lead times, shocks fitted to price history and disruptions; fiscal
    cost, levy revenue, zone buyers' and producers' stakes of each floor mechanism
    (docs/paths.md)."""
    from critmin.parallel import check_scheduler
    from critmin.paths import run_paths
    from critmin.paths.results import CSV_FILES
    from critmin.scenario import load_scenario
    from critmin.util import (
        check_input_file,
        check_output_dir,
        check_output_file,
        check_outputs_apart,
    )

    check_input_file(scenario, "scenario file")
    if csv_dir is not None:
        check_output_dir(csv_dir, "--csv")
    if html is not None:
        check_output_file(html, "--html", (".html", ".htm"))
    if scheduler is not None:
        check_scheduler(scheduler)
    sc = load_scenario(scenario)
    check_outputs_apart(
        {"--html": html},
        {"--csv": (csv_dir, CSV_FILES)},
        {"the scenario file": scenario, **sc.input_files()},
    )
    load_solver()
    total = draws if draws is not None else (sc.paths.draws if sc.paths else 0)
    if seed is not None and total == 0:
        warn_no_effect(f"--seed {seed}", "there are no draws to seed, only the central path")
    show = progress if progress is not None else err.is_terminal
    bar = progress_bar(bool(show) and total > 0)
    with bar:  # a bad --years is run_paths' CritminError
        tid = bar.add_task("solving paths", total=total)
        result = run_paths(
            sc,
            years=years,
            draws=draws,
            seed=seed,
            scheduler=scheduler,
            workers=workers,
            chunk=chunk_size,
            progress=lambda done, n: bar.update(tid, completed=done, total=n),
        )
    data = result.to_dict()
    # the tables and the page together: all, or none replaced (the tables were written first,
    # on their own: Ctrl-C while the page was made left new tables beside an old page)
    files = result.csv_texts(csv_dir) if csv_dir is not None else {}
    if html is not None:
        from critmin.report.paths_page import render_paths_page

        files[html] = render_paths_page(data)
    if files:
        from critmin.util import write_texts_together

        write_texts_together(files)
    for f in files:
        err.print(f"wrote {f}")
    if as_json:
        sys.stdout.write(json.dumps(data, indent=1, allow_nan=False) + "\n")
    else:
        _print(data)
    print_notes(err, data["notes"])
    empty = [m for m, e in data["mechanisms"].items() if e["converged_draws"] == 0]
    if empty:  # a mechanism without a single converged draw has no figures at all
        have = "it has" if len(empty) == 1 else "they have"
        err.print(
            f"[bold red]{', '.join(empty)}: no draw converged, so {have} no figures (see the "
            "warnings above)[/]"
        )
        raise typer.Exit(1)


def _print(data: dict[str, Any]) -> None:
    import pandas as pd  # here, not at start-up: critmin --help and simulate run without it

    from critmin.numbers import usd

    rows = []
    for mech, e in data["mechanisms"].items():
        npv = e["npv"]
        rows.append(
            {
                "mechanism": mech,
                "fiscal cost NPV": usd(npv["fiscal_cost_usd"]["expected"]),
                "bad decade (P95)": usd(npv["fiscal_cost_usd"]["p95"]),
                "levy revenue NPV": usd(npv["levy_revenue_usd"]["expected"]),
                "zone buyers pay": usd(e["who_pays"]["zone_buyers_usd"]),
                "outside producers lose": usd(e["who_pays"]["outside_producers_usd"]),
                "zone producers gain": usd(e["who_pays"]["zone_producers_gain_usd"]),
            }
            # the draws kept (converged); with none asked for, the central path alone
            | ({"draws": e["converged_draws"]} if data["draws"] else {})
        )
    f = data["facts"]
    s = data["settings"]
    title = (
        f"{data['scenario']}: floor USD {f['floor_usd_per_t']:,.0f}/t on {f['floor_stage']} "
        f"(baseline USD {f['baseline_price_usd_per_t']:,.0f}/t), {s['years']}, "
        f"NPV at {100 * s['discount_rate']:.1f}%, "
        + (f"{data['draws']} draws" if data["draws"] else "the central path only (no draws)")
    )
    print_frame(pd.DataFrame(rows), False, False, title)
    t = data["timing"]
    if t.get("ms_per_year_solve"):
        out.print(
            f"{t['solves']:,} yearly equilibria on {t['engine']} ({t['workers']} worker(s)): "
            f"{t['ms_per_year_solve']:.1f} ms each, {t['draws_per_s']:.1f} draws/s"
        )
