"""``critmin coalition``: who should join the zone, whom it cannot lose, who may join."""

from __future__ import annotations

import contextlib
import html
import json
import re
import sys
from collections.abc import Iterator
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
    print_notes,
    progress_bar,
    user_errors,
    warn_no_effect,
)
from critmin.errors import CritminError, ScenarioError

BAR_WIDTH = 28


def _split(text: str | None, option: str = "--candidates") -> list[str] | None:
    """A comma-separated option; given but blank (``''``, ``',,'``) is an error, not an
    empty list that would silently replace the scenario's own."""
    if text is None:
        return None
    items = [t.strip() for t in text.replace(";", ",").split(",") if t.strip()]
    if not items:
        raise CritminError(
            f"{option}: no value given ({text!r}); leave the option out for the scenario's own"
        )
    return items


@contextlib.contextmanager
def _options_named(given: dict[str, str | None]) -> Iterator[None]:
    """A scenario field set from a command-line option is named as that option in its error
    (``--sampled: must be at most 1000000``), not as a field of the scenario file, which the
    user did not write that way."""
    try:
        yield
    except ScenarioError as err:
        option = next(
            (
                o
                for f, o in given.items()
                if o and (err.field == f or err.field.startswith((f + ".", f + "[")))
            ),
            None,
        )
        if option is None:
            raise
        problem = re.sub(r"^Input should be ", "must be ", err.problem)
        if option == "--scope":  # which candidate's scope (its stages and products are one list)
            candidate = err.field.removeprefix("coalition.scope.")
            option += " " + re.sub(r"\.(stages|products)$", "", candidate)
        raise CritminError(f"{option}: {problem}") from None


def _wgi(text: str) -> dict[str, float]:
    """``rl=-1,cc=-0.5`` -> ``{"rl": -1.0, "cc": -0.5}``; an indicator given twice is an
    error (``rl=-1,rl=0.9`` kept the last threshold in silence)."""
    out_: dict[str, float] = {}
    for item in _split(text, "--wgi-min") or []:
        name, sep, value = item.partition("=")
        if name.strip().lower() in out_:
            raise CritminError(
                f"--wgi-min: {name.strip()!r} is given twice; give each indicator one threshold"
            )
        try:
            out_[name.strip().lower()] = float(value)
        except ValueError:
            raise CritminError(
                f"--wgi-min: expected indicator=threshold items such as rl=-1,cc=-0.5, got {item!r}"
            ) from None
        if not sep:
            raise CritminError(f"--wgi-min: {item!r} has no '=threshold'")
    return out_


def _scopes(items: list[str]) -> dict[str, dict[str, list[str]]]:
    """``IDN=refine`` / ``PHL=nickel_unwrought,cobalt_oxides`` / ``ASEAN=refine``: stages or
    product ids. The candidate token (an ISO3 code or a group, as in ``[coalition.scope]``) is
    checked by the analysis, which names an unknown one as ``--scope CODE``; it was checked
    here as an ISO3 code only, so a group candidate's scope was refused on the command line
    while the scenario's table took it. Naming a candidate twice is an error (the second
    replaced the first in silence)."""
    from critmin.catalog import STAGES

    scopes: dict[str, dict[str, list[str]]] = {}
    for item in items:
        token, sep, rest = item.partition("=")
        if not sep or not rest.strip():
            raise CritminError(
                f"--scope: expected CODE=stage,... or CODE=product_id,..., got {item!r}"
            )
        parts = _split(rest, "--scope") or []
        entry: dict[str, list[str]] = {}
        stages = [p for p in parts if p in STAGES]
        products = [p for p in parts if p not in STAGES]
        if stages:
            entry["stages"] = stages
        if products:
            entry["products"] = products
        code = token.strip().upper()
        if not code:
            raise CritminError(f"--scope {item!r}: no candidate before '='")
        if code in scopes:
            raise CritminError(
                f"--scope {item!r}: {code} is given twice; list its stages and products in "
                f"one --scope {code}=... (both: the intersection)"
            )
        scopes[code] = entry
    return scopes


