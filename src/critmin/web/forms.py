"""The zone designer's HTML form <-> a scenario dict (the same schema as the TOML file).

The form keeps what the user typed (``DesignerState``: strings and sets), so that a page with
an error shows the input unchanged, with the message in plain words next to the field it is
about (:func:`critmin.web.formerrors.field_errors`). Rates and shares are entered in percent
and stored as fractions, as in the scenario contract. Products in an instrument may be given
by name or id.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from critmin.errors import ScenarioError, raise_refused
from critmin.web import formcarry, formdisruptions, formpaths
from critmin.web.formrefusals import Refusals

POLICY_TYPES = [
    ("", "— none —"),
    ("tariff", "Tariff"),
    ("price_floor", "Price floor"),
    ("export_ban", "Export ban"),
    ("export_quota", "Export quota"),
    ("export_licensing", "Export licensing"),
]
SELECTOR_WORDS = {"all", "members", "non-members"}
POLICY_FIELDS = (
    "type",
    "exporters",
    "importers",
    "rate_pct",
    "mechanism",
    "price",
    "share_pct",
    "products",
    "stage",
    "label",
    "grant_pct",
    "grant_low_pct",
    "grant_high_pct",
    "leak_via",
    "leak_cost_pct",
    "leak_share_pct",
    "extra",
)
LEAKY_TYPES = {"export_ban", "export_quota", "export_licensing"}
TARIFF_BASELINES = [
    ("none", "none (the market as traded, no baseline tariffs)"),
    ("curated", "curated: the bundled, cited tariffs (e.g. Section 301)"),
]
"""``[tariffs] baseline``: the tariffs the market is calibrated with (docs/controls.md)."""
MAX_POLICIES = 12
SHOCK_TYPES = [
    ("", "— none —"),
    ("demand", "Demand shock"),
    ("supply", "Output shock"),
]
"""``[[shock]] type``: more or less buying (``demand``) or output (``supply``) at every price."""
SHOCK_FIELDS = ("type", "countries", "change_pct", "products", "label")
MAX_SHOCKS = 8
ORIGIN_RULES = [
    ("", "none (all member output qualifies)"),
    ("rvc", "rvc: regional value content ≥ threshold"),
    ("member_inputs", "member inputs (in proportion)"),
]
"""The zone's rules of origin for chain stages (``[zone.origin] rule``)."""


@dataclass
class DesignerState:
    """The designer form's values, as typed."""

    name: str = "My zone"
    description: str = ""
    year: str = "2024"
    member_groups: set[str] = field(default_factory=set)
    member_countries: set[str] = field(default_factory=set)
    watch: set[str] = field(default_factory=set)
    products: set[str] = field(default_factory=set)
    chains: set[str] = field(default_factory=set)
    origin_rule: str = ""
    origin_threshold_pct: str = ""
    sigma: str = ""
    demand_elasticity: str = ""
    supply_elasticity: str = ""
    tariffs_baseline: str = "none"
    policies: list[dict[str, str]] = field(default_factory=list)
    shocks: list[dict[str, str]] = field(default_factory=list)
    """The ``[[shock]]`` rows: market shocks beside the instruments."""
    disruptions: list[dict[str, str]] = field(default_factory=list)
    """The ``[[disruption]]`` rows (:mod:`critmin.web.formdisruptions`): bans with a yearly
    probability, for the Monte Carlo draws and the yearly paths."""
    paths: dict[str, str] = field(default_factory=formpaths.empty_paths)
    """The *Yearly paths* fields (:mod:`critmin.web.formpaths`): a ``[paths]`` table's floor,
    market and years."""
    carried: str = ""
    """JSON of the scenario's parts the form does not edit (:mod:`critmin.web.formcarry`)."""

    def carried_parts(self) -> list[str]:
        """Plain words for what the form keeps untouched ([] when it shows everything)."""
        try:
            rest = formcarry.loads(self.carried, "carried")
            pols = [formcarry.loads(p.get("extra", ""), "extra") for p in self.policies]
            dis = [formcarry.loads(d.get("extra", ""), "extra") for d in self.disruptions]
        except ScenarioError:
            return ["(unreadable kept parts)"]
        return formcarry.carried_parts(rest, pols) + [
            f"disruption {i + 1}: {', '.join(sorted(d))}" for i, d in enumerate(dis) if d
        ]

    def padded_policies(self, extra: int = 0) -> list[dict[str, str]]:
        """The chosen instruments plus ``extra`` empty ones (one when none is chosen)."""
        rows = [dict(p) for p in self.policies if p.get("type")]
        blanks = max(extra, 0 if rows else 1)
        kept = len(rows)  # a saved scenario's are all kept, even past MAX_POLICIES
        rows += [empty_policy() for _ in range(blanks)]
        return rows[: max(MAX_POLICIES, kept)]

    def padded_disruptions(self, extra: int = 0) -> list[dict[str, str]]:
        """The disruption rows plus ``extra`` empty ones (none by default)."""
        rows = [dict(d) for d in self.disruptions if formdisruptions.disruption_filled(d)]
        kept = len(rows)
        rows += [formdisruptions.empty_disruption() for _ in range(max(extra, 0))]
        return rows[: max(formdisruptions.MAX_DISRUPTIONS, kept)]

    def padded_shocks(self, extra: int = 0) -> list[dict[str, str]]:
        """The chosen market shocks plus ``extra`` empty ones (none by default: a scenario
        without shocks shows only the button that adds one)."""
        rows = [dict(s) for s in self.shocks if s.get("type") or shock_filled(s)]
        kept = len(rows)  # a saved scenario's are all kept, even past MAX_SHOCKS
        rows += [empty_shock() for _ in range(max(extra, 0))]
        return rows[: max(MAX_SHOCKS, kept)]


