"""``critmin uncertainty``: Monte Carlo draws, shortfall and stockpile sizing."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, BinaryIO

import typer

from critmin.cli.app import (
    app,
    err,
    escape,
    json_text,
    load_solver,
    number_check,
    out,
    path_argument,
    path_option,
    print_frame,
    progress_bar,
    user_errors,
    warn_no_effect,
)
from critmin.cli.simulate import JSON_SUFFIXES
from critmin.errors import CritminError, did_you_mean
from critmin.parallel import check_scheduler
from critmin.util import spreadsheet_safe_frame

DRAW_SUFFIXES = (".csv", ".parquet")
"""Formats of ``--draws-out``, chosen by the file's suffix."""


REFERENCES = ("baseline", "no_disruption")

# ----------------------------------------------------------------------------- uncertainty


@app.command("uncertainty")
@user_errors
def uncertainty_cmd(
    scenario: Path = path_argument(
        ...,
        help="Scenario TOML file (see examples/), or JSON (a scenario saved on the dashboard: GET /api/scenarios/ID).",
    ),
    draws: int | None = typer.Option(
        None,
        "--draws",
        "-n",
        min=1,
        max=100_000_000,
        help="Monte Carlo draws (default: the scenario's uncertainty.draws, else 1000).",
    ),
    seed: int | None = typer.Option(
        None,
        min=0,
        max=2**63 - 1,
        help="Random seed (default: the scenario's uncertainty.seed, else 0).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    output: Path | None = path_option(None, "--out", "-o", help="Also write the JSON here."),
    draws_out: Path | None = path_option(
        None,
        "--draws-out",
        help="Write every draw to this .csv or .parquet file (a .csv gets the run's warnings "
        "beside it: draws.csv -> draws.warnings.csv, columns where,warning; the header alone "
        "when there are none).",
    ),
    scheduler: str | None = typer.Option(
        None, help="Dask scheduler address (tcp://host:port): run the chunks on that cluster."
    ),
    workers: int | None = typer.Option(
        None,
        min=1,
        help="Threads solving draws in this process (default: one per core).",
    ),
    chunk_size: int = typer.Option(
        250, "--chunk-size", min=1, help="Draws per task (results do not depend on it)."
    ),
    threshold: float | None = typer.Option(
        None,
        callback=number_check(0.0, below=1.0),
        help="Shortfall threshold, fraction of reference zone demand (default 0.05).",
    ),
    coverage: float | None = typer.Option(
        None,
        callback=number_check(maximum=1.0, above=0.0),
        help="Probability q the stockpile must cover (default 0.95).",
    ),
    duration_days: float | None = typer.Option(
        None,
        "--duration-days",
        callback=number_check(maximum=3650.0, above=0.0),
        help="Disruption length the stockpile bridges (default 365).",
    ),
    reference: str | None = typer.Option(
        None,
        help="Shortfall reference: no_disruption (default: only what disruptions remove) or baseline.",
    ),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar on stderr (default: long runs)."
    ),
    indent: int | None = typer.Option(
        None,
        "--indent",
        min=0,
        max=16,
        help="Indent the JSON by this many spaces, for people (default: compact, for machines).",
    ),
) -> None:
    """Elasticity uncertainty and disruption risk, and the stockpile that covers a shortfall.

    Distributions of the results, the probability of a shortfall and the stockpile that
    covers it (docs/uncertainty.md)."""
    from critmin.export import warnings_beside
    from critmin.scenario import load_scenario
    from critmin.uncertainty import run_uncertainty
    from critmin.util import (
        check_input_file,
        check_output_file,
        check_outputs_apart,
        write_text_atomic,
    )

    check_input_file(scenario, "scenario file")
    if indent is not None and output is None and not as_json:
        warn_no_effect(f"--indent {indent}", "no JSON is written (give --json or --out)")
    if output is not None:
        check_output_file(output, "--out", JSON_SUFFIXES)
    if draws_out is not None:
        check_output_file(draws_out, "--draws-out", DRAW_SUFFIXES)
        if draws_out.suffix.lower() == ".csv":
            check_output_file(warnings_beside(draws_out), "--draws-out", (".csv",))
    if scheduler is not None:
        check_scheduler(scheduler)  # before the work (see critmin.parallel.check_scheduler)
        if workers is not None:
            warn_no_effect(f"--workers {workers}", "the Dask cluster's workers solve the draws")
    if reference is not None and reference not in REFERENCES:
        raise CritminError(
            f"--reference must be {' or '.join(REFERENCES)}, got {reference!r}"
            f"{did_you_mean(reference, REFERENCES)}"
        )
    sc = load_scenario(scenario)
    draws_csv = draws_out if draws_out is not None and draws_out.suffix.lower() == ".csv" else None
    check_outputs_apart(
        {
            "--out": output,
            "--draws-out": draws_out,
            "--draws-out (its warnings)": warnings_beside(draws_csv) if draws_csv else None,
        },
        None,
        {"the scenario file": scenario, **sc.input_files()},
    )
    load_solver()
    settings_draws = (
        draws if draws is not None else (sc.uncertainty.draws if sc.uncertainty else 1000)
    )
    show = (
        progress
        if progress is not None
        else (err.is_terminal and settings_draws * len(sc.product) >= 2000)
    )
    bar = progress_bar(show)
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
    text = json_text(data, indent) if output is not None or as_json else ""
    if draws_out is not None:  # the JSON with the draws: all or none
        also = {output: text.encode("utf-8")} if output is not None else {}
        _write_draws(result.frame(), draws_out, data, also)
    elif output is not None:
        write_text_atomic(output, text)
    if as_json:
        sys.stdout.write(text)
    else:
        _print_uncertainty(data)
    for warning in data["warnings"]:
        err.print(f"[bold yellow]warning:[/] {escape(warning)}", highlight=False)
    if not result.converged:
        err.print(f"[bold red]{escape(nonconverged_line(data))}[/]", highlight=False)
        raise typer.Exit(1)


