"""The designer's error messages in plain words, next to the field they are about.

A :class:`critmin.errors.ScenarioError` names a scenario field (``policy[1].rate``); the
designer shows the message beside the form element that field is typed in
(:func:`form_anchor`), labelled as the page labels it (:func:`field_label`), in the form's
own units (percent) and without pydantic's phrasing (:func:`plain_words`):
:func:`field_errors` gives ``{element id: message}``. Split from :mod:`critmin.web.forms`
(which builds the form's state and the scenario) to keep each module to one job.
"""

from __future__ import annotations

import re
from decimal import Decimal

_PCT_FIELDS = (
    ".rate",
    ".share_of_baseline",
    "origin.threshold",
    ".grant_share",
    ".grant_share_range",
    ".leak_cost",
    ".leak_share",
    ".change",
    ".probability",
)
_FORM_NAMES = {
    "rate": "rate_pct",
    "price_usd_per_t": "price",
    "share_of_baseline": "share_pct",
    "grant_share": "grant_pct",
    "grant_share_range": "grant_low_pct",
    "leak_cost": "leak_cost_pct",
    "leak_share": "leak_share_pct",
}
_PATHS_NAMES = {
    "floor_usd_per_t": "floor",
    "product": "product",
    "years": "years",
    "start_year": "start",
}
"""``[paths]`` keys -> the designer's *Yearly paths* fields (``paths-<name>``); any other key
of the table (carried as saved) is shown at the floor."""
_PLAIN = [  # pydantic's phrasing, and the scenario layer's own ("must have at least 1 ...")
    (r"List should have at least 1 item after validation, not 0", "choose at least one"),
    (r"must have at least 1 item\(s\), got none", "choose at least one"),
    (r"at least 1 product or chain is required", "choose at least one product or chain"),
    (r"List should have at most (\d+) items? after validation, not (\d+)", r"choose at most \1"),
    (r"(?:Input should be|must be) a valid number.*", "must be a number"),
    (r"(?:Input should be|must be) a valid integer.*", "must be a whole number"),
    (r"Input should be greater than or equal to (\S+)", r"must be at least \1"),
    (r"Input should be greater than (\S+)", r"must be more than \1"),
    (r"must be greater than (.+)", r"must be more than \1"),
    (r"Input should be less than or equal to (\S+)", r"must be at most \1"),
    (r"Input should be less than (\S+)", r"must be less than \1"),
    (r"String should have at least 1 character", "must not be empty"),
    (r"String should have at most (\d+) characters?", r"must be at most \1 characters long"),
    (r"Input should be '([^']+)' or '([^']+)'", r"must be \1 or \2"),
]
_NUMBER = r"(-?[0-9.]+(?:[eE][+-]?[0-9]+)?)"
_BOUND = re.compile(
    rf"^(must be (?:at least|more than|at most|less than)) {_NUMBER}(?:, got {_NUMBER})?$"
)


_GRANT_SHARE = re.compile(
    rf"^grant_share must be a share of baseline exports between 0 and 1, got {_NUMBER}$"
)


def plain_words(field_name: str, problem: str) -> str:
    """A validation message in plain words; bounds of fields typed in percent are shown in
    percent (``rate`` <= 1 -> "at most 100%")."""
    text = problem
    for pattern, replacement in _PLAIN:
        text = re.sub(f"^{pattern}$", replacement, text)
    grant = _GRANT_SHARE.match(text)  # the licence's own check, in the form's percent
    if grant:
        return f"must be between 0% and 100%, got {_percent(grant.group(1))}%"
    bound = _BOUND.match(text)
    if bound and field_name.endswith(_PCT_FIELDS):
        text = f"{bound.group(1)} {_percent(bound.group(2))}%"
        if bound.group(3) is not None:
            text += f", got {_percent(bound.group(3))}%"
    return text


def _percent(fraction: str) -> str:
    """A fraction written as text, in percent with every digit it has (``1.000001`` ->
    ``100.0001``): rounded to six digits, a value just past a bound read as the bound."""
    return format(Decimal(fraction).scaleb(2).normalize(), "f")


def form_anchor(field_name: str) -> str:
    """The form element a scenario field is entered in (its ``id``, or the picker's)."""
    policy = re.match(r"^policy\[(\d+)\](?:\.(\w+))?", field_name)
    if policy:
        k, attr = int(policy.group(1)), policy.group(2)
        if attr is None:
            return f"policy-{k}-type"
        return f"policy-{k}-{_FORM_NAMES.get(attr, attr)}"
    shock = re.match(r"^shock\[(\d+)\](?:\.(\w+))?", field_name)
    if shock:
        k, attr = int(shock.group(1)), shock.group(2) or "type"
        return f"shock-{k}-{'change_pct' if attr == 'change' else attr}"
    if field_name == "shock":  # about the shocks as a whole (e.g. on a chain's stage)
        return "shocks"
    disruption = re.match(r"^disruption\[(\d+)\](?:\.(\w+))?", field_name)
    if disruption:
        k, attr = int(disruption.group(1)), disruption.group(2) or "exporters"
        attr = {"probability": "probability_pct"}.get(attr, attr)
        return f"disruption-{k}-{attr if attr in _DISRUPTION_SHOWN else 'kept'}"
    if field_name == "disruption":
        return "disruptions"
    if field_name.startswith("zone.watch"):
        return "watch"
    if field_name.startswith("zone.origin"):
        return "origin_threshold_pct" if field_name.endswith("threshold") else "origin_rule"
    if field_name.startswith("zone"):
        return "members"
    if field_name.startswith("product"):
        return "products"
    if field_name.startswith("chain"):
        return "chains"
    if field_name.startswith("tariffs"):
        return "tariffs_baseline"
    if field_name.startswith("paths"):
        key = field_name.split(".", 1)[1] if "." in field_name else ""
        return "paths-" + _PATHS_NAMES.get(key, "floor")
    if field_name.startswith("defaults."):
        return field_name.split(".", 1)[1].split(".")[0]
    if field_name.startswith("defaults"):
        return "elasticities"
    if field_name in ("name", "description", "year"):
        return field_name
    return "designer-form"