def shock_filled(row: dict[str, str]) -> bool:
    """Whether a shock box without a type has anything typed in it (kept on the page, and
    refused when run: :func:`_shocks`)."""
    typed = row.get("change_pct", "").strip() or row.get("products", "").strip()
    return bool(typed) or row.get("countries", "").strip().lower() not in ("", "all")


def empty_shock() -> dict[str, str]:
    return {"type": "", "countries": "all", "change_pct": "", "products": "", "label": ""}


def empty_policy() -> dict[str, str]:
    return {
        "type": "",
        "exporters": "non-members",
        "importers": "members",
        "rate_pct": "",
        "mechanism": "variable_levy",
        "price": "",
        "share_pct": "",
        "products": "",
        "stage": "",
        "label": "",
        "grant_pct": "",
        "grant_low_pct": "",
        "grant_high_pct": "",
        "leak_via": "",
        "leak_cost_pct": "",
        "leak_share_pct": "",
        "extra": "",
    }


def _fmt_number(v: Any, scale: float = 1.0) -> str:
    """``v`` (times ``scale``: 100 for a field typed in percent) as the shortest text that
    :func:`_number` reads back as ``v`` exactly, so that a saved scenario opened in the form
    and saved again keeps every number (``0.07`` shows as ``7`` percent, ``123456789`` as
    itself, not ``1.23457e+08``)."""
    if v is None:
        return ""
    f = float(v)
    shown = f * scale
    for digits in range(1, 18):
        text = f"{shown:.{digits}g}"
        if _scaled(text, scale) == f:
            # in plain digits where people write them so (10, not 1e+01)
            return format(Decimal(text), "f") if 1e-5 <= abs(shown) < 1e15 else text
    return repr(shown)  # not reached for finite numbers: 17 digits always round-trip


def _selector_text(v: Any, default: str) -> str:
    if v is None:
        return default
    if isinstance(v, list):
        return ", ".join(map(str, v))
    return str(v)


