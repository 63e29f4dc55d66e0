"""The data behind pages that also have an ``/api/...`` path: the overview and the designer's
options. A page and its JSON twin are built from the same dict."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from critmin.web import forms, services
from critmin.web.context import WebContext


def split_list(text: str | None) -> list[str]:
    """``"a, b;c"`` -> ``["a", "b", "c"]``."""
    return [s.strip() for s in (text or "").replace(";", ",").split(",") if s.strip()]


async def overview_data(
    ctx: WebContext,
    members: str | None,
    watch: str | None,
    stage: str | None,
    map_key: str | None,
) -> dict[str, Any]:
    """Concentration records (with zone figures when ``members`` is given) and the map
    selection's supply shares."""
    m, w, dropped = services.zone_codes(members, watch)
    stages = split_list(stage)
    records = await ctx.runner.run(services.assess_records, m, w, [], stages, 2024)
    keys = [f"{r['mineral']}:{r['stage']}" for r in records]
    if map_key and map_key not in keys:
        shown = ", ".join(keys[:6]) + (", ..." if len(keys) > 6 else "")
        raise services.InvalidInputError(
            "map", f"no map {map_key!r}: expected mineral:stage with a stage shown ({shown})"
        )
    selected = map_key if map_key else (keys[0] if keys else None)
    shares: dict[str, float] = {}
    if selected:
        mineral, st = selected.split(":", 1)
        shares = await ctx.runner.run(services.supply_shares, mineral, st, 2024)
    return {
        "members": m,
        "watch": w,
        "stage": stages,
        "records": records,
        "map": {"selected": selected, "shares": shares},
        "notes": services.dropped_watch_note(dropped),
    }


def designer_options(ctx: WebContext) -> dict[str, Any]:
    """What the designer offers: countries, groups (full name, source, members), products,
    instruments, presets and limits."""
    return {
        "countries": services.countries(),
        "groups": [
            {k: g[k] for k in ("id", "name", "citation", "url", "as_of")}
            | {"size": len(g["members"]), "members": g["members"]}
            for g in services.groups()
        ],
        "products": services.products(),
        "chains": services.chains(),
        "stages": services.stages(),
        "origin_rules": [r for r, _ in forms.ORIGIN_RULES if r],
        "policy_types": [t for t, _ in forms.POLICY_TYPES if t],
        "mechanisms": ["variable_levy", "producer_subsidy"],
        "presets": forms.PRESETS,
        "trade_years": [2024, 2022],
        "limits": ctx.limits.to_dict(),
        "simulate": "POST /api/simulate with the scenario as JSON; POST /designer with the form",
    }


def column_groups(
    columns: Iterable[tuple[str | None, str, dict[str, str]]],
) -> list[dict[str, Any]]:
    """A wide table's headings in two rows: consecutive columns ``(group, unit, column)`` of
    the same group and unit under one ``{"label": group, "unit": unit, "columns": [...]}``;
    a column without a group is a group of its own, without a label (its heading spans both
    rows). The overview's ranking and the sweep's points use it."""
    groups: list[dict[str, Any]] = []
    for group, unit, column in columns:
        last = groups[-1] if groups else None
        if group and last and last["label"] == group and last["unit"] == unit:
            last["columns"].append(column)
        else:
            groups.append({"label": group, "unit": unit, "columns": [column]})
    return groups
