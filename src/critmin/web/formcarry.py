"""What the designer form does not edit, carried through a round trip untouched.

A saved scenario may hold more than the form shows (``[uncertainty]``, ``[paths]`` settings
beyond the floor, its market and years, ``[tariffs] file``, per-product elasticities, per-destination licence grant shares ...). Opening
it in the designer and posting the form back must not drop any of it: the form keeps those
parts as JSON in hidden fields (``carried`` for the scenario, ``policy-<i>-extra`` per
instrument), puts them back when it builds the scenario, and lists them on the page as "kept as
saved, not editable here" (:func:`carried_parts`).
"""

from __future__ import annotations

import json
from typing import Any

from critmin.errors import ScenarioError
from critmin.web.formpaths import EDITED_PATHS

EDITED_TOP = {
    "name",
    "description",
    "year",
    "zone",
    "defaults",
    "product",
    "chain",
    "policy",
    "shock",
    "disruption",
}
EDITED_ZONE = {"members", "watch", "origin"}
EDITED_ORIGIN = {"rule", "threshold"}
EDITED_DEFAULTS = {"sigma", "demand_elasticity", "supply_elasticity"}
EDITED_TARIFFS = {"baseline"}
_COMMON = {"type", "products", "stage", "label"}
_LEAK = {"leak_via", "leak_cost", "leak_share"}
EDITED_POLICY: dict[str, set[str]] = {
    "tariff": _COMMON | {"exporters", "importers", "rate"},
    "price_floor": _COMMON | {"mechanism", "price_usd_per_t"},
    "export_ban": _COMMON | {"exporters", "importers"} | _LEAK,
    "export_quota": _COMMON | {"exporters", "importers", "share_of_baseline"} | _LEAK,
    "export_licensing": _COMMON
    | {"exporters", "importers", "grant_share", "grant_share_range"}
    | _LEAK,
}
"""The keys of each instrument type the form shows and edits (the rest is carried)."""


def scenario_rest(data: dict[str, Any]) -> dict[str, Any]:
    """The parts of a scenario dict the form does not edit (``{}`` if none): top-level keys,
    the rest of ``zone``/``zone.origin``/``defaults``/``tariffs``, and the ``product`` and
    ``chain`` entries as saved (their order and any per-product settings)."""
    rest: dict[str, Any] = {
        k: v for k, v in data.items() if k not in EDITED_TOP and k not in ("tariffs", "paths")
    }
    zone = data.get("zone") or {}
    zone_rest = {k: v for k, v in zone.items() if k not in EDITED_ZONE}
    origin = zone.get("origin") or {}
    if isinstance(origin, dict) and set(origin) - EDITED_ORIGIN:
        zone_rest["origin"] = {k: v for k, v in origin.items() if k not in EDITED_ORIGIN}
    if zone_rest:
        rest["zone"] = zone_rest
    defaults = data.get("defaults") or {}
    defaults_rest = {
        k: v
        for k, v in defaults.items()
        if k not in EDITED_DEFAULTS or isinstance(v, dict)  # a table: per-country values
    }
    if defaults_rest:
        rest["defaults"] = defaults_rest
    tariffs = data.get("tariffs")
    if isinstance(tariffs, dict) and set(tariffs) - EDITED_TARIFFS:
        rest["tariffs"] = {k: v for k, v in tariffs.items() if k not in EDITED_TARIFFS}
    paths = data.get("paths")
    if isinstance(paths, dict) and set(paths) - EDITED_PATHS:
        rest["paths"] = {k: v for k, v in paths.items() if k not in EDITED_PATHS}
    elif paths is not None and not isinstance(paths, dict):
        rest["paths"] = paths  # not a table: kept as saved (and refused when validated)
    for key in ("product", "chain"):
        entries = [e for e in data.get(key) or [] if isinstance(e, dict)]
        if entries:
            rest[key] = entries
    return rest