def with_bundled_ids(
    data: dict[str, Any], bundled_id: Callable[[str], str | None]
) -> dict[str, Any]:
    """``data`` with every bundled product it names by an HS6 code (or any other code the
    dataset resolves: ``bundled_id`` gives the product id, or None for an unknown code) named
    by its product id instead: in its product list, the product lists of its instruments,
    shocks and disruptions, its yearly paths' market and its coalition scopes. The form
    ticks and types products by id, so a product saved by its HS6 code would otherwise be
    left unticked and dropped when the form is saved again. Products with their own flows
    file keep their ids."""

    def named(code: Any) -> Any:
        return (bundled_id(code) or code) if isinstance(code, str) else code

    out = dict(data)
    if isinstance(data.get("product"), list):
        out["product"] = [
            p | {"id": named(p.get("id"))} if isinstance(p, dict) and not p.get("flows") else p
            for p in data["product"]
        ]
    for key in ("policy", "shock", "disruption"):
        if isinstance(data.get(key), list):
            out[key] = [
                t | {"products": [named(c) for c in t["products"]]}
                if isinstance(t, dict) and isinstance(t.get("products"), list)
                else t
                for t in data[key]
            ]
    if isinstance(data.get("paths"), dict) and "product" in data["paths"]:
        out["paths"] = data["paths"] | {"product": named(data["paths"]["product"])}
    coalition = data.get("coalition")
    if isinstance(coalition, dict) and isinstance(coalition.get("scope"), dict):
        out["coalition"] = coalition | {
            "scope": {
                who: scope | {"products": [named(c) for c in scope["products"]]}
                if isinstance(scope, dict) and isinstance(scope.get("products"), list)
                else scope
                for who, scope in coalition["scope"].items()
            }
        }
    return out


def state_from_scenario(data: dict[str, Any], group_ids: set[str]) -> DesignerState:
    """Prefill the form from a scenario dict (a saved scenario or a preset)."""
    zone = data.get("zone") or {}
    members = [str(m) for m in zone.get("members", [])]
    defaults = data.get("defaults") or {}
    origin = zone.get("origin") or {}
    supply = defaults.get("supply_elasticity")
    policies = []
    for pol in data.get("policy", []):
        row = empty_policy()
        row["type"] = str(pol.get("type", ""))
        if row["type"] in ("export_quota", "export_licensing"):
            row["importers"] = "all"  # their default: one cap on total exports
        row["exporters"] = _selector_text(pol.get("exporters"), row["exporters"])
        row["importers"] = _selector_text(pol.get("importers"), row["importers"])
        rest = formcarry.policy_rest(pol)
        row["extra"] = formcarry.dumps(rest | {"type": row["type"]} if rest else {})
        if "grant_share" in pol and "grant_share" not in rest:
            row["grant_pct"] = _fmt_number(pol["grant_share"], 100)
            low_high = pol.get("grant_share_range") or ["", ""]
            row["grant_low_pct"], row["grant_high_pct"] = (
                "" if v == "" else _fmt_number(v, 100) for v in low_high[:2]
            )
        if pol.get("leak_via") is not None:
            row["leak_via"] = _selector_text(pol.get("leak_via"), "")
        for key in ("leak_cost", "leak_share"):
            if key in pol:
                row[f"{key}_pct"] = _fmt_number(pol[key], 100)
        if "rate" in pol:
            row["rate_pct"] = _fmt_number(pol["rate"], 100)
        if "mechanism" in pol:
            row["mechanism"] = str(pol["mechanism"])
        if "price_usd_per_t" in pol:
            row["price"] = _fmt_number(pol["price_usd_per_t"])
        if "share_of_baseline" in pol:
            row["share_pct"] = _fmt_number(pol["share_of_baseline"], 100)
        if pol.get("products"):
            row["products"] = ",".join(pol["products"])
        row["stage"] = str(pol.get("stage") or "")
        row["label"] = str(pol.get("label") or "")
        policies.append(row)
    shocks = []
    for shock in data.get("shock") or []:
        if not isinstance(shock, dict):
            continue
        row = empty_shock()
        row["type"] = str(shock.get("type", ""))
        row["countries"] = _selector_text(shock.get("countries"), row["countries"])
        if "change" in shock:
            row["change_pct"] = _fmt_number(shock["change"], 100)
        if shock.get("products"):
            row["products"] = ",".join(map(str, shock["products"]))
        row["label"] = str(shock.get("label") or "")
        shocks.append(row)
    return DesignerState(
        name=str(data.get("name", "")),
        description=str(data.get("description", "")),
        year=str(data.get("year", 2024)),
        member_groups={m.upper() for m in members if m.upper() in group_ids},
        member_countries={m.upper() for m in members if m.upper() not in group_ids},
        watch={str(w).upper() for w in zone.get("watch", [])},
        products={str(p.get("id")) for p in data.get("product", []) if isinstance(p, dict)},
        chains={str(c.get("id")) for c in data.get("chain", []) if isinstance(c, dict)},
        origin_rule=str(origin.get("rule") or ""),
        origin_threshold_pct=(
            _fmt_number(origin["threshold"], 100) if "threshold" in origin else ""
        ),
        sigma=_fmt_number(defaults.get("sigma")),
        demand_elasticity=_fmt_number(defaults.get("demand_elasticity")),
        supply_elasticity="" if isinstance(supply, dict) else _fmt_number(supply),
        tariffs_baseline=str((data.get("tariffs") or {}).get("baseline") or "none"),
        policies=policies,
        shocks=shocks,
        disruptions=formdisruptions.disruptions_from_scenario(data, _fmt_number, _selector_text),
        paths=formpaths.paths_from_scenario(data, _fmt_number),
        carried=formcarry.dumps(formcarry.scenario_rest(data)),
    )