@app.command("coalition")
@user_errors
def coalition_cmd(
    scenario: Path = path_argument(
        ...,
        help="Scenario TOML file (see examples/), or JSON (a scenario saved on the dashboard: GET /api/scenarios/ID).",
    ),
    candidates: str | None = typer.Option(
        None,
        help="Candidate countries or groups, comma-separated (default: the scenario's coalition table).",
    ),
    objective: str | None = typer.Option(
        None,
        help="Objectives, comma-separated: self_sufficiency, watch_share, zone_welfare_usd, "
        "world_welfare_usd (default: all).",
    ),
    members_as_players: bool = typer.Option(
        False, "--members-as-players", help="Members are Shapley players too."
    ),
    member_players: str | None = typer.Option(
        None, help="Only these members are players (comma-separated)."
    ),
    sampled: int | None = typer.Option(
        None, help="Random orders of the sampled Shapley estimate (0 = exact up to 12 players)."
    ),
    seed: int | None = typer.Option(
        None, min=0, max=2**63 - 1, help="Seed of the sampled estimate."
    ),
    wgi_min: str | None = typer.Option(
        None, help="Gate: WGI thresholds, e.g. rl=-1,cc=-1 (estimates, -2.5..2.5)."
    ),
    require: str | None = typer.Option(None, help="Gates: oecd_ddg and/or eiti (comma-separated)."),
    ilo_min: int | None = typer.Option(None, help="Gate: ILO core conventions ratified (of 8)."),
    irma_min: int | None = typer.Option(None, help="Gate: mine sites with a published IRMA audit."),
    flag_only: bool = typer.Option(
        False,
        "--flag-only",
        help="Keep candidates that fail a gate (flagged) instead of leaving them out.",
    ),
    scope: list[str] = typer.Option(
        [],
        help="Stage- or product-limited membership: CODE=refine or CODE=product_id,... (repeatable).",
    ),
    scheduler: str | None = typer.Option(
        None, help="Dask scheduler address (tcp://host:port): solve on that cluster."
    ),
    workers: int | None = typer.Option(
        None, min=1, help="Local worker processes (default: every core for large runs)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print the results as JSON."),
    output: Path | None = path_option(None, "--out", "-o", help="Also write the JSON here."),
    html_path: Path | None = path_option(
        None, "--html", help="Write an offline HTML page with the charts."
    ),
    no_cache: bool = typer.Option(False, "--no-cache", help="Neither read nor write the cache."),
    cache_dir: Path | None = path_option(
        None, help="Cache folder (default: $CRITMIN_CACHE_DIR or the user cache folder)."
    ),
    progress: bool | None = typer.Option(
        None, "--progress/--no-progress", help="Progress bar on stderr (default: on a terminal)."
    ),
) -> None:
    """Who should join: marginal and Shapley values of candidates and members.

    Values for the zone's objectives, with eligibility gates (docs/coalition.md)."""
    from critmin.coalition import run_coalition
    from critmin.parallel import check_scheduler
    from critmin.scenario import load_scenario
    from critmin.util import (
        check_output_dir,
        check_output_file,
        check_outputs_apart,
        write_texts_together,
    )

    # every path and address checked before the work, not after it
    if output is not None:
        check_output_file(output, "--out", (".json",))
    if html_path is not None:
        check_output_file(html_path, "--html", (".html", ".htm"))
    if cache_dir is not None and not no_cache:
        check_output_dir(cache_dir, "--cache-dir")
    elif cache_dir is not None:
        warn_no_effect(f"--cache-dir {cache_dir}", "--no-cache neither reads nor writes a cache")
    if scheduler is not None:
        check_scheduler(scheduler)
        if workers is not None:
            warn_no_effect(f"--workers {workers}", "the Dask cluster's workers solve the markets")
    sc = load_scenario(scenario)
    check_outputs_apart(
        {"--out": output, "--html": html_path},
        {"--cache-dir": (None if no_cache else cache_dir, ())},
        {"the scenario file": scenario, **sc.input_files()},
    )
    gates: dict[str, Any] | None = None
    if wgi_min is not None or require is not None or ilo_min is not None or irma_min is not None:
        gates = sc.coalition.gates.model_dump() if sc.coalition else {}
        if wgi_min is not None:
            gates["wgi_min"] = _wgi(wgi_min)
        for name in _split(require, "--require") or []:
            if name not in {"oecd_ddg", "eiti"}:
                raise CritminError(f"--require: unknown gate {name!r}; gates: oecd_ddg, eiti")
            gates[name] = True
        if ilo_min is not None:
            gates["ilo_core_min"] = ilo_min
        if irma_min is not None:
            gates["irma_sites_min"] = irma_min
    players: bool | list[str] | None = None
    if member_players is not None and members_as_players:  # --member-players won in silence
        raise CritminError(
            "give either --members-as-players (every member is a player) or --member-players "
            "(only these members), not both"
        )
    if member_players is not None:
        players = _split(member_players, "--member-players")
    elif members_as_players:
        players = True
    load_solver()
    bar = progress_bar(progress if progress is not None else err.is_terminal)
    with bar:
        tid = bar.add_task("solving coalition markets", total=None)
        given = {  # options given on the command line, by the scenario field they set
            "coalition.sampled": "--sampled" if sampled is not None else None,
            "coalition.seed": "--seed" if seed is not None else None,
            "coalition.gates.wgi_min": "--wgi-min" if wgi_min is not None else None,
            "coalition.gates.ilo_core_min": "--ilo-min" if ilo_min is not None else None,
            "coalition.gates.irma_sites_min": "--irma-min" if irma_min is not None else None,
            "coalition.objectives": "--objective" if objective is not None else None,
            "coalition.candidates": "--candidates" if candidates is not None else None,
            "coalition.members_as_players": (
                "--member-players" if member_players is not None else None
            ),
            "coalition.scope": "--scope" if scope else None,
        }
        with _options_named(given):
            result = run_coalition(
                sc,
                candidates=_split(candidates),
                objectives=_split(objective, "--objective"),
                members_as_players=players,
                sampled=sampled,
                seed=seed,
                on_fail="flag" if flag_only else None,
                gates=gates,
                scope=_scopes(scope) or None,
                scheduler=scheduler,
                workers=workers,
                cache_dir=False if no_cache else (cache_dir or True),
                progress=lambda done, total: bar.update(tid, completed=done, total=total),
            )
    data = result.to_dict()
    if seed is not None and data["method"] == "exact":
        warn_no_effect(f"--seed {seed}", "the Shapley values are exact, no orders are drawn")
    # the JSON and the page together: both, or neither replaced (the JSON was written first,
    # on its own: Ctrl-C while the page was made left a new JSON beside an old page)
    files: dict[Path, str] = {}
    if output is not None:
        files[output] = json.dumps(data, indent=1, allow_nan=False) + "\n"
    if html_path is not None:
        files[html_path] = coalition_html(data)
    if files:
        write_texts_together(files)
    if as_json:
        sys.stdout.write(json.dumps(data, indent=1, allow_nan=False) + "\n")
    else:
        print_coalition(data)
    if files:  # on stderr, as every command says what it wrote (--out said nothing)
        err.print("wrote " + " and ".join(str(path) for path in files))
    if result.nonconverged:
        err.print("[bold red]some coalition markets did not converge: see 'notes'[/]")
        raise typer.Exit(1)


