"""``critmin simulate``, ``report`` and ``serve``: run a scenario and present its results."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from critmin.cli.app import app, err, json_text, load_solver, out, user_errors
from critmin.errors import CritminError


@app.command("simulate")
@user_errors
def simulate_cmd(
    scenario: Path = typer.Argument(..., help="Scenario TOML file (see examples/)."),
    as_json: bool = typer.Option(False, "--json", help="Print the results contract as JSON."),
    output: Path | None = typer.Option(None, "--out", "-o", help="Also write the JSON here."),
    top: int = typer.Option(8, help="Countries per table in the summary."),
    indent: int | None = typer.Option(
        None,
        "--indent",
        min=0,
        help="Indent the JSON by this many spaces, for people (default: compact, for machines).",
    ),
) -> None:
    """Simulate a scenario: prices, flows, revenue and welfare inside and outside the zone."""
    from critmin.simulation import simulate
    from critmin.util import write_text_atomic

    load_solver()
    result = simulate(scenario)
    data = result.to_dict()
    text = ""
    if output is not None or as_json:
        text = json_text(data, indent)
    if output is not None:
        write_text_atomic(output, text)
    if as_json:
        sys.stdout.write(text)
    else:
        from critmin.summary import print_summary

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
    load_solver()
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