def policy_rest(pol: dict[str, Any]) -> dict[str, Any]:
    """The keys of one instrument the form does not edit (all but ``type`` for a type the
    form does not know; a licence's ``grant_share`` table by destination and its range)."""
    kind = str(pol.get("type", ""))
    edited = set(EDITED_POLICY.get(kind, {"type"}))
    if isinstance(pol.get("grant_share"), dict):
        edited -= {"grant_share", "grant_share_range"}
    return {k: v for k, v in pol.items() if k not in edited}


def dumps(rest: dict[str, Any]) -> str:
    return json.dumps(rest, sort_keys=True, separators=(",", ":")) if rest else ""


def loads(text: str, field_name: str) -> dict[str, Any]:
    """The carried JSON of a hidden field (``{}`` when blank). The form writes it, but a
    request may hold anything: JSON nested too deeply, a number too long to read, or entries
    of the wrong shape are refused with one message (:class:`ScenarioError`, a 422), never
    left to fail later while the page is drawn."""
    if not text.strip():
        return {}
    try:
        value = json.loads(text)
    except json.JSONDecodeError as err:
        raise ScenarioError(field_name, f"the kept parts are not valid JSON: {err}") from None
    except (RecursionError, ValueError):  # nesting past the interpreter's limit; huge ints
        raise ScenarioError(
            field_name, "the kept parts are not readable (nested too deeply or a number too long)"
        ) from None
    if not isinstance(value, dict):
        raise ScenarioError(field_name, "the kept parts must be a JSON object")
    for key in ("product", "chain"):
        entries = value.get(key)
        if entries is not None and not (
            isinstance(entries, list) and all(isinstance(e, dict) for e in entries)
        ):
            raise ScenarioError(
                field_name, f"the kept parts' {key} must be a list of tables, got {entries!r:.40}"
            )
    return value


def merge_entries(key: str, ids: set[str], rest: dict[str, Any]) -> list[dict[str, Any]]:
    """``product`` or ``chain`` entries of the ids chosen in the form: the saved entries first
    (in their order, with their own settings), then the new ids, sorted."""
    saved = [e for e in rest.get(key) or [] if isinstance(e, dict) and str(e.get("id")) in ids]
    seen = {str(e.get("id")) for e in saved}
    return saved + [{"id": i} for i in sorted(ids - seen)]


def apply_rest(data: dict[str, Any], rest: dict[str, Any]) -> dict[str, Any]:
    """Put the carried parts back into the scenario the form built (the form's own values win
    where both have a key)."""
    for key, value in rest.items():
        if key in ("product", "chain"):
            continue
        if key == "paths" and isinstance(value, dict):
            if isinstance(data.get("paths"), dict):  # the form's floor: the saved settings kept
                data["paths"] = value | data["paths"]
            continue  # the floor cleared in the form: no [paths] table, its settings dropped
        if key in ("zone", "defaults", "tariffs") and isinstance(value, dict):
            target = data.setdefault(key, {})
            for sub, v in value.items():
                if sub == "origin" and isinstance(v, dict):
                    if isinstance(target.get("origin"), dict):
                        target["origin"] = v | target["origin"]
                    continue  # no rule chosen in the form: the origin rule is dropped
                target.setdefault(sub, v)
            if key == "tariffs":
                target.setdefault("baseline", "none")
        else:
            data.setdefault(key, value)
    return data


def carried_parts(rest: dict[str, Any], policy_rests: list[dict[str, Any]]) -> list[str]:
    """Plain words for what is kept untouched (shown above the form)."""
    out: list[str] = []
    for key, value in rest.items():
        if key in ("product", "chain"):
            extra = [e for e in value if isinstance(e, dict) and set(e) - {"id"}]
            out += [f"{key} {e.get('id')}: {', '.join(sorted(set(e) - {'id'}))}" for e in extra]
        elif key in ("zone", "defaults", "tariffs", "paths") and isinstance(value, dict):
            out += [f"{key}.{sub}" for sub in value]
        elif isinstance(value, list):
            out.append(f"[[{key}]] ({len(value)})")
        else:
            out.append(f"[{key}]")
    for i, pol in enumerate(policy_rests):
        keys = sorted(set(pol) - {"type"})  # "type": the instrument type they were kept for
        if keys:
            out.append(f"instrument {i + 1}: {', '.join(keys)}")
    return out
