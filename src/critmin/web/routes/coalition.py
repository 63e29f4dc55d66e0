"""Coalitions in the dashboard: who should join the zone of a saved scenario (or a designer
run), whom it cannot lose, who passes the eligibility gates (:func:`critmin.coalition.
run_coalition`, the function behind ``critmin coalition``; docs/coalition.md).

``GET /coalition?source=&candidates=&objective=&members_as_players=&sampled=&seed=&on_fail=`` is
the page (a shareable address: ranked candidates, eligibility with reasons, Shapley bars per
objective, the coalition heat map); ``?format=json`` and ``GET /api/coalition`` answer the
results contract of ``critmin coalition --json``. The analysis runs on the simulation workers
with its own time limit, bounded in players, products and sampled orders
(:class:`critmin.web.services.Limits`).
"""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse, Response

from critmin.coalition import EXACT_MAX_PLAYERS
from critmin.coalition.figures import coalition_figures, ranked_candidates
from critmin.errors import ScenarioError
from critmin.note_kinds import WARNING_PREFIXES
from critmin.scenario import Scenario
from critmin.web import forms, pagefields, services
from critmin.web.context import WebContext, get_context
from critmin.web.openapi import responses
from critmin.web.pagefields import SEED_MAX
from critmin.web.responses import FormErrors, json_response, respond
from critmin.web.routes.sweep import source_scenario
from critmin.web.services import InvalidInputError

router = APIRouter()
Ctx = Depends(get_context)
OnFail = Literal["exclude", "flag"]
TOTALS = ("self_sufficiency", "watch_share", "zone_welfare_usd", "world_welfare_usd")


NO_SOURCE = "choose a saved scenario, or open this page from a designer run's results"
"""The page's form sent without a scenario (it ran nothing, and said nothing)."""


def candidate_list(values: list[str]) -> list[str]:
    """Candidates as the query gives them: repeated (``candidates=IDN&candidates=CHL``, as the
    page's checkboxes send them) or comma-separated (``candidates=IDN,CHL``); once each."""
    out: list[str] = []
    for value in values:
        for token in value.replace(";", ",").split(","):
            t = token.strip().upper()
            if t and t not in out:
                out.append(t)
    return out


def check_bounds(
    limits: services.Limits,
    scenario: Scenario,
    candidates: list[str],
    members_as_players: bool | None,
    sampled: int | None,
) -> None:
    """The server's bounds on one analysis (422 naming the field): players, products and
    sampled orders, as the analysis will run them (``None``: the scenario's ``[coalition]``
    table decides, as in ``critmin coalition``)."""
    settings = scenario.coalition
    chosen = candidates or (list(settings.candidates) if settings else [])
    member_play: bool | list[str] = (
        members_as_players
        if members_as_players is not None
        else (settings.members_as_players if settings else False)
    )
    if sampled is None:
        sampled = settings.sampled if settings else 0
    members = (
        len(scenario.zone.members)
        if member_play is True
        else len(member_play)
        if isinstance(member_play, list)
        else 0
    )
    players = len(chosen) + members
    if players > limits.max_coalition_players:
        raise InvalidInputError(
            "candidates",
            f"at most {limits.max_coalition_players} players on the server (exact Shapley "
            f"values up to {EXACT_MAX_PLAYERS}, a sampled estimate beyond), got {players} "
            f"({len(chosen)} candidates + {members} member players); larger games: "
            "`critmin coalition`",
        )
    if not 0 <= sampled <= limits.max_coalition_permutations:
        raise InvalidInputError(
            "sampled",
            f"between 0 (exact up to {EXACT_MAX_PLAYERS} players) and "
            f"{limits.max_coalition_permutations} random orders on the server, got {sampled}",
        )
    if scenario.chain:
        raise ScenarioError(
            "chain",
            "coalitions are valued on single product markets; this scenario has linked chains "
            "([[chain]]): save a version with its products as [[product]] entries",
        )
    if len(scenario.product) > limits.max_coalition_products:
        raise InvalidInputError(
            "source",
            f"at most {limits.max_coalition_products} products per coalition analysis on the "
            f"server, this scenario has {len(scenario.product)}; use `critmin coalition`",
        )


async def coalition_data(
    ctx: WebContext,
    source: str,
    candidates: list[str],
    members_as_players: bool | None,
    sampled: int | None,
    seed: int | None,
    on_fail: str | None,
) -> dict[str, Any]:
    """Run the analysis of a saved scenario or ``run:<id>`` on the worker pool (bounded by
    :func:`check_bounds`, limited to ``limits.coalition_timeout_s``). ``None`` (and an empty
    candidate list) leaves the choice to the scenario's ``[coalition]`` table, as the
    command line does."""
    data = source_scenario(ctx, source)
    scenario = services.web_scenario(data, ctx.limits)
    check_bounds(ctx.limits, scenario, candidates, members_as_players, sampled)
    cache = ctx.store.path.parent / "coalition-cache"
    result: dict[str, Any] = await ctx.runner.run(
        services.run_coalition,
        scenario,
        candidates,
        members_as_players,
        sampled,
        seed,
        on_fail,
        cache,
        ctx.runner.check_stop,
        timeout=ctx.limits.coalition_timeout_s,
    )
    return result | {"source": source}


