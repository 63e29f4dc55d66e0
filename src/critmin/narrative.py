"""The answer first: a written paragraph and the key figures, generated from simulation results.

:func:`headline` takes the results contract (``SimulationResult.to_dict()``) and returns a
:class:`Headline`: one paragraph in plain words (what happens to the zone's supply security,
to consumer prices inside and outside the zone, who pays and how much, who gains) and the key
figures behind it, each with its unit. The report, the dashboard, the terminal summary and the
notebook view (``SimulationResult._repr_html_``) all show this, so they say the same thing.

Cross-product figures (a scenario with several products) are exact aggregates of the same
definitions the per-product results use:

- self-sufficiency = sum_k sum_{i,j in zone} V_kij x_kij / sum_k sum_{i, j in zone} V_kij x_kij
  (member purchases met by members, quantities valued at baseline producer prices; one product
  gives exactly its ``zone.self_sufficiency``); the watch share likewise with i in watch;
- consumer price change = sum_k sum_{j in group} E_kj dP_kj / sum_k sum_{j in group} E_kj
  (baseline purchases E as weights, as in each product's ``summary``);
- welfare and its parts (consumer surplus, producer surplus, tariff/levy revenue, quota rent,
  subsidy cost) are sums over the countries of the group; welfare = consumer surplus +
  producer surplus + revenue + quota rent - subsidy cost (DESIGN.md, "Welfare").

Linked chains (``results["chains"]``, docs/model.md "Linked chains") get their own sentences
(:func:`chain_sentences`): which stage's zone producers capture the gain (the contract's
``captured_by_stage``), buyer price changes per stage in the zone and outside, and the chain's
welfare (zone, outside, world; the sum over its stages). :func:`chain_region_flows` sums each
stage's trade between the zone and the rest of the world (the chain diagram's flows).

Units: shares are fractions (0-1) in :attr:`KeyFigure.value`, changes are in percent where the
key ends in ``_pct``, money in USD; :attr:`KeyFigure.text` is the human form (% for shares and
changes).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import lru_cache
from html import escape
from typing import Any

from critmin.errors import CritminError, did_you_mean
from critmin.note_kinds import SHOWN, names_listed
from critmin.numbers import pct, share, share_pair, telling_digits, usd

# welfare parts in the order of the identity: welfare = cs + ps + revenue + rent - subsidy
WELFARE_PARTS: tuple[tuple[str, str], ...] = (
    ("consumer_surplus_change_usd", "consumer surplus"),
    ("producer_surplus_change_usd", "producer surplus"),
    ("tariff_revenue_change_usd", "tariff / levy revenue"),
    ("quota_rent_usd", "quota rent"),
    ("subsidy_cost_usd", "subsidy cost"),
    ("welfare_change_usd", "welfare"),
)
GROUPS = ("zone", "outside", "world")
# below these a change is reported as "unchanged" (0.005 percentage points, USD 0.5)
PCT_EPS = 0.005
USD_EPS = 0.5
PCT_NOISE = 1e-6
"""A price change (%) below this is rounding noise: "unchanged"; one between this and
:data:`PCT_EPS` is real but rounds to 0.00%, and the answer says how small it is
(:func:`_change`) rather than calling it no change."""


@dataclass(frozen=True)
class KeyFigure:
    """One number of the answer: ``value`` in ``unit`` (``share`` = fraction 0-1, ``%`` = a
    percent change, ``USD``), ``baseline`` when the figure compares before and after."""

    key: str
    label: str
    value: float | None
    unit: str
    text: str
    baseline: float | None = None
    note: str = ""


@dataclass(frozen=True)
class Headline:
    """The written answer and its key figures."""

    paragraph: str
    figures: list[KeyFigure]
    welfare: dict[str, dict[str, float | None]] = field(default_factory=dict)
    products: int = 0
    converged: int = 0
    chains: dict[str, str] = field(default_factory=dict)
    """The written answer of each linked chain by chain id (:func:`chain_paragraph`); the
    ``paragraph`` ends with them."""

    def figure(self, key: str) -> KeyFigure:
        """The key figure called ``key``; a :class:`CritminError` naming the keys when there is
        none (it was a bare ``KeyError``)."""
        for f in self.figures:
            if f.key == key:
                return f
        keys = [f.key for f in self.figures]
        raise CritminError(
            f"unknown key figure {key!r}{did_you_mean(str(key), keys)}; "
            f"expected one of {', '.join(keys)}"
        )

    def to_html(self) -> str:
        """The paragraph and a table of the key figures as an HTML fragment (notebooks)."""
        rows = "".join(
            f"<tr><td>{escape(f.label)}</td><td style='text-align:right'>{escape(f.text)}</td>"
            f"<td style='color:#6b7280'>{escape(f.note)}</td></tr>"
            for f in self.figures
        )
        return (
            f"<div class='critmin-headline'><p>{escape(self.paragraph)}</p>"
            f"<table><thead><tr><th>Key figure</th><th>Value</th><th></th></tr></thead>"
            f"<tbody>{rows}</tbody></table></div>"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "paragraph": self.paragraph,
            "figures": [asdict(f) for f in self.figures],
            "welfare": self.welfare,
            "products": self.products,
            "converged": self.converged,
            "chains": self.chains,
        }


@lru_cache(maxsize=512)
def country_label(iso3: str | None) -> str:
    """Display name of a country code, or the code itself when critmin does not know it."""
    from critmin.countries import country_name
    from critmin.errors import CritminError

    if not iso3:
        return "-"
    try:
        return country_name(iso3)
    except CritminError:
        return iso3


def _group_of(row: dict[str, Any]) -> str:
    return "zone" if row.get("member") else "outside"


def all_converged(results: dict[str, Any]) -> bool:
    """Whether every product's solve converged: a total over products is a result only then
    (a product that did not converge has no result numbers; see :func:`paragraph`)."""
    return all(p["converged"] for p in results["products"].values())


def welfare_parts(results: dict[str, Any]) -> dict[str, dict[str, float | None]]:
    """``{"zone"|"outside"|"world": {part key: USD}}`` summed over every product and country.

    A part is ``None`` when no country has a value for it, when a country of the group has
    none (a buyer cut off from every supplier: its consumer surplus change is unbounded), or
    when a product did not converge: a sum that leaves out an undefined term is not the
    total, so it is not shown as one."""
    sums: dict[str, dict[str, float | None]] = {
        g: dict.fromkeys(k for k, _ in WELFARE_PARTS) for g in GROUPS
    }
    if not all_converged(results):
        return sums
    undefined: set[tuple[str, str]] = set()
    for p in results["products"].values():
        for row in p["countries"].values():
            for g in (_group_of(row), "world"):
                acc = sums[g]
                for key, _ in WELFARE_PARTS:
                    v = row.get(key)
                    if v is None:
                        undefined.add((g, key))
                    else:
                        acc[key] = (acc[key] or 0.0) + float(v)
    for g, key in undefined:
        sums[g][key] = None
    return sums


def zone_shares(results: dict[str, Any]) -> dict[str, float | None]:
    """Self-sufficiency and watch share of zone demand, baseline and scenario, over all products
    (see the module docstring); ``None`` when the zone buys nothing."""
    members, watch = set(results["members"]), set(results["watch"])
    base = {"demand": 0.0, "members": 0.0, "watch": 0.0}
    scen = {"demand": 0.0, "members": 0.0, "watch": 0.0}
    unknown = not all_converged(results)
    for p in results["products"].values():
        for f in p["flows"]:
            if f["importer"] not in members:
                continue
            v = float(f["baseline_value_usd"])
            q = f.get("quantity_change_pct")
            if q is None and v > 0:  # a flow of the baseline whose change is undefined
                unknown = True
            x = 0.0 if q is None else 1.0 + float(q) / 100.0
            for acc, amount in ((base, v), (scen, v * x)):
                acc["demand"] += amount
                if f["exporter"] in members:
                    acc["members"] += amount
                if f["exporter"] in watch:
                    acc["watch"] += amount

    def ratio(acc: dict[str, float], key: str) -> float | None:
        return acc[key] / acc["demand"] if acc["demand"] > 0 else None

    return {
        "self_sufficiency_baseline": ratio(base, "members"),
        "self_sufficiency": None if unknown else ratio(scen, "members"),
        "watch_share_baseline": ratio(base, "watch"),
        "watch_share": None if unknown else ratio(scen, "watch"),
    }


def price_changes(results: dict[str, Any]) -> dict[str, float | None]:
    """Consumer price change (%) inside and outside the zone, weighted by baseline purchases
    over every product and country."""
    num = {"zone": 0.0, "outside": 0.0}
    den = {"zone": 0.0, "outside": 0.0}
    undefined = {"zone": False, "outside": False}
    for p in results["products"].values():
        for row in p["countries"].values():
            dp, w = (
                row.get("consumer_price_change_pct"),
                float(row.get("baseline_purchases_usd") or 0),
            )
            if w <= 0:
                continue
            g = _group_of(row)
            if dp is None or not p["converged"]:  # a buyer cut off, or no result
                undefined[g] = True
                continue
            num[g] += w * float(dp)
            den[g] += w

    def average(g: str) -> float | None:
        return None if undefined[g] or den[g] <= 0 else num[g] / den[g]

    return {
        "zone_consumer_price_change_pct": average("zone"),
        "outside_consumer_price_change_pct": average("outside"),
    }


def country_welfare(results: dict[str, Any]) -> dict[str, float]:
    """Welfare change (USD) of each country summed over products (those whose welfare is
    undefined in a product are left out: see :func:`undefined_welfare`)."""
    out: dict[str, float] = {}
    for p in results["products"].values():
        if not p["converged"]:  # no result numbers
            continue
        for code, row in p["countries"].items():
            v = row.get("welfare_change_usd")
            if v is not None:
                out[code] = out.get(code, 0.0) + float(v)
    return out


def undefined_welfare(results: dict[str, Any]) -> list[str]:
    """Countries whose welfare change is undefined (``None``) in a converged product, sorted:
    a buyer cut off from every supplier (``P = inf``: an unbounded consumer surplus loss for
    ``eta <= 1``) or a numerical failure, each with its warning in the notes. A sum over the
    other products is not their welfare, so they are not ranked among the gains and losses."""
    return sorted(
        {
            code
            for p in results["products"].values()
            if p["converged"]
            for code, row in p["countries"].items()
            if row.get("welfare_change_usd") is None
        }
    )


# ----------------------------------------------------------------------------- words


def _money(v: float | None) -> str:
    return "an unknown amount" if v is None else f"USD {usd(abs(v))}"


def _move(label: str, before: float | None, after: float | None, of: str = "") -> str:
    """``'zone self-sufficiency rises from 25.7% to 29.4%'`` (shares as %), then ``of``
    (``' of zone demand'``) where it is measured. Without a baseline share the zone buys
    none of the goods; without a scenario share there is no result (a product that did not
    converge, buyers cut off)."""
    if before is None:
        return f"{label} cannot be measured (the zone buys none of it)"
    if after is None:
        return f"{label} cannot be measured (no result for it)"
    if abs(after - before) * 100 < PCT_EPS:
        return f"{label} stays at {share(after)}{of}"
    verb = "rises" if after > before else "falls"
    a, b = share_pair(before, after)
    return f"{label} {verb} from {a} to {b}{of}"


def _change(v: float | None) -> str:
    """``'rise 8.62%'``, ``'fall 0.33%'``, ``'fall by less than 0.01%'`` (a real change that
    two decimals round to 0), ``'are unchanged'`` (below :data:`PCT_NOISE`) for a percent
    change."""
    if v is None:
        return "cannot be measured"
    if abs(v) < PCT_NOISE:
        return "are unchanged"
    verb = "rise" if v > 0 else "fall"
    if abs(v) < PCT_EPS:
        return f"{verb} by less than 0.01%"
    return f"{verb} {pct(abs(v)).lstrip('+')}"


def pct_figure(v: float | None) -> str:
    """A key figure's percent change: :func:`critmin.numbers.pct` with two decimals, or as many
    more (up to four) as a real change needs not to read ``+0.00%`` (``-0.0015%`` is
    ``-0.001%``, with its sign); rounding noise below :data:`PCT_NOISE` is ``+0.00%``."""
    if v is None or abs(v) < PCT_NOISE:
        return pct(v)
    return pct(v, telling_digits(v) or 4)


def _gain_or_loss(v: float | None) -> str:
    if v is None:
        return "an unknown change"
    if abs(v) < USD_EPS:
        return "no change"
    return f"a {'gain' if v > 0 else 'loss'} of {_money(v)}"


def _names(codes: list[tuple[str, float]]) -> str:
    parts = [f"{country_label(c)} ({c}, {usd(v, signed=True)})" for c, v in codes]
    if len(parts) <= 1:
        return "".join(parts)
    return ", ".join(parts[:-1]) + " and " + parts[-1]


def _subject(results: dict[str, Any]) -> str:
    products = list(results["products"].values())
    if len(products) == 1:
        return str(products[0]["name"]).lower()
    return f"the {len(products)} products taken together"


def paragraph(results: dict[str, Any], top: int = 2) -> str:
    """The written answer (see :func:`headline`)."""
    products = results["products"]
    if not products:
        return "The scenario has no products: there is nothing to report."
    shares = zone_shares(results)
    prices = price_changes(results)
    parts = welfare_parts(results)
    zone, outside = parts["zone"], parts["outside"]
    subject = _subject(results)
    watch = ", ".join(results["watch"]) or None
    sentences = [
        f"Under “{results['scenario']}”, "
        + _move(
            f"the zone's self-sufficiency in {subject}",
            shares["self_sufficiency_baseline"],
            shares["self_sufficiency"],
            " of zone demand",
        )
        + (
            "; "
            + _move(
                f"the share supplied by the watch countries ({watch})",
                shares["watch_share_baseline"],
                shares["watch_share"],
            )
            if watch
            else ""
        )
        + "."
    ]
    inside = _change(prices["zone_consumer_price_change_pct"])
    outside_change = _change(prices["outside_consumer_price_change_pct"])
    verb = inside.split()[0]
    if outside_change.split()[0] == verb and verb in {"rise", "fall"}:
        outside_change = outside_change.removeprefix(verb + " ")  # "rise 8% ... and 1% outside"
    sentences.append(
        f"Consumer prices {inside} inside the zone and {outside_change} outside it (averages "
        "weighted by baseline purchases)."
    )
    cs, ps = zone["consumer_surplus_change_usd"], zone["producer_surplus_change_usd"]
    rev, rent, sub = (
        zone["tariff_revenue_change_usd"],
        zone["quota_rent_usd"],
        zone["subsidy_cost_usd"],
    )
    pays = []
    if cs is not None and cs < -USD_EPS:
        pays.append(f"zone consumers pay {_money(cs)} (consumer surplus)")
    if sub is not None and sub > USD_EPS:
        pays.append(f"zone treasuries pay {_money(sub)} in subsidies")
    gains = []
    if ps is not None and ps > USD_EPS:
        gains.append(f"zone producers gain {_money(ps)}")
    if rev is not None and rev > USD_EPS:
        gains.append(f"tariff and levy revenue brings in {_money(rev)}")
    if cs is not None and cs > USD_EPS:
        gains.append(f"zone consumers gain {_money(cs)}")
    if rent is not None and rent > USD_EPS:
        gains.append(f"quota rents bring in {_money(rent)}")
    losses = []
    if ps is not None and ps < -USD_EPS:
        losses.append(f"zone producers lose {_money(ps)}")
    if rev is not None and rev < -USD_EPS:
        losses.append(f"tariff revenue falls by {_money(rev)}")
    rent_out = outside["quota_rent_usd"]
    if rent_out is not None and rent_out > USD_EPS:
        gains.append(f"exporters outside the zone collect {_money(rent_out)} in quota rents")
    who = pays + losses + gains
    if who:
        text = "; ".join(who)
        sentences.append(text[0].upper() + text[1:] + ".")
    sentences.append(
        f"Zone welfare (consumer + producer surplus + revenue + quota rent − subsidy cost) shows "
        f"{_gain_or_loss(zone['welfare_change_usd'])}; outside the zone, "
        f"{_gain_or_loss(outside['welfare_change_usd'])}."
    )
    unranked = undefined_welfare(results)
    by_country = {c: v for c, v in country_welfare(results).items() if c not in unranked}
    winners = sorted(((c, v) for c, v in by_country.items() if v > USD_EPS), key=lambda cv: -cv[1])
    losers = sorted(((c, v) for c, v in by_country.items() if v < -USD_EPS), key=lambda cv: cv[1])
    if winners or losers:
        bits = []
        if winners:
            bits.append(f"the largest gains go to {_names(winners[:top])}")
        if losers:
            bits.append(f"the largest losses fall on {_names(losers[:top])}")
        text = "; ".join(bits)
        sentences.append(text[0].upper() + text[1:] + " (welfare, USD).")
    if unranked:  # cut off, not a loss smaller than those ranked: said, not left out silently
        names = [f"{country_label(c)} ({c})" for c in unranked]
        listed = _and_list(names) if len(names) <= SHOWN else names_listed(names)
        sentences.append(
            f"The welfare of {listed} is undefined (see the warnings: a buyer cut off from "
            "every supplier loses without bound), so they are not ranked."
        )
    failed = [str(p["name"]) for p in products.values() if not p["converged"]]
    if failed:
        sentences.append(
            f"Caution: the solver did not converge for {', '.join(failed)}: it has no result "
            "numbers, so the zone's totals over every product are not shown."
        )
    return " ".join(sentences)


def key_figures(results: dict[str, Any]) -> list[KeyFigure]:
    """The key figures with their units, in the order the answer uses them."""
    shares = zone_shares(results)
    prices = price_changes(results)
    parts = welfare_parts(results)
    figs = [
        KeyFigure(
            "self_sufficiency",
            "Zone self-sufficiency",
            shares["self_sufficiency"],
            "share",
            " → ".join(share_pair(shares["self_sufficiency_baseline"], shares["self_sufficiency"])),
            shares["self_sufficiency_baseline"],
            "share of zone demand met by members",
        ),
        KeyFigure(
            "watch_share",
            "Watch countries' share",
            shares["watch_share"],
            "share",
            " → ".join(share_pair(shares["watch_share_baseline"], shares["watch_share"])),
            shares["watch_share_baseline"],
            "share of zone demand met by " + (", ".join(results["watch"]) or "no watch country"),
        ),
        KeyFigure(
            "zone_consumer_price_change_pct",
            "Consumer prices in the zone",
            prices["zone_consumer_price_change_pct"],
            "%",
            pct_figure(prices["zone_consumer_price_change_pct"]),
            note="change, weighted by baseline purchases",
        ),
        KeyFigure(
            "outside_consumer_price_change_pct",
            "Consumer prices outside",
            prices["outside_consumer_price_change_pct"],
            "%",
            pct_figure(prices["outside_consumer_price_change_pct"]),
            note="change, weighted by baseline purchases",
        ),
    ]
    zone = parts["zone"]
    for key, label in WELFARE_PARTS:
        v = zone[key]
        figs.append(
            KeyFigure(
                f"zone_{key}",
                "Zone welfare" if key == "welfare_change_usd" else f"Zone {label}",
                v,
                "USD",
                "USD " + usd(v, signed=key != "subsidy_cost_usd"),
                note="consumer + producer surplus + revenue + quota rent − subsidy"
                if key == "welfare_change_usd"
                else "part of zone welfare"
                + (" (a cost: subtracted)" if key == "subsidy_cost_usd" else ""),
            )
        )
    for group, label in (("outside", "Outside welfare"), ("world", "World welfare")):
        v = parts[group]["welfare_change_usd"]
        figs.append(
            KeyFigure(f"{group}_welfare_change_usd", label, v, "USD", "USD " + usd(v, signed=True))
        )
    return figs


def headline(results: dict[str, Any]) -> Headline:
    """The written answer and key figures of a results dict (the results contract)."""
    products = results["products"]
    chains = {cid: chain_paragraph(results, cid) for cid in results.get("chains") or {}}
    return Headline(
        paragraph=" ".join([paragraph(results), *chains.values()]),
        figures=key_figures(results),
        welfare=welfare_parts(results),
        products=len(products),
        converged=sum(1 for p in products.values() if p["converged"]),
        chains=chains,
    )


# ----------------------------------------------------------------------------- linked chains

STAGE_PRODUCERS = {"mine": "miners", "refine": "refiners", "product": "manufacturers"}
"""Who produces at each stage of :data:`critmin.catalog.STAGES`, in words."""
REGIONS = ("zone", "outside")


def stage_labels(chain: dict[str, Any]) -> list[str]:
    """Short labels of a chain's stages in order: ``"1. mine"``, ``"2. refine"``."""
    return [f"{k + 1}. {s['stage']}" for k, s in enumerate(chain["stages"])]


