"""``critmin sweep``: run one scenario parameter over a range; chart (HTML), table and JSON."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer

from critmin.cli.app import (
    app,
    err,
    escape,
    load_solver,
    out,
    path_argument,
    path_option,
    print_frame,
    user_errors,
)
from critmin.errors import CritminError
from critmin.util import spreadsheet_safe_frame

SWEEP_HELP = """Run one parameter of a scenario over a range and chart the key figures.

The parameter is a path into the scenario file: dotted keys and \\[i] list indices (0-based), e.g. policy\\[0].price_usd_per_t, policy\\[1].rate, policy\\[2].share_of_baseline, defaults.sigma or product\\[0].demand_elasticity. Give the range with --from, --to and --steps, or list the points with --values.

Each point is simulated like `critmin simulate`. The table shows zone self-sufficiency and the watch share (% of zone demand), consumer prices inside and outside the zone (% change) and welfare (USD); the HTML page (--out) charts them with the parts of zone welfare; --json prints every point (shares as fractions 0-1).

Example: critmin sweep examples/01_lithium_floor_levy.toml --param policy\\[0].price_usd_per_t --from 10000 --to 20000 --steps 11 -o floor.html
"""


def _values(text: str) -> list[float]:
    """``'10000,15000'`` -> the points; an empty item (``'1,,2'``) is an error, not dropped
    (it may be a value left out)."""
    items = [v.strip() for v in text.replace(";", ",").split(",")]
    if any(not v for v in items):
        raise CritminError(f"--values: an empty item in {text!r}; give numbers separated by commas")
    try:
        return [float(v) for v in items]
    except ValueError:
        raise CritminError(f"--values must be numbers separated by commas, got {text!r}") from None


@app.command("sweep", help=SWEEP_HELP)
@user_errors
def sweep_cmd(
    scenario: Path = path_argument(
        ...,
        help="Scenario TOML file (see examples/), or JSON (a scenario saved on the dashboard: GET /api/scenarios/ID).",
    ),
    param: str = typer.Option(
        ..., "--param", "-p", help="Scenario path to vary, e.g. policy[0].price_usd_per_t."
    ),
    start: float | None = typer.Option(None, "--from", help="First value of the range."),
    stop: float | None = typer.Option(None, "--to", help="Last value of the range."),
    steps: int | None = typer.Option(
        None, help="Number of points from --from to --to (both included; default 11)."
    ),
    values: str | None = typer.Option(None, help="Explicit values instead: '10000,15000,20000'."),
    output: Path | None = path_option(
        None,
        "--out",
        "-o",
        help="Also write an HTML page with the chart and the table here (default: no page).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the sweep as JSON."),
    csv: Path | None = path_option(
        None,
        "--csv",
        help="Also write the table as CSV here, and its warnings beside it (floor.csv -> "
        "floor.warnings.csv, columns where,warning; the header alone when there are none).",
    ),
) -> None:
    from critmin.export import warnings_beside
    from critmin.report.sweep_page import render_sweep_page, sweep_table
    from critmin.scenario import load_scenario
    from critmin.sweep import run_sweep, values_between
    from critmin.util import check_output_file, check_outputs_apart, write_texts_together

    if output is not None:  # before the work, not after it
        check_output_file(output, "--out", (".html", ".htm"))
    if csv is not None:
        check_output_file(csv, "--csv", (".csv",))
        check_output_file(warnings_beside(csv), "--csv", (".csv",))
    if values is not None and (start is not None or stop is not None):
        raise CritminError("give either --values or the range --from/--to, not both")
    if values is not None and steps is not None:  # the points were --values' in silence
        raise CritminError(
            f"--steps {steps} is for the range --from/--to; --values gives the points itself: "
            "give one or the other"
        )
    if values is not None:
        points = _values(values)
    elif start is not None and stop is not None:
        points = values_between(start, stop, 11 if steps is None else steps)
    else:
        raise CritminError("give the range as --from and --to (with --steps), or --values")
    spec = load_scenario(scenario)
    check_outputs_apart(
        {
            "--out": output,
            "--csv": csv,
            "--csv (its warnings)": warnings_beside(csv) if csv is not None else None,
        },
        None,
        {"the scenario file": scenario, **spec.input_files()},
    )
    load_solver()

    def progress(n: int, k: int) -> None:
        if err.is_terminal:
            err.print(f"point {n} of {k}", end="\r" if n < k else "\n")

    result = run_sweep(spec, param, points, progress=progress)
    data = result.to_dict()
    # the page, the table and its warnings together: all, or none replaced (the page was
    # written first, on its own: Ctrl-C while the table was made left a new page, no table)
    files: dict[Path, str] = {}
    if output is not None:
        files[output] = render_sweep_page(data)
    if csv is not None:
        files[csv] = _table_csv(result.frame(), param)
        files[warnings_beside(csv)] = _warnings_csv(data)
    if files:
        write_texts_together(files)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=1, allow_nan=False) + "\n")
    else:
        out.print(
            f"[bold]{escape(data['scenario'])}[/]: sweep of {escape(param)} ({escape(data['label'])})"
        )
        print_frame(sweep_table(data), False, False)
    for warning in data.get("warnings", []):
        err.print(f"[bold yellow]warning:[/] {escape(warning)}", highlight=False)
    written = [str(path) for path in (output, csv) if path is not None]
    written += [str(warnings_beside(csv))] if csv is not None else []
    if written:
        err.print("wrote " + " and ".join(written))
    else:
        err.print("[dim]--out FILE.html writes the chart; --csv FILE.csv the table[/]")
    if not result.converged:
        err.print("[bold red]some points did not converge: see 'converged'[/]")
        raise typer.Exit(1)


def _table_csv(frame: Any, param: str) -> str:
    """The sweep's table as CSV text with headers that state their unit, as every CSV file
    of critmin's (:func:`critmin.frames.column_header`: ``self sufficiency (fraction 0-1)``,
    ``zone consumer price change (%)``); the first column keeps the parameter's path."""
    from critmin.frames import column_header

    headers = {c: column_header(str(c)) for c in frame.columns if c != param}
    # a text a spreadsheet would run as a formula (a user product's id) quoted, as every CSV
    text: str = spreadsheet_safe_frame(frame.rename(columns=headers)).to_csv(index=False)
    return text


def _warnings_csv(data: dict[str, Any]) -> str:
    """The sweep's warnings as ``warnings.csv`` text (:func:`critmin.export.warnings_csv`):
    ``where`` is the product a warning names, or ``every product``; empty for the rest (values
    that repeat, several products: the warning names them)."""
    from critmin.export import warnings_csv
    from critmin.note_kinds import placed

    products = {pid for point in data["points"] for pid in point["products"]}
    places = [*sorted(products), "every product"]
    return warnings_csv(placed(w, places) for w in data["warnings"])