def nonconverged_line(data: dict[str, Any]) -> str:
    """How many draws of which product did not converge (``nonconverged_draws`` of the JSON),
    for the terminal: the table's header counts only the converged draws, and "some draws"
    left the reader to subtract."""
    counts = "; ".join(
        f"{pid}: {p['nonconverged_draws']:,} of {p['draws']:,}"
        for pid, p in data["products"].items()
        if p["nonconverged_draws"]
    )
    return (
        f"some draws did not converge ({counts}): they are left out of the summaries "
        "('nonconverged_draws' in --json)"
    )


def _write_draws(
    frame: Any, path: Path, data: dict[str, Any], also: dict[Path, bytes] | None = None
) -> None:
    """Every draw as CSV or Parquet; a CSV with the run's warnings beside it
    (:func:`critmin.export.warnings_beside`, rows ``where`` = the product a warning names, else
    empty); ``also`` (path -> content: the ``--out`` JSON) with them. Written together
    (:func:`critmin.util.write_files_together`): an interrupted or failed write leaves no
    partial file and every earlier file as it was (the JSON was written first, on its own: Ctrl-C
    while the draws' table was made replaced it and wrote no draws)."""
    from critmin.util import write_files_together

    writers: dict[Path, Callable[[BinaryIO], Any]] = {
        target: _bytes_writer(blob) for target, blob in (also or {}).items()
    }
    if path.suffix.lower() == ".parquet":
        writers[path] = lambda f: frame.to_parquet(f, index=False)
    else:
        from critmin.export import warnings_beside, warnings_csv
        from critmin.note_kinds import placed

        rows = [placed(w, list(data["products"])) for w in data["warnings"]]
        text = warnings_csv(rows).encode("utf-8")
        safe = spreadsheet_safe_frame(frame)  # user products' ids: never a formula
        writers[path] = lambda f: safe.to_csv(f, index=False)
        writers[warnings_beside(path)] = lambda f: f.write(text)
    write_files_together(writers)  # an OSError of pandas or pyarrow: a WriteFailedError


def _bytes_writer(blob: bytes) -> Callable[[BinaryIO], Any]:
    return lambda f: f.write(blob)


def _engine(data: dict[str, Any]) -> str:
    n = data["workers"]
    if data["engine"] == "dask":
        return f"a Dask cluster of {n} worker(s)"
    return f"{n} threads" if n > 1 else "1 thread"


def table_value(value: float | None, unit: str) -> float | None:
    """An output's value as the terminal table shows it: shares in % (the JSON keeps
    fractions 0-1), and amounts of USD under half a dollar as 0. Such an amount is the
    rounding left by subtracting two sums of millions (a revenue change where no instrument
    raises revenue came out as 5.2e-09 USD), not a change anyone could pay; the JSON and CSV
    keep the computed number."""
    if value is None:
        return None
    if unit == "share":
        return 100 * value
    if unit == "USD" and abs(value) < 0.5:
        return 0.0
    return value


def _print_uncertainty(data: dict[str, Any]) -> None:
    import pandas as pd

    def usd(v: float | None) -> str:
        return "-" if v is None else f"USD {v / 1e6:,.1f} m"

    for pid, p in data["products"].items():

        def shown(o: dict[str, Any], key: str) -> float | None:
            return table_value(o[key], o["unit"])

        rows = [
            {
                "output": o["label"],
                "unit": "% (share)" if o["unit"] == "share" else o["unit"],
                "point": shown(o, "point"),
                "5%": shown(o, "p05"),
                "median": shown(o, "median"),
                "95%": shown(o, "p95"),
            }
            for o in p["outputs"].values()
        ]
        print_frame(
            pd.DataFrame(rows),
            False,
            False,
            f"{p['name']} ({pid}): {p['converged_draws']:,} draws",
        )
        if not p["converged_draws"]:  # no distribution, no shortfall probability, no stockpile
            err.print(
                f"[bold yellow]warning:[/] no draw of {escape(pid)} converged: it has no "
                "distribution, shortfall probability or stockpile (the point column is the "
                "scenario at its own elasticities)",
                highlight=False,
            )
            continue
        for lic in p.get("licensing", []):
            shares = "; ".join(
                f"{s['destinations']}: {s['low']:g}-{s['high']:g} (mode {s['mode']:g}), drawn "
                f"{s['p05']:.2f}-{s['p95']:.2f} (5-95%)"
                for s in lic["shares"]
                if s["p05"] is not None
            )
            out.print(f"Licence grant share of {escape(lic['label'])}: {shares}", highlight=False)
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