def _step_note(chain: dict[str, Any], k: int) -> str:
    stage = chain["stages"][k]["stage"]
    repeated = sum(1 for s in chain["stages"] if s["stage"] == stage) > 1
    return f" (step {k + 1})" if repeated else ""


def stage_name(chain: dict[str, Any], k: int) -> str:
    """Stage ``k`` (0-based) of a chain in words: ``"refine"``, or ``"refine (step 3)"``
    when the chain has that stage at more than one step."""
    return str(chain["stages"][k]["stage"]) + _step_note(chain, k)


def stage_producers(chain: dict[str, Any], k: int) -> str:
    """The producers of stage ``k`` (0-based) in words: ``"refiners"``, or ``"refiners (step
    3)"`` when the chain has that stage at more than one step."""
    stage = chain["stages"][k]["stage"]
    return STAGE_PRODUCERS.get(stage, f"{stage} producers") + _step_note(chain, k)


def stage_product(results: dict[str, Any], chain_id: str, k: int) -> dict[str, Any] | None:
    """The ``products`` entry of stage ``k`` (0-based) of chain ``chain_id`` (its ``key``, or
    ``"<chain>:<key>"`` when a single market already used the key), or None."""
    key = results["chains"][chain_id]["stages"][k]["key"]
    products = results["products"]
    for candidate in (f"{chain_id}:{key}", key):
        p = products.get(candidate)
        if p is not None and p.get("chain") == chain_id:
            return dict(p)
    return None