# ----------------------------------------------------------------------------- summary


def _fmt(data: dict[str, Any], key: str, value: float | None, signed: bool = True) -> str:
    from critmin.numbers import share, usd  # imports numpy: not at start-up (critmin --help)

    unit = data["objectives"][key]["unit"]
    if value is None:
        return "-"
    if unit == "USD":
        return usd(value, signed=signed)
    pts = 100 * value
    return f"{pts:+.2f} pts" if signed else share(value)


def print_coalition(data: dict[str, Any]) -> None:
    """The readable summary: eligibility, ranked candidates, members, Shapley bars, sizes."""
    from rich.table import Table

    from critmin.coalition.figures import ranked_candidates

    totals = [k for k, v in data["objectives"].items() if v["scope"] == "total"]
    players = data["players"]
    method = (
        "exact"
        if data["method"] == "exact"
        else f"sampled, {data['permutations']} orders, seed {data['seed']}"
    )
    t = data["timings"]
    out.print(
        f"[bold]{escape(data['scenario'])}[/]: {len(data['shapley_players'])} Shapley player(s) "
        f"({method}); {data['coalitions_evaluated']:,} coalitions, "
        f"{data['markets_solved']:,} market solves ({data['cache_hits']:,} from the cache) "
        f"on {data['engine']} x{data['workers']} in {t['solve_seconds']:.1f} s "
        f"({t['coalitions_per_second']:,.0f} coalitions/s)",
        highlight=False,
    )
    zone = data["objective_values"]["zone"]
    out.print(
        "zone as in the scenario: "
        + "; ".join(
            f"{data['objectives'][k]['label'].lower()} {_fmt(data, k, zone[k], signed=False)}"
            for k in totals
        ),
        highlight=False,
    )
    cands = [p for p in players if p["role"] == "candidate"]
    if cands:
        gate = Table(title="Eligibility of the candidates")
        for col in ("candidate", "eligible", "in the game", "reasons"):
            gate.add_column(col)
        for p in cands:
            gate.add_row(
                p["iso3"],
                "yes" if p["eligible"] else "[red]no[/]",
                "yes" if p["in_game"] else "no",
                "; ".join(p["reasons"]) or "-",
            )
        out.print(gate)
        ranked = ranked_candidates(data, totals[0])
        table = Table(
            title=f"Candidates ranked by {data['objectives'][totals[0]]['label'].lower()} "
            "(join = zone + candidate minus zone; Shapley over the game)"
        )
        table.add_column("#", justify="right")
        table.add_column("candidate")
        for k in totals:
            label = data["objectives"][k]["label"]
            table.add_column(f"{label}: join", justify="right")
            table.add_column("Shapley", justify="right")
        for rank, p in enumerate(ranked, start=1):
            cells = [str(rank), p["iso3"] + ("" if p["eligible"] else " (fails gates)")]
            for k in totals:
                cells += [_fmt(data, k, p["marginal"][k]), _fmt(data, k, p["shapley"][k])]
            table.add_row(*cells)
        out.print(table)
    members = Table(title="What if a member leaves: the value the zone loses")
    members.add_column("member")
    for k in totals:
        members.add_column(data["objectives"][k]["label"], justify="right")
    for p in players:
        if p["role"] == "member":
            members.add_row(p["iso3"], *(_fmt(data, k, p["marginal"][k]) for k in totals))
    out.print(members)
    for k in totals:
        _print_bars(data, k)
    if data["by_size"]:
        _print_sizes(data, totals[0])
    print_notes(out, data["notes"])