_LABELS = {
    "name": "Name",
    "description": "Description",
    "year": "Trade year",
    "members": "Zone members",
    "watch": "Watch countries",
    "products": "Products",
    "chains": "Chains",
    "origin_rule": "Rule of origin",
    "origin_threshold_pct": "Rule of origin, threshold",
    "elasticities": "Elasticities",
    "sigma": "Substitution σ",
    "demand_elasticity": "Demand elasticity",
    "supply_elasticity": "Supply elasticity",
    "tariffs_baseline": "Baseline tariffs",
    "shocks": "Market shocks",
    "disruptions": "Disruption risk",
    "paths-floor": "Yearly paths, floor",
    "paths-product": "Yearly paths, market",
    "paths-years": "Yearly paths, years",
    "paths-start": "Yearly paths, floor from",
}
_POLICY_LABELS = {
    "type": "type",
    "mechanism": "mechanism",
    "price": "floor price",
    "exporters": "exporters",
    "importers": "importers",
    "rate_pct": "tariff rate",
    "share_pct": "cap",
    "products": "products",
    "stage": "chain stage",
    "grant_pct": "grant share",
    "grant_low_pct": "grant share range",
    "leak_via": "leaks via",
    "leak_cost_pct": "leak extra cost",
    "leak_share_pct": "leak share",
}


_SHOCK_LABELS = {"change_pct": "change"}  # the others: the field's name
_DISRUPTION_SHOWN = {"exporters", "importers", "probability_pct", "year"}
_DISRUPTION_LABELS = {"probability_pct": "probability", "kept": "a key kept as saved"}
"""``kept``: the keys of a saved disruption the form has no field for (``products``,
``stage``, ...), carried as saved; an error in one is shown under the row, naming the key."""


def field_label(anchor: str) -> str:
    """The words for a form element (:func:`form_anchor`): ``policy-0-rate_pct`` ->
    ``Instrument 1, tariff rate``; ``shock-0-change_pct`` -> ``Market shock 1, change``."""
    policy = re.match(r"^policy-(\d+)-(\w+)$", anchor)
    if policy:
        part = _POLICY_LABELS.get(policy.group(2), policy.group(2).replace("_", " "))
        return f"Instrument {int(policy.group(1)) + 1}, {part}"
    disruption = re.match(r"^disruption-(\d+)-(\w+)$", anchor)
    if disruption:
        part = _DISRUPTION_LABELS.get(disruption.group(2), disruption.group(2).replace("_", " "))
        return f"Disruption {int(disruption.group(1)) + 1}, {part}"
    shock = re.match(r"^shock-(\d+)-(\w+)$", anchor)
    if shock:
        part = _SHOCK_LABELS.get(shock.group(2), shock.group(2).replace("_", " "))
        return f"Market shock {int(shock.group(1)) + 1}, {part}"
    return _LABELS.get(anchor, "The scenario")


def field_errors(field_name: str, problem: str) -> dict[str, str]:
    """``{form element id: message in plain words}`` for one validation error (an
    instrument-wide error that starts with one of its keys, e.g. "grant_share_range must ...",
    is shown next to that key's field; so is an error of the defaults that names one
    elasticity, "sigma must be greater than 1 ...")."""
    whole = re.match(r"^policy\[\d+\]$", field_name)
    key = re.match(r"^(grant_share_range|grant_share|leak_via|leak_cost|leak_share)\b", problem)
    if whole and key:
        field_name = f"{field_name}.{key.group(1)}"
    default = re.match(r"^(sigma|demand_elasticity|supply_elasticity) (must .*)$", problem)
    if field_name == "defaults" and default:  # the defaults' own check names the elasticity
        field_name, problem = f"defaults.{default.group(1)}", default.group(2)
    anchor = form_anchor(field_name)
    words = plain_words(field_name, problem)
    if anchor.endswith("-kept"):  # name the key, which has no field of its own
        words = f"{field_name.rsplit('.', 1)[-1]}: {words}"
    return {anchor: words}


def form_errors(problems: list[tuple[str, str]]) -> dict[str, str]:
    """``{form element id: message}`` for every refused field, in order, from ``(scenario
    field, problem)`` pairs: the form's own refusals first, then the scenario model's. Where
    two name the same element (a number the form refused, then reported missing by the
    model), the first is kept."""
    out: dict[str, str] = {}
    for field_name, problem in problems:
        for anchor, words in field_errors(field_name, problem).items():
            out.setdefault(anchor, words)
    return out