def chain_region_flows(results: dict[str, Any], chain_id: str) -> list[dict[str, Any]]:
    """Each stage's sales summed by region of seller and buyer (zone = members, outside = all
    others): one row per stage and (seller, buyer) region pair with ``baseline_value_usd`` and
    ``value_usd`` (scenario value at producer prices; None when a flow's value is undefined).

    At stage s the buyers are stage s+1's producers (plus other uses) and, at the last stage,
    final buyers: these are the flows between regions and stages of the chain diagram."""
    members = set(results["members"])
    chain = results["chains"][chain_id]
    rows = []
    for k, s in enumerate(chain["stages"]):
        product = stage_product(results, chain_id, k)
        sums: dict[tuple[str, str], list[float | None]] = {
            (a, b): [0.0, 0.0] for a in REGIONS for b in REGIONS
        }
        for f in product["flows"] if product else []:
            pair = (
                "zone" if f["exporter"] in members else "outside",
                "zone" if f["importer"] in members else "outside",
            )
            acc = sums[pair]
            acc[0] = (acc[0] or 0.0) + float(f["baseline_value_usd"])
            after = f.get("value_usd")
            acc[1] = None if after is None or acc[1] is None else acc[1] + float(after)
        for (a, b), (before, after) in sums.items():
            rows.append(
                {
                    "chain": chain_id,
                    "step": k + 1,
                    "stage": s["stage"],
                    "seller": a,
                    "buyer": b,
                    "baseline_value_usd": before,
                    "value_usd": after,
                }
            )
    return rows