@router.get(
    "/api/coalition",
    tags=["model"],
    summary="Coalitions of a saved scenario's zone (or a run's): marginal and Shapley values",
    description="`source`: a saved scenario id or `run:<run id>`; `candidates`: ISO3 codes or "
    "groups, comma-separated or repeated (default: the scenario's `[coalition] candidates`); "
    "`members_as_players`: the members are Shapley players too; `sampled`: random orders of "
    "a sampled estimate (0 = exact up to 12 players); `on_fail`: `exclude` or `flag` the "
    "candidates that fail the scenario's eligibility gates. `members_as_players`, `sampled`, "
    "`seed` and `on_fail` left out: the scenario's `[coalition]` table decides, as in "
    "`critmin coalition`. The answer is the results "
    "contract of `critmin coalition --json` plus `source`.",
    responses=responses(400, 404, 503),
)
async def api_coalition(
    source: str = Query(..., max_length=100),
    candidates: list[str] = Query([], max_length=400),
    members_as_players: bool | None = None,
    sampled: int | None = Query(None),
    seed: int | None = Query(None, ge=0, le=SEED_MAX),
    on_fail: OnFail | None = None,
    ctx: WebContext = Ctx,
) -> JSONResponse:
    chosen = candidate_list(candidates)
    if candidates and not chosen:  # "candidates=," fell back to the scenario's list, in silence
        raise InvalidInputError(
            "candidates",
            f"no country or group code in {', '.join(map(repr, candidates))}: give ISO3 codes "
            "or groups (IDN,CHL), or leave the parameter out for the scenario's candidates",
        )
    data = await coalition_data(ctx, source, chosen, members_as_players, sampled, seed, on_fail)
    if seed is not None and data.get("method") == "exact":  # as `critmin coalition --seed`
        data["notes"] = [
            *data.get("notes", []),
            f"no effect: seed {seed}: the Shapley values are exact, no orders are drawn",
        ]
    return json_response(data)


def _view(result: dict[str, Any], objective: str) -> dict[str, Any]:
    """Ranked candidates, members by what the zone loses without them, and the figures."""
    key = f"{objective}:total"
    shown = [k for k in (f"{o}:total" for o in TOTALS) if k in result["objectives"]]
    figures = coalition_figures(result, shown)
    members = [p for p in result["players"] if p["role"] == "member"]
    better = result["objectives"][key]["better"]
    members.sort(
        key=lambda p: (
            (p["marginal"][key] is None, -(p["marginal"][key] or 0.0))
            if better == "higher"
            else (p["marginal"][key] is None, p["marginal"][key] or 0.0)
        )
    )
    drawn = {
        f"chart-{name.replace(':', '-').replace('_', '-')}": fig
        for name, fig in figures.items()
        if name.startswith(("shapley:", "heatmap:" + key, "marginal:" + key))
    }
    return {
        "key": key,
        "info": result["objectives"][key],
        "ranked": ranked_candidates(result, key),
        "members": members,
        "shown": shown,
        "figures": drawn,
        "shapley_ids": [i for i in drawn if i.startswith("chart-shapley-")],
    }


@router.get("/coalition", include_in_schema=False)
async def coalition_page(
    request: Request,
    source: str | None = Query(None, max_length=100),
    candidates: list[str] = Query([], max_length=400),
    objective: Literal[TOTALS] = "self_sufficiency",  # type: ignore[valid-type]
    members_as_players: bool | None = None,
    sampled: str | None = Query(None, max_length=50),
    seed: str | None = Query(None, max_length=50),
    on_fail: Literal["", "exclude", "flag"] = "",
    run: bool = False,
    format: Literal["html", "json"] = "html",
    ctx: WebContext = Ctx,
) -> Response:
    chosen = candidate_list(candidates)
    scenario = source_scenario(ctx, source) if source else None
    table = (scenario.get("coalition") or {}) if scenario is not None else {}
    if scenario is not None and not chosen and not run:  # prefill from the scenario's table
        chosen = [str(c).upper() for c in table.get("candidates", [])]
    result = None
    fields = pagefields.coalition_fields
    with FormErrors(request, fields) as refused:  # shown next to the field, the form as typed
        # a field the form did not send: the scenario's [coalition] table decides (None)
        orders = None
        if sampled is not None:
            high = ctx.limits.max_coalition_permutations
            orders = pagefields.whole_number(sampled, "sampled", default=0, low=0, high=high)
        n_seed = None
        if seed is not None:
            n_seed = pagefields.whole_number(seed, "seed", default=0, low=0, high=SEED_MAX)
        if source and (run or candidates):
            result = await coalition_data(
                ctx, source, chosen, members_as_players, orders, n_seed, on_fail or None
            )
        elif run and format == "html":
            raise InvalidInputError("source", NO_SOURCE)
    errors = refused.errors
    view = _view(result, objective) if result else {"figures": {}, "shapley_ids": []}
    opts = {"countries": services.countries(), "groups": services.groups()}
    return respond(
        request,
        result,
        "coalition.html.j2",
        status=422 if errors else 200,
        errors=errors,
        title="Coalitions — critmin",
        active="coalition",
        entries=ctx.entries(),
        with_chains=ctx.store.ids_with_table("chain"),
        source=source or "",
        scenario=scenario,
        chosen=chosen,
        objective=objective,
        totals=TOTALS,
        members_as_players=(
            members_as_players
            if members_as_players is not None
            else bool(table.get("members_as_players"))
        ),
        sampled=str(table.get("sampled", 0)) if sampled is None else sampled,
        seed=str(table.get("seed", 0)) if seed is None else seed,
        on_fail=on_fail,
        options=forms.picker_options(opts["countries"], opts["groups"], []),
        limits=ctx.limits,
        exact_max=EXACT_MAX_PLAYERS,
        result=result,
        json_url=str(request.url.include_query_params(format="json")),
        warning_prefixes=WARNING_PREFIXES,
        **view,
    )