def state_from_form(form: dict[str, list[str]]) -> DesignerState:
    """Read the submitted form (every field as a list of strings)."""

    def one(key: str, default: str = "") -> str:
        vals = form.get(key) or [default]
        return vals[0].strip()

    def many(key: str) -> set[str]:
        return {v.strip() for v in form.get(key, []) if v.strip()}

    policies = []
    for i in row_indices(form, "policy"):
        row = {f: one(f"policy-{i}-{f}") for f in POLICY_FIELDS}
        row["products"] = ",".join(  # ticked boxes (several values) or one typed list
            v.strip() for v in form.get(f"policy-{i}-products", []) if v.strip()
        )
        policies.append(row)
    shocks = []
    for i in row_indices(form, "shock"):
        row = {f: one(f"shock-{i}-{f}") for f in SHOCK_FIELDS}
        row["products"] = ",".join(
            v.strip() for v in form.get(f"shock-{i}-products", []) if v.strip()
        )
        shocks.append(row)
    return DesignerState(
        name=one("name"),
        description=_text(form.get("description") or [""]),
        year=one("year", "2024"),
        member_groups=many("member_groups"),
        member_countries=many("member_countries"),
        watch=many("watch"),
        products=many("products"),
        chains=many("chains"),
        origin_rule=one("origin_rule"),
        origin_threshold_pct=one("origin_threshold_pct"),
        sigma=one("sigma"),
        demand_elasticity=one("demand_elasticity"),
        supply_elasticity=one("supply_elasticity"),
        tariffs_baseline=one("tariffs_baseline", "none") or "none",
        policies=policies,
        shocks=shocks,
        disruptions=[
            {f: one(f"disruption-{i}-{f}") for f in formdisruptions.DISRUPTION_FIELDS}
            for i in row_indices(form, "disruption")
        ],
        paths={f: one(f"paths-{f}") for f in formpaths.PATHS_FIELDS},
        carried=one("carried"),
    )


def row_indices(form: dict[str, list[str]], prefix: str) -> list[int]:
    """The indices ``i`` of the form's ``<prefix>-<i>-type`` fields, in order: every box the
    page held, also past the number the buttons add (a saved scenario's rows are all shown)
    and with gaps where boxes were removed in the browser."""
    pattern = re.compile(rf"^{prefix}-(\d{{1,5}})-type$")
    return sorted({int(m.group(1)) for key in form if (m := pattern.match(key))})


def _text(values: list[str]) -> str:
    """A multi-line text as typed (a browser sends CRLF line ends); blank -> ""."""
    text = values[0].replace("\r\n", "\n")
    return text if text.strip() else ""