def _print_bars(data: dict[str, Any], key: str) -> None:
    rows = [p for p in data["players"] if p["in_game"] and p["shapley"][key] is not None]
    if not rows:
        return
    rows.sort(key=lambda p: -p["shapley"][key])
    top = max(abs(p["shapley"][key]) for p in rows) or 1.0
    out.print(f"[bold]Shapley values: {data['objectives'][key]['label']}[/]")
    for p in rows:
        v = p["shapley"][key]
        n = round(BAR_WIDTH * abs(v) / top)
        bar = ("[green]" if v >= 0 else "[red]") + "█" * n + "[/]"
        se = p.get("shapley_standard_error", {}).get(key)
        extra = f" ± {_fmt(data, key, se, signed=False)}" if se is not None else ""
        out.print(f"  {p['iso3']:>6} {bar} {_fmt(data, key, v)}{extra}", highlight=False)


def _print_sizes(data: dict[str, Any], key: str) -> None:
    from rich.table import Table

    table = Table(
        title=f"Coalitions by size: {data['objectives'][key]['label'].lower()} (the heat map)"
    )
    for col in ("size", "coalitions", "min", "mean", "max"):
        table.add_column(col, justify="right")
    for row in data["by_size"][key]:
        table.add_row(
            str(row["size"]),
            f"{row['coalitions']:,}",
            *(_fmt(data, key, row[c], signed=False) for c in ("min", "mean", "max")),
        )
    out.print(table)


# ----------------------------------------------------------------------------- HTML


def _scope_suffix(data: dict[str, Any], objective: str) -> str:
    scope = data["objectives"][objective]["scope"]
    return "" if scope == "total" else f" ({html.escape(scope)})"