def _and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def chain_sentences(results: dict[str, Any], chain_id: str) -> list[str]:
    """The chain's answer in words: who captures the zone producers' gain, by stage (the
    contract's ``captured_by_stage``: each stage's share of the sum of zone producers' surplus
    gains); buyer prices per stage in the zone and outside (the stages'
    ``zone_price_change_pct`` and ``outside_price_change_pct``); the chain's welfare. A chain
    that did not converge gets one sentence saying so and no figures."""
    chain = results["chains"][chain_id]
    stages, captured = chain["stages"], chain["captured_by_stage"]
    n = len(stages)
    flow = " → ".join(s["stage"] for s in stages)
    head = f"In the {chain_id.replace('_', ' ')} chain " + (
        f"({flow}, solved as one system)" if n > 1 else f"(one stage: {flow})"
    )
    if not chain["converged"]:  # the last iterate's figures would read as findings
        return [
            f"{head.replace('In the', 'The', 1)} did not converge ({chain['message']}): it has "
            "no result numbers, so none are told here (in --json its figures are those of the "
            "last iterate)."
        ]
    shares = [c["share_of_zone_producer_gain"] for c in captured]
    gains = [c["zone_producers_usd"] for c in captured]
    if all(v is None for v in shares):
        losses = [
            f"{stage_producers(chain, k)} {usd(gains[k], signed=True)}"
            for k in range(n)
            if gains[k] is not None
        ]
        sentences = [
            f"{head}, no zone producers gain at any stage"
            + (f" (producer surplus, USD: {_and_list(losses)})" if losses else "")
            + "."
        ]
    else:
        order = sorted(
            (k for k in range(n) if shares[k] is not None and shares[k] > 0),
            key=lambda k: -float(shares[k] or 0.0),
        )
        top = order[0]
        who = f"the zone's {stage_producers(chain, top)}"

        def net_loss(k: int) -> bool:
            return gains[k] is not None and float(gains[k] or 0.0) < -USD_EPS

        def taken(k: int) -> str:
            # the share is of the gains of the producers who gain; a stage whose producers lose
            # on balance shows its share and its net loss, not a negative "gain"
            if net_loss(k):
                return f"{share(shares[k])}, though they lose USD {usd(abs(gains[k] or 0.0))} net"
            return f"USD {usd(gains[k])} ({share(shares[k])})"

        if len(order) == 1:
            text = f"{head}, only {who} gain: USD {usd(gains[top])}"
        else:
            others = [
                f"{share(shares[k])} for its {stage_producers(chain, k)}, who lose USD "
                f"{usd(abs(gains[k] or 0.0))} net"
                if net_loss(k)
                else f"USD {usd(gains[k])} ({share(shares[k])}) for its {stage_producers(chain, k)}"
                for k in order[1:]
            ]
            verb = "capture most" if (shares[top] or 0.0) > 0.5 else "capture the largest part"
            text = (
                f"{head}, {who} {verb} of the zone producers' gain: {taken(top)}, against "
                f"{_and_list(others)}"
            )
        losing = [
            f"{stage_producers(chain, k)} lose USD {usd(abs(gains[k] or 0.0))}"
            for k in range(n)
            if net_loss(k) and (k not in order or len(order) == 1)
        ]
        if losing:
            text += f"; the zone's {_and_list(losing)}"
        sentences = [text + "."]
    outside = [
        (stage_producers(chain, k), c["outside_producers_usd"]) for k, c in enumerate(captured)
    ]
    if any(v is not None and abs(v) > USD_EPS for _, v in outside):
        bits = [
            f"{who_} {'gain' if v > 0 else 'lose'} USD {usd(abs(v))}"
            for who_, v in outside
            if v is not None and abs(v) > USD_EPS
        ]
        sentences.append(f"Outside the zone, {_and_list(bits)} (producer surplus).")
    prices = [
        f"{stage_name(chain, k)} {pct(s['zone_price_change_pct'])} in the zone and "
        f"{pct(s['outside_price_change_pct'])} outside"
        for k, s in enumerate(stages)
    ]
    sentences.append(
        f"Buyer prices by stage (averages weighted by baseline purchases): {'; '.join(prices)}."
    )
    w = chain["welfare"]
    sentences.append(
        f"The chain's welfare (sum over its stages) shows {_gain_or_loss(w['zone'])} in the "
        f"zone, {_gain_or_loss(w['outside'])} outside it and {_gain_or_loss(w['world'])} for "
        "the world."
    )
    return sentences


def chain_paragraph(results: dict[str, Any], chain_id: str) -> str:
    """:func:`chain_sentences` as one paragraph."""
    return " ".join(chain_sentences(results, chain_id))
