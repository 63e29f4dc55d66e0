"""What the dashboard adds above a result's detail: the warnings that say an instrument does
(or may do) nothing, and each linked chain stage by stage.

The detail itself is the report's (:func:`critmin.report.render.results_view`); this module
only reads the results contract (``products.<id>.notes``, ``chains.<id>``), so a page and its
JSON twin show the same numbers.
"""

from __future__ import annotations

from typing import Any

from critmin.report import render as report_render
from critmin.web import services

WARNING_PREFIXES = ("no effect:", "may have no effect:", "cut off:", "numerical:")
"""Notes that warn (:mod:`critmin.scenario.no_effect`, the solver's numerical checks); the
terminal summary prints the same notes as warnings."""


def result_warnings(result: dict[str, Any]) -> list[dict[str, str]]:
    """The notes of every product and chain that start with one of :data:`WARNING_PREFIXES`,
    each as ``{"where": product or chain id, "kind": the prefix without the colon, "text"}``,
    once each, in the order of the results."""
    found: list[dict[str, str]] = []
    seen: set[tuple[str, str]] = set()

    def add(where: str, notes: list[Any]) -> None:
        for note in notes:
            text = str(note)
            if text.startswith(WARNING_PREFIXES) and (where, text) not in seen:
                seen.add((where, text))
                kind = next(p for p in WARNING_PREFIXES if text.startswith(p))
                found.append({"where": where, "kind": kind.rstrip(":"), "text": text})

    for pid, product in (result.get("products") or {}).items():
        add(str(pid), product.get("notes") or [])
    for cid, chain in (result.get("chains") or {}).items():
        add(f"chain {cid}", chain.get("notes") or [])
        for stage in chain.get("stages") or []:
            add(f"chain {cid}", stage.get("notes") or [])
    return found


def chain_tables(result: dict[str, Any], names: dict[str, str]) -> list[dict[str, Any]]:
    """Each chain of the results as a table of its stages, in order (docs/model.md, "Linked
    chains"): prices (zone and outside, % change), zone self-sufficiency and watch share before
    and after, producer surplus change (zone, outside; USD) and the zone producers' share of the
    chain's producer gain (``captured_by_stage``). ``names``: product id -> display name."""
    tables = []
    for cid, chain in (result.get("chains") or {}).items():
        captured = {
            (c["stage"], tuple(c["products"])): c.get("share_of_zone_producer_gain")
            for c in chain.get("captured_by_stage") or []
        }
        rows = []
        for k, st in enumerate(chain.get("stages") or []):
            surplus = st.get("producer_surplus_usd") or {}
            rows.append(
                {
                    "step": k + 1,
                    "stage": st["stage"],
                    "products": [names.get(p, p) for p in st["products"]],
                    "zone_price_change_pct": st.get("zone_price_change_pct"),
                    "outside_price_change_pct": st.get("outside_price_change_pct"),
                    "self_sufficiency_before": st.get("zone_self_sufficiency_before"),
                    "self_sufficiency_after": st.get("zone_self_sufficiency_after"),
                    "watch_share_before": st.get("watch_share_before"),
                    "watch_share_after": st.get("watch_share_after"),
                    "zone_producers_usd": surplus.get("zone"),
                    "outside_producers_usd": surplus.get("outside"),
                    "captured_share": captured.get((st["stage"], tuple(st["products"]))),
                    "link": st.get("link"),
                }
            )
        tables.append(
            {
                "id": str(cid),
                "mineral": str(chain.get("mineral", cid)).replace("_", " "),
                "converged": bool(chain.get("converged")),
                "message": chain.get("message", ""),
                "welfare": chain.get("welfare") or {},
                "stages": rows,
                "notes": [
                    n for n in chain.get("notes") or [] if not str(n).startswith(WARNING_PREFIXES)
                ],
            }
        )
    return tables


def results_context(scenario: dict[str, Any], result: dict[str, Any]) -> dict[str, Any]:
    """The template context of a results page: the report's view plus ``result_warnings`` and
    ``chain_tables`` (rendered by ``_run_extras.html.j2`` above the detail)."""
    view = report_render.results_view(report_render.scenario_dict(scenario), result)
    view["result_warnings"] = result_warnings(result)
    names = {str(p["product_id"]): str(p["name"]) for p in services.products()}
    view["chain_tables"] = chain_tables(result, names)
    return view