def coalition_html(data: dict[str, Any]) -> str:
    """One self-contained page (Plotly.js inlined, works offline) with the ranked candidates,
    the members' values, the Shapley, marginal and heat-map charts of the totals and the
    Shapley values per product. Its tables scroll sideways on a phone (at 390 px the page was
    846 px wide, and without a viewport a phone drew it at desktop width)."""
    from critmin.coalition.figures import coalition_figures, ranked_candidates, shapley_figure
    from critmin.report.resources import plotly_js

    totals = [k for k, v in data["objectives"].items() if v["scope"] == "total"]
    figures = coalition_figures(data)
    if data["shapley_players"]:
        for key, info in data["objectives"].items():
            if info["scope"] != "total":
                figures[f"shapley:{key}"] = shapley_figure(data, key)
    esc = html.escape
    rows = []
    for rank, p in enumerate(ranked_candidates(data, totals[0]), start=1):
        cells = "".join(
            f"<td>{esc(_fmt(data, k, p['marginal'][k]))}</td>"
            f"<td>{esc(_fmt(data, k, p['shapley'][k]))}</td>"
            for k in totals
        )
        reasons = esc("; ".join(p["reasons"]) or "-")
        rows.append(
            f"<tr><td>{rank}</td><td>{esc(p['iso3'])}</td>"
            f"<td>{'yes' if p['eligible'] else 'no'}</td>{cells}<td>{reasons}</td></tr>"
        )
    head = "".join(
        f"<th>{esc(data['objectives'][k]['label'])}: join</th><th>Shapley</th>" for k in totals
    )
    members = "".join(
        f"<tr><td>{esc(p['iso3'])}</td>"
        + "".join(f"<td>{esc(_fmt(data, k, p['marginal'][k]))}</td>" for k in totals)
        + "</tr>"
        for p in data["players"]
        if p["role"] == "member"
    )
    member_head = "".join(f"<th>{esc(data['objectives'][k]['label'])}</th>" for k in totals)
    kinds = {
        "shapley": "Shapley values",
        "marginal": "Marginal values",
        "heatmap": "Coalitions by size",
    }
    divs = "".join(
        f"<h3>{esc(kinds[key.split(':')[0]])}: "
        f"{esc(data['objectives'][key.split(':', 1)[1]]['label'].lower())}"
        f"{_scope_suffix(data, key.split(':', 1)[1])}</h3>"
        f'<div id="fig{i}" class="fig"></div>'
        for i, key in enumerate(figures)
    )
    plots = "".join(
        f"Plotly.newPlot('fig{i}', {json.dumps(fig['data'])}, {json.dumps(fig['layout'])}, "
        "{responsive: true, displaylogo: false});"
        for i, fig in enumerate(figures.values())
    )
    notes = "".join(f"<li>{esc(n)}</li>" for n in data["notes"])
    method = "exact" if data["method"] == "exact" else f"sampled ({data['permutations']} orders)"
    page = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{esc(data["scenario"])}: coalitions</title>
<style>
body {{ font-family: Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif; margin: 2rem;
       color: #1f2937; max-width: 1100px; }}
table {{ border-collapse: collapse; margin: 1rem 0; font-size: 13px; }}
th, td {{ border-bottom: 1px solid #e5e7eb; padding: 4px 8px; text-align: right; }}
th:nth-child(2), td:nth-child(2), td:last-child {{ text-align: left; }}
.fig {{ margin-bottom: 1.5rem; }}
.table-wrap {{ overflow-x: auto; }}
@media (max-width: 600px) {{ body {{ margin: 0.75rem; }} }}
</style>
<script>{plotly_js()}</script></head>
<body>
<h1>{esc(data["scenario"])}: coalitions</h1>
<p>{len(data["shapley_players"])} Shapley player(s), {method};
{data["coalitions_evaluated"]:,} coalitions evaluated; trade year {data["year"]}.
Values are changes against the baseline without policy, per the scenario's policies applied to
each coalition (docs/coalition.md).</p>
<h2>Candidates, best first</h2>
<div class="table-wrap"><table><tr><th>#</th><th>candidate</th><th>eligible</th>{head}<th>gates</th></tr>
{"".join(rows)}</table></div>
<h2>What if a member leaves</h2>
<div class="table-wrap"><table><tr><th>member</th>{member_head}</tr>{members}</table></div>
<h2>Charts</h2>{divs}
<h2>Notes</h2><ul>{notes}</ul>
<script>{plots}</script>
</body></html>
"""
    return page
