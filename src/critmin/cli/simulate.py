"""``critmin simulate``, ``report`` and ``serve``: run a scenario and present its results."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from critmin.cli.app import (
    app,
    err,
    escape,
    json_bytes,
    load_solver,
    out,
    path_argument,
    path_option,
    user_errors,
    warn_no_effect,
    without_cycle_collection,
    write_stdout,
)

if TYPE_CHECKING:
    from critmin.scenario import Scenario
    from critmin.world import World

JSON_SUFFIXES = (".json",)
"""What ``--out`` of simulate and uncertainty writes: JSON, so the file name says so."""


@app.command("simulate")
@user_errors
@without_cycle_collection
def simulate_cmd(
    scenario: Path = path_argument(
        ...,
        help="Scenario TOML file (see examples/), or JSON (a scenario saved on the dashboard: GET /api/scenarios/ID).",
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results contract as JSON."),
    output: Path | None = path_option(
        None, "--out", "-o", help="Also write the JSON here (a .json file)."
    ),
    top: int | None = typer.Option(
        None, min=0, help="Countries per table in the summary (default 8)."
    ),
    indent: int | None = typer.Option(
        None,
        "--indent",
        min=0,
        max=16,
        help="Indent the JSON by this many spaces, for people (default: compact, for machines).",
    ),
    detail: bool | None = typer.Option(
        None,
        "--detail/--brief",
        help="Per-product tables in the summary (default: only for up to 3 products).",
    ),
    xlsx: Path | None = path_option(
        None, "--xlsx", help="Also write an Excel workbook (one sheet per table, units in headers)."
    ),
    csv_dir: Path | None = path_option(
        None,
        "--csv",
        help="Also write every table as CSV into this folder, with warnings.csv: the run's "
        "warnings (columns where,warning; the header alone when there are none).",
    ),
) -> None:
    """Simulate a scenario: prices, flows, revenue and welfare inside and outside the zone."""
    from critmin.scenario import load_scenario
    from critmin.simulation import simulate
    from critmin.util import (
        check_input_file,
        check_output_dir,
        check_output_file,
        check_outputs_apart,
        write_bytes_together,
    )

    check_input_file(scenario, "scenario file")
    if indent is not None and output is None and not as_json:
        warn_no_effect(f"--indent {indent}", "no JSON is written (give --json or --out)")
    if as_json:  # they shape the readable summary, which --json replaces (ignored in silence)
        summary_options = [f"--top {top}"] if top is not None else []
        summary_options += [] if detail is None else ["--detail" if detail else "--brief"]
        for option in summary_options:
            warn_no_effect(option, "--json prints the results, not the summary's tables")
    if output is not None:
        check_output_file(output, "--out", JSON_SUFFIXES)
    if xlsx is not None:
        check_output_file(xlsx, "--xlsx", (".xlsx",))
    if csv_dir is not None:
        check_output_dir(csv_dir, "--csv")
    spec = load_scenario(scenario)
    check_outputs_apart(
        {"--out": output, "--xlsx": xlsx},
        {"--csv": (csv_dir, csv_file_names() if csv_dir is not None else ())},
        {"the scenario file": scenario, **spec.input_files()},
    )
    world = check_analysis_tables(spec)
    load_solver()
    result = simulate(spec, world)
    data = result.to_dict(copy=False)
    blob = b""
    if output is not None or as_json:
        blob = json_bytes(data, indent)
    # every file's content first (the workbook takes seconds for many products), then the
    # writes: Ctrl-C before them leaves every earlier file as it was, not a mix of two runs
    if xlsx is not None or csv_dir is not None:  # pandas is imported for these alone
        from critmin.export import csv_texts, write_csv_texts, xlsx_bytes

    files = {output: blob} if output is not None else {}
    if xlsx is not None:
        files[xlsx] = xlsx_bytes(data)
    if csv_dir is not None:  # the JSON, the workbook and the tables: all or none
        paths = write_csv_texts(csv_texts(data), csv_dir, also=files)
    else:
        write_bytes_together(files)
    if xlsx is not None:
        err.print(f"wrote {xlsx}")
    if csv_dir is not None:
        err.print(f"wrote {len(paths)} CSV files to {csv_dir}: {', '.join(p.name for p in paths)}")
    if as_json:
        write_stdout(blob)
    else:
        from critmin.summary import print_summary

        print_summary(out, data, top=8 if top is None else top, detail=detail)
    if not result.converged:
        err.print("[bold red]some products did not converge: see 'converged' and 'message'[/]")
        raise typer.Exit(1)


def check_analysis_tables(spec: Scenario) -> World | None:
    """Refuse the scenario's ``[paths]`` and ``[coalition]`` tables as ``critmin paths`` and
    ``critmin coalition`` would (:func:`critmin.paths.setup.check_paths_table`,
    :func:`critmin.coalition.analysis.check_coalition_table`; a ScenarioError, exit 2), as the
    web API does when a scenario is run or saved (``critmin.web.services``): simulate and
    report do not use them, but a table that could never run is refused wherever the
    scenario is given, not only by the command that reads it. The world loaded for the checks
    (None without either table), for the run to reuse."""
    if spec.paths is None and spec.coalition is None:
        return None
    from critmin.world import world_for

    world = world_for(None, spec.year)
    if spec.paths is not None:
        from critmin.paths.setup import check_paths_table

        check_paths_table(spec, world)
    if spec.coalition is not None:
        from critmin.coalition.analysis import check_coalition_table

        check_coalition_table(spec, world)
    return world


def csv_file_names() -> list[str]:
    """The files ``simulate --csv DIR`` writes in ``DIR``, or removes there (the tables of
    an earlier run that this one does not have): ``flows.csv`` among them."""
    from critmin.export import WARNINGS
    from critmin.frames import CHAIN_TABLES, CONTROL_TABLES, TABLES

    return [f"{name}.csv" for name in (WARNINGS, *TABLES, *CHAIN_TABLES, *CONTROL_TABLES)]


# ----------------------------------------------------------------------------- report / serve


@app.command("report")
@user_errors
def report_cmd(
    scenario: Path = path_argument(
        ...,
        help="Scenario TOML file (see examples/), or JSON (a scenario saved on the dashboard: GET /api/scenarios/ID).",
    ),
    output: Path = path_option(
        Path("report.html"), "--out", "-o", help="HTML file to write (.html)."
    ),
    draws: int = typer.Option(
        0, min=0, max=100_000_000, help="Also run this many Monte Carlo draws and add fan charts."
    ),
    seed: int | None = typer.Option(
        None, min=0, max=2**63 - 1, help="Seed of the Monte Carlo draws (default 0)."
    ),
) -> None:
    """Simulate a scenario and write one self-contained HTML report (works offline)."""
    from critmin.errors import CritminError
    from critmin.report import write_report
    from critmin.scenario import load_scenario
    from critmin.simulation import simulate
    from critmin.util import check_input_file, check_output_file, check_outputs_apart

    check_input_file(scenario, "scenario file")
    check_output_file(output, "--out", (".html", ".htm"))
    if seed is not None and draws == 0:
        warn_no_effect(f"--seed {seed}", "there are no draws to seed (give --draws N)")
    spec = load_scenario(scenario)
    check_outputs_apart(
        {"--out": output}, None, {"the scenario file": scenario, **spec.input_files()}
    )
    load_solver()
    if draws > 0 and (spec.chain or any(p.stage is not None for p in spec.policy)):
        # checked before the solve: the Monte Carlo run takes single product markets only
        raise CritminError(
            f"--draws {draws}: the Monte Carlo run (critmin uncertainty) does not cover linked "
            "chains yet, and this scenario has [[chain]] entries or a policy with a stage; "
            "write the chain report without --draws (critmin report FILE -o report.html)"
        )
    world = check_analysis_tables(spec)
    data = simulate(spec, world, drawn=draws > 0).to_dict(copy=False)
    uncertainty = None
    if draws > 0:
        from critmin.uncertainty import fan_data, run_uncertainty

        unc = run_uncertainty(spec, draws=draws, seed=seed)
        uncertainty = {
            "draws": draws,
            "seed": seed,
            "fans": fan_data(unc),
            "warnings": unc.warnings,
        }
    write_report(spec, data, output, uncertainty=uncertainty)
    size = output.stat().st_size / 1e6
    chains = len(data.get("chains") or {})
    linked = f", {chains} linked chain(s)" if chains else ""
    out.print(f"wrote {output} ({size:.1f} MB, {len(data['products'])} product(s){linked})")
    from critmin.summary import print_warnings

    print_warnings(err, data)  # in the report too, but a warning must be seen where it is run
    if uncertainty is not None:  # and the draws' own (buyers the disruptions drawn cut off)
        from critmin.note_kinds import draw_warnings

        for warning in draw_warnings(uncertainty, data):
            err.print(f"[bold yellow]warning:[/] {escape(warning)}", highlight=False)
    if not data["converged"]:
        err.print("[bold red]some products did not converge: see the report's diagnostics[/]")
        raise typer.Exit(1)


@app.command("serve")
@user_errors
def serve_cmd(
    host: str = typer.Option("127.0.0.1", help="Interface to listen on."),
    port: int = typer.Option(8000, min=1, max=65535, help="TCP port."),
    db: Path | None = path_option(
        None,
        help="SQLite file for saved scenarios (default: $CRITMIN_DB or "
        "~/.local/share/critmin/scenarios.sqlite3).",
    ),
) -> None:
    """Run the web dashboard and JSON API (FastAPI + uvicorn; API docs at /docs, offline)."""
    from critmin.util import check_output_file
    from critmin.web.app import serve

    if db is not None:
        check_output_file(db, "--db")
    serve(host=host, port=port, db_path=db)