_GROUPED = re.compile(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?")
"""A number written with thousands separators: ``15,000`` or ``1,234,567.5``."""
_SPACED = re.compile(r"[+-]?\d{1,3}([ \u00a0\u202f]\d{3})+(\.\d*)?")
"""A number with spaces between groups of three digits (``15 000``, as SI and much of Europe
write it; also the no-break and narrow no-break spaces a copy from a document brings)."""


def _number(text: str, field_name: str, divisor: float = 1.0) -> float:
    """A typed number (``divisor`` 100: typed in percent, returned as a fraction). Commas and
    spaces are read as thousands separators only where they group digits by three
    (``15,000``, ``15 000``); any
    other comma (``2,5``: a decimal comma in much of Europe) is refused rather than guessed,
    since reading it either way could silently be the wrong number."""
    t = text.strip().replace("_", "")
    if _SPACED.fullmatch(t):
        t = re.sub(r"[ \u00a0\u202f]", "", t)
    if "," in t:
        if not _GROUPED.fullmatch(t):
            raise ScenarioError(
                field_name,
                f"expected a number, got {text!r}: write decimals with a point (2.5) and "
                "thousands with commas in groups of three (15,000) or without them",
            )
        t = t.replace(",", "")
    try:
        value = float(t)
    except ValueError:
        hint = (
            "it was left empty"
            if not t
            else "type the number alone, without a unit or currency (15000, 15,000 or 15 000)"
        )
        raise ScenarioError(field_name, f"expected a number, got {text!r}: {hint}") from None
    if not math.isfinite(value):
        raise ScenarioError(field_name, f"expected a finite number, got {text!r}")
    return _scaled(t, divisor)


def typed_number(text: str, field_name: str) -> float:
    """A number typed in another page's form (the sweep's range), read as the designer reads
    its own (:func:`_number`)."""
    return _number(text, field_name)


def shown_number(v: float) -> str:
    """A number for another page's form (the sweep's default range), shown as the designer
    shows its own (:func:`_fmt_number`: every digit that :func:`typed_number` needs)."""
    return _fmt_number(v)


def _scaled(text: str, divisor: float) -> float:
    """The number ``text`` divided by ``divisor`` in decimal, then rounded once to a float:
    ``33.333333`` percent is exactly the fraction ``0.33333333`` (``33.333333 / 100`` in
    floating point is not), so that a fraction shown in percent reads back as itself."""
    if divisor == 1.0:
        return float(text)
    return float(Decimal(text) / Decimal(divisor))


def _selector(text: str, field_name: str) -> str | list[str]:
    t = text.strip()
    if not t:
        raise ScenarioError(field_name, "choose all, members, non-members or list countries")
    if t.lower() in SELECTOR_WORDS:
        return t.lower()
    return [s.strip() for s in t.replace(";", ",").split(",") if s.strip()]


def _product_ids(text: str, field_name: str, names: dict[str, str]) -> list[str]:
    """Comma-separated product names or ids -> ids (``names``: lower-case name or id -> id)."""
    out = []
    for item in (p.strip() for p in text.split(",")):
        if not item:
            continue
        pid = names.get(item.lower())
        if pid is None:
            raise ScenarioError(
                field_name,
                f"no product called {item!r}; pick one from the list (names or ids of the "
                "bundled products)",
            )
        out.append(pid)
    return out


def _typed_products(text: str, field_name: str, product_names: dict[str, str] | None) -> list[str]:
    """An instrument's or a shock's products as ticked or typed: ids through ``product_names``
    (:func:`_product_ids`), or as typed where no names are given; [] = every product."""
    if product_names is not None:
        return _product_ids(text, field_name, product_names)
    return [p.strip() for p in text.split(",") if p.strip()]


def scenario_from_state(
    state: DesignerState, product_names: dict[str, str] | None = None
) -> dict[str, Any]:
    """The scenario dict the form describes (validated afterwards by Scenario.from_dict).
    ``product_names`` maps lower-case product names and ids to ids (instrument products may be
    typed either way); without it, ids are taken as typed. A refused field raises its
    :class:`ScenarioError`, several a :class:`~critmin.errors.ScenarioErrors` that lists
    them all (:func:`read_scenario`)."""
    data, refused = read_scenario(state, product_names)
    raise_refused(refused)
    return data


def read_scenario(
    state: DesignerState, product_names: dict[str, str] | None = None
) -> tuple[dict[str, Any], list[ScenarioError]]:
    """The scenario dict the form describes and the error of every field it refuses, read to
    the end (:class:`~critmin.web.formrefusals.Refusals`): a refused field is left out of the
    dict, which holds everything else, so that the scenario model can check the rest."""
    r = Refusals()
    rest = r.read(formcarry.loads, state.carried, "carried") or {}
    data: dict[str, Any] = {"name": state.name or "My zone"}
    if state.description:
        data["description"] = state.description
    r.put(data, "year", _year, state.year)
    data["zone"] = {
        "members": sorted(state.member_groups) + sorted(state.member_countries),
        "watch": sorted(state.watch),
    }
    if state.origin_rule:  # rules of origin of the chains' processed stages
        origin: dict[str, Any] = {"rule": state.origin_rule}
        if state.origin_threshold_pct:
            r.put(
                origin,
                "threshold",
                _number,
                state.origin_threshold_pct,
                "zone.origin.threshold",
                100,
            )
        data["zone"]["origin"] = origin
    defaults: dict[str, float] = {}
    for key in ("sigma", "demand_elasticity", "supply_elasticity"):
        text = getattr(state, key)
        if text:
            r.put(defaults, key, _number, text, f"defaults.{key}")
    if defaults:
        data["defaults"] = defaults
    data["product"] = formcarry.merge_entries("product", state.products, rest)
    if state.chains:  # every stage of a catalog chain, solved as one system
        data["chain"] = formcarry.merge_entries("chain", state.chains, rest)
    if state.tariffs_baseline not in {v for v, _ in TARIFF_BASELINES}:
        r.refuse("tariffs.baseline", "must be none or curated")
    elif state.tariffs_baseline != "none":
        data["tariffs"] = {"baseline": state.tariffs_baseline}
    policies: list[dict[str, Any]] = []
    for row in state.policies:
        if row.get("type", ""):
            policies.append(_policy(row, f"policy[{len(policies)}]", product_names, r))
    data["policy"] = policies
    shocks = _shocks(state.shocks, product_names, r)
    if shocks:
        data["shock"] = shocks
    disruptions = formdisruptions.disruption_tables(state.disruptions, _selector, _number, r)
    if disruptions:
        data["disruption"] = disruptions
    paths = formpaths.paths_table(
        state.paths, state.products, state.chains, _number, product_names, r
    )
    if paths is not None:
        data["paths"] = paths
    return formcarry.apply_rest(data, rest), r.errors


def _year(text: str) -> int:
    """The trade year as typed."""
    try:
        return int(text)
    except ValueError:
        raise ScenarioError("year", f"expected a year, got {text!r}") from None


def _policy(
    row: dict[str, str], f: str, product_names: dict[str, str] | None, r: Refusals
) -> dict[str, Any]:
    """The ``[[policy]]`` table of one instrument box (``f``: its field, ``policy[k]``), its
    refused fields left out and kept in ``r``."""
    kind = row["type"]
    extra = r.read(formcarry.loads, row.get("extra", ""), f"{f}.type") or {}
    if extra.pop("type", kind) != kind:  # the type was changed: the old type's keys go
        extra = {}
    pol: dict[str, Any] = {"type": kind}
    if kind not in formcarry.EDITED_POLICY and extra:
        pass  # a type the form does not know: every key kept as saved
    elif kind not in formcarry.EDITED_POLICY:
        r.refuse(f"{f}.type", f"unknown instrument {kind!r}")
    elif kind == "price_floor":
        pol["mechanism"] = row.get("mechanism") or "variable_levy"
        r.put(pol, "price_usd_per_t", _number, row.get("price", ""), f"{f}.price_usd_per_t")
    else:
        for side in ("exporters", "importers"):
            r.put(pol, side, _selector, row.get(side, ""), f"{f}.{side}")
    if kind == "tariff":
        r.put(pol, "rate", _number, row.get("rate_pct", ""), f"{f}.rate", 100)
    elif kind == "export_quota":
        pct = row.get("share_pct", "")
        r.put(pol, "share_of_baseline", _number, pct, f"{f}.share_of_baseline", 100)
    elif kind == "export_licensing" and "grant_share" not in extra:
        pol.update(_grant_share(row, f, r))  # else a table by destination, kept as saved
    products = r.read(_typed_products, row.get("products", ""), f"{f}.products", product_names)
    if products:
        pol["products"] = products
    if row.get("stage"):  # a chain's stage (mine, refine, product) or a stage's product id
        pol["stage"] = row["stage"]
    if row.get("label"):
        pol["label"] = row["label"]
    if kind in LEAKY_TYPES:
        pol.update(_leakage(row, f, r))
    return pol | {k: v for k, v in extra.items() if k not in pol}


def _shocks(
    rows: list[dict[str, str]], product_names: dict[str, str] | None, r: Refusals
) -> list[dict[str, Any]]:
    """The ``[[shock]]`` tables of the form's rows (a blank row without a type is skipped;
    one filled in without a type is refused): the
    countries as a selector, the change typed in percent (+10 = 10% more demand or output
    at every price), the products by name or id (none: every product of the scenario).
    Refused fields are left out and kept in ``r``."""
    out: list[dict[str, Any]] = []
    for position, row in enumerate(rows):
        kind = row.get("type", "")
        if not kind:
            if shock_filled(row):  # a box filled in but left at "none" is not dropped
                r.refuse(
                    f"shock[{position}].type",
                    "choose demand or supply: this shock's countries or change are filled in",
                )
            continue
        f = f"shock[{len(out)}]"
        if kind not in {t for t, _ in SHOCK_TYPES if t}:
            r.refuse(f"{f}.type", f"must be demand or supply, got {kind!r}")
        shock: dict[str, Any] = {"type": kind}
        r.put(shock, "countries", _selector, row.get("countries", ""), f"{f}.countries")
        r.put(shock, "change", _number, row.get("change_pct", ""), f"{f}.change", 100)
        products = r.read(_typed_products, row.get("products", ""), f"{f}.products", product_names)
        if products:
            shock["products"] = products
        if row.get("label"):
            shock["label"] = row["label"]
        out.append(shock)
    return out


def _grant_share(row: dict[str, str], f: str, r: Refusals) -> dict[str, Any]:
    """A licence's grant share and its optional range, typed in percent (refused fields left
    out and kept in ``r``)."""
    out: dict[str, Any] = {}
    r.put(out, "grant_share", _number, row.get("grant_pct", ""), f"{f}.grant_share", 100)
    low, high = row.get("grant_low_pct", ""), row.get("grant_high_pct", "")
    if low or high:
        if not (low and high):
            r.refuse(
                f"{f}.grant_share_range", "give both ends of the range (low and high), or none"
            )
            return out
        ends = [r.read(_number, end, f"{f}.grant_share_range", 100) for end in (low, high)]
        if None not in ends:
            out["grant_share_range"] = ends
    return out


def _leakage(row: dict[str, str], f: str, r: Refusals) -> dict[str, Any]:
    """Leakage of a ban, quota or licence through third countries (docs/controls.md):
    ``leak_via`` and, typed in percent, ``leak_cost`` and ``leak_share`` (refused fields left
    out and kept in ``r``)."""
    out: dict[str, Any] = {}
    if row.get("leak_via", "").strip():
        r.put(out, "leak_via", _selector, row["leak_via"], f"{f}.leak_via")
    for key in ("leak_cost", "leak_share"):
        if row.get(f"{key}_pct", "").strip():
            r.put(out, key, _number, row[f"{key}_pct"], f"{f}.{key}", 100)
    return out


# ----------------------------------------------------------------------------- pickers


def picker_options(
    countries: list[dict[str, Any]],
    groups: list[dict[str, Any]],
    products: list[dict[str, Any]],
    chains: list[dict[str, Any]] | None = None,
) -> dict[str, list[dict[str, str]]]:
    """Options of the designer's searchable pickers: ``value`` (what the form sends),
    ``main`` and ``sub`` (what is shown: a group's full name and source, a product's name,
    mineral, stage and HS code) and ``search`` (the words a search matches)."""
    return {
        "groups": [
            {
                "value": g["id"],
                "main": f"{g['id']} — {g['name']}",
                "sub": f"{len(g['members'])} countries · source: {g['citation']}"
                + (f" (as of {g['as_of']})" if g.get("as_of") else ""),
                "search": " ".join([g["id"], g["name"], g["citation"], *g["members"]]),
            }
            for g in groups
        ],
        "countries": [
            {
                "value": c["iso3"],
                "main": c["name"],
                "sub": c["iso3"] + (f" · in {', '.join(c['groups'])}" if c["groups"] else ""),
                "search": f"{c['name']} {c['iso3']}",
            }
            for c in sorted(countries, key=lambda c: str(c["name"]))
        ],
        "products": [
            {
                "value": p["product_id"],
                "main": str(p["name"]),
                "sub": f"{str(p['mineral']).replace('_', ' ')} · {p['stage']} stage · HS {p['hs6']}",
                "search": f"{p['name']} {p['mineral']} {p['stage']} {p['hs6']} {p['product_id']}",
            }
            for p in sorted(products, key=lambda p: (str(p["mineral"]), str(p["name"])))
        ],
        "chains": [
            {
                "value": c["id"],
                "main": f"{str(c['mineral']).replace('_', ' ').capitalize()} chain ({c['id']})",
                "sub": " → ".join(
                    f"{st['stage']}: {', '.join(st['products'])}" for st in c["steps"]
                ),
                "search": " ".join(
                    [c["id"], c["mineral"], *(p for st in c["steps"] for p in st["products"])]
                ),
            }
            for c in chains or []
        ],
    }


def stage_choices(
    stages: list[dict[str, str]],
    chains: list[dict[str, Any]],
    products: list[dict[str, Any]],
) -> list[tuple[str, list[tuple[str, str]]]]:
    """The instrument's *chain stage* choices, as ``[(group label, [(value, text)])]``: every
    stage of the chains (``mine``, ``refine``, ``product``), then each chain's products by
    step (a policy's ``stage`` may name either; blank = every market of the scenario)."""
    names = {str(p["product_id"]): str(p["name"]) for p in products}
    out = [("Stage of every chain", [(s["id"], f"{s['id']}: {s['name'].lower()}") for s in stages])]
    for c in chains:
        label = f"{str(c['mineral']).replace('_', ' ').capitalize()} chain ({c['id']})"
        items = [
            (pid, f"step {st['step']} {st['stage']}: {names.get(pid, pid)}")
            for st in c["steps"]
            for pid in st["products"]
        ]
        out.append((label, items))
    return out


PRESETS: dict[str, dict[str, Any]] = {
    "lithium-floor-levy": {
        "name": "Zone core: lithium carbonate floor by variable levy",
        "description": "USD 15,000/t reference price on lithium carbonate; non-member imports "
        "topped up by a variable levy",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "lithium_carbonate"}],
        "policy": [{"type": "price_floor", "mechanism": "variable_levy", "price_usd_per_t": 15000}],
    },
    "lithium-floor-subsidy": {
        "name": "Zone core: lithium carbonate floor by producer subsidy",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "lithium_carbonate"}],
        "policy": [
            {"type": "price_floor", "mechanism": "producer_subsidy", "price_usd_per_t": 15000}
        ],
    },
    "china-ban": {
        "name": "China bans gallium, germanium and magnet exports to the zone",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "gallium_germanium"}, {"id": "permanent_magnets"}],
        "policy": [{"type": "export_ban", "exporters": ["CHN"], "importers": "members"}],
    },
    "drc-cobalt-quota": {
        "name": "DRC caps cobalt exports at 60% of baseline",
        "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
        "product": [{"id": "cobalt_oxides"}],
        "policy": [{"type": "export_quota", "exporters": ["COD"], "share_of_baseline": 0.6}],
    },
    "lithium-chain-refine-floor": {
        "name": "Lithium chain: floor on refined lithium, 40% value-content rule",
        "description": "USD 15,000/t variable-levy floor at the refine stage of the lithium chain "
        "(ores -> carbonate and hydroxide solved together); member refiners qualify only with "
        "at least 40% member-origin value (examples/chains/lithium_floor_refined_origin.toml)",
        "zone": {
            "members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"],
            "watch": ["CHN"],
            "origin": {"rule": "rvc", "threshold": 0.4},
        },
        "chain": [{"id": "lithium"}],
        "policy": [
            {
                "type": "price_floor",
                "mechanism": "variable_levy",
                "stage": "refine",
                "price_usd_per_t": 15000,
            }
        ],
    },
}
PRESET_LABELS = {
    "lithium-floor-levy": "Lithium floor (variable levy)",
    "lithium-floor-subsidy": "Lithium floor (producer subsidy)",
    "china-ban": "China bans gallium & magnets",
    "drc-cobalt-quota": "DRC cobalt export quota",
    "lithium-chain-refine-floor": "Lithium chain: floor at refine",
}
