"""Event check of docs/validation.md: critmin's predictions for China's 2023 and 2024 controls
against China's customs (UN Comtrade, annual: ../shared/data/comtrade_cmm_gold_qa/ for gallium
and graphite, ../shared/data/trade/critical_materials_atlas/comtrade_raw/ for antimony).

Run from the repository root: ``python docs/validation_events.py`` (needs ../shared/data).
Prints the tables of docs/validation.md. Comtrade rows are read for the check only, never
shipped (their terms forbid redistribution): the tables hold a few derived percentages.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import critmin
from critmin.countries import m49_to_iso3
from critmin.scenario.resolution import zone_lists

ROOT = Path(__file__).resolve().parents[1]
QA = ROOT.parent / "shared" / "data" / "comtrade_cmm_gold_qa"
RAW = ROOT.parent / "shared" / "data" / "trade" / "critical_materials_atlas" / "comtrade_raw"
CHINA, USA, WORLD = 156, 842, 0  # M49 / Comtrade codes

# (example, product, customs file, HS code, years compared, shocks fixed from sources)
EVENTS = [
    (
        "ga_ge_licensing_2023",
        "gallium_germanium",
        "gallium",
        811292,
        (2022, 2023),
        # USGS: China's primary gallium output 600 t in 2022 (MCS 2024) -> 621 t in 2023 (MCS 2025), +3.5%
        {"type": "supply", "countries": ["CHN"], "change": 0.035},
        # precautionary buying ahead of the control: one month of extra purchases (+1/12) by
        # every buyer outside China (an a-priori assumption, not a fitted value)
        {"type": "demand", "countries": ["non-members", "members"], "change": 1 / 12},
    ),
    (
        "graphite_licensing_2023",
        "natural_graphite",
        "graphite",
        250410,
        (2023, 2024),
        # USGS MCS 2024/2026: China's graphite mine output 1.21 Mt (2022) -> 1.27 Mt (2024), +5%
        {"type": "supply", "countries": ["CHN"], "change": 0.05},
        None,
    ),
]


def customs(name: str, hs: int, years: tuple[int, int]) -> dict[str, float]:
    """China's reported exports (value and net weight) to the US and to the rest."""
    d = pd.read_csv(QA / f"{name}_trade_data.csv")
    d = d[(d.reporterCode == 156) & (d.flowCode == "X") & (d.cmdCode == hs)]
    out = {}
    for y in years:
        g = d[d.refYear == y]
        w, u = g[g.partnerCode == 0], g[g.partnerCode == 842]
        out[f"usa_{y}"] = float(u.primaryValue.sum())
        out[f"rest_{y}"] = float(w.primaryValue.sum() - u.primaryValue.sum())
        out[f"uv_{y}"] = float(w.primaryValue.sum() / w.netWgt.sum())
    a, b = years
    return {
        "to USA": 100 * (out[f"usa_{b}"] / out[f"usa_{a}"] - 1),
        "to others": 100 * (out[f"rest_{b}"] / out[f"rest_{a}"] - 1),
        "unit value": 100 * (out[f"uv_{b}"] / out[f"uv_{a}"] - 1),
    }


def predicted(data: dict[str, Any], pid: str) -> dict[str, float]:
    """China's exports at export prices to the US and the rest, and its export price change."""
    out = critmin.simulate(data).to_dict()["products"][pid]
    assert out["converged"], out["message"]
    before = {"usa": 0.0, "rest": 0.0}
    after = {"usa": 0.0, "rest": 0.0}
    chn = out["countries"]["CHN"]
    for f in out["flows"]:
        if f["exporter"] != "CHN" or f["importer"] == "CHN":
            continue
        key = "usa" if f["importer"] == "USA" else "rest"
        before[key] += f["baseline_value_usd"]
        after[key] += f["export_value_usd"]  # at the export price (customs-comparable)
    return {
        "to USA": 100 * (after["usa"] / before["usa"] - 1),
        "to others": 100 * (after["rest"] / before["rest"] - 1),
        "unit value": chn["export_price_change_pct"],
    }


# Antimony (HS 811010, unwrought; the raw Comtrade pull has no 261710 ores or 282580 oxides
# rows): years 2022 and 2024 (the pull has no 2023 file). 2024 holds about 3.5 licensed months
# (from 15 September), the price surge and the ban on exports to the US (from 3 December).
ANTIMONY_HS = 811010
ANTIMONY_YEARS = (2022, 2024)
ANTIMONY_PRODUCT = "antimony_unwrought"
ANTIMONY_LICENSING = "antimony_licensing_2024"
ANTIMONY_LEAKAGE = "antimony_licensing_leakage_2025"
# USGS MCS: China's antimony mine output 40,000 t in 2022 (MCS2024, revised) and 40,000 t in
# 2024 (MCS2026, revised): no change. Fixed before the comparison.
ANTIMONY_SUPPLY = {"type": "supply", "countries": ["CHN"], "change": 0.0}
# routes of antimony into the US named by trade press (the leakage example's leak_via)
ANTIMONY_VIAS = {"THA": 764, "MEX": 484}


def raw_comtrade(year: int, hs: int) -> pd.DataFrame:
    """One row per (reporter, partner, flow) of the raw Comtrade pull for one HS code.

    The pull holds exact duplicates and, for every flow, a total row beside its breakdown rows
    by transport mode and customs procedure (../shared/data/SOURCES.md, 8b): deduplicate, then
    keep the row of the largest value per key (never sum the rows)."""
    cols = ["reporter", "partner", "cmd", "flow", "value", "netwgt"]
    d = pd.read_csv(RAW / f"comtrade_{year}.csv.gz", usecols=cols)
    d = d[d.cmd == hs].drop_duplicates()
    keep = d.groupby(["reporter", "partner", "flow"])["value"].idxmax()
    return d.loc[keep].reset_index(drop=True)


def zone_members(example: str) -> set[str]:
    """ISO3 codes of the example's zone members, resolved as critmin resolves them."""
    data = tomllib.loads((ROOT / "examples" / "controls" / f"{example}.toml").read_text())
    world = critmin.load_world(int(data["year"]))
    members, _, _ = zone_lists(world, data["zone"]["members"], data["zone"]["watch"])
    return set(members)


def china_exports_raw(year: int, hs: int, members: set[str]) -> dict[str, float]:
    """China's reported exports of one HS code: to the US, to the zone's members, to the rest
    (world minus members), and the unit value (world value / world net weight, USD/kg)."""
    d = raw_comtrade(year, hs)
    d = d[(d.reporter == CHINA) & (d.flow == "X")]
    world = d[d.partner == WORLD]
    partners = d[d.partner != WORLD]
    in_zone = partners.partner.map(lambda code: m49_to_iso3(int(code)) in members)
    total = float(world.value.sum())
    zone = float(partners[in_zone].value.sum())
    return {
        "usa": float(partners[partners.partner == USA].value.sum()),
        "zone": zone,
        "others": total - zone,
        "unit_value": total / float(world.netwgt.sum()),
    }


def imports_raw(year: int, hs: int, reporter: int, partners: dict[str, int]) -> dict[str, float]:
    """Imports of one HS code reported by ``reporter`` from each named partner (``WLD`` = 0, all
    origins): the mirror of the partners' exports."""
    d = raw_comtrade(year, hs)
    d = d[(d.reporter == reporter) & (d.flow == "M")]
    return {iso: float(d[d.partner == code].value.sum()) for iso, code in partners.items()}


def pct(after: float, before: float) -> float:
    """Percentage change, NaN when there is no base."""
    return 100 * (after / before - 1) if before > 0 else float("nan")


def antimony_customs() -> dict[str, float]:
    """Customs changes 2022 -> 2024 of China's antimony exports (to USA, zone, others, unit
    value), of US imports from China, Thailand and Mexico, and of Thailand's imports from China
    and from all origins (what routing through Thailand would raise)."""
    members = zone_members(ANTIMONY_LICENSING)
    a, b = (china_exports_raw(y, ANTIMONY_HS, members) for y in ANTIMONY_YEARS)
    origins = {"CHN": CHINA, **ANTIMONY_VIAS}
    ma, mb = (imports_raw(y, ANTIMONY_HS, USA, origins) for y in ANTIMONY_YEARS)
    thai = {"CHN": CHINA, "WLD": WORLD}
    ta, tb = (imports_raw(y, ANTIMONY_HS, ANTIMONY_VIAS["THA"], thai) for y in ANTIMONY_YEARS)
    out = {
        "to USA": pct(b["usa"], a["usa"]),
        "to zone": pct(b["zone"], a["zone"]),
        "to non-members": pct(b["others"], a["others"]),
        "unit value": pct(b["unit_value"], a["unit_value"]),
    }
    out.update({f"US imports from {iso}": pct(mb[iso], ma[iso]) for iso in origins})
    out["THA imports from CHN"] = pct(tb["CHN"], ta["CHN"])
    out["THA imports, all"] = pct(tb["WLD"], ta["WLD"])
    return out


def routed_at_pair_price(res: dict[str, Any]) -> dict[tuple[str, str, str], float]:
    """The routed flows of ``leakage`` (origin, via, destination) at the export price of the
    pair ``origin -> destination``: the part of that pair's ``export_value_usd`` that leaves the
    origin for the via. A leaky pair carries the direct and the routed flow (``q = d + l``,
    docs/controls.md); its routed quantity (baseline-value units) is ``leaked_share_of_cut x
    cut``, the cut being the pair's baseline for a ban and ``(1 - share)`` of it for a quota or
    licence, whose share is its ``cap_usd`` over the baseline exports to its destinations."""
    flows = {(f["exporter"], f["importer"]): f for f in res["flows"]}
    out: dict[tuple[str, str, str], float] = {}
    for leak in res["leakage"]:
        o, v, d = leak["origin"], leak["via"], leak["destination"]
        cut = 1.0
        if leak["restriction"] != "ban":
            group = next(
                c
                for c in res["export_controls"]
                if c["exporter"] == o
                and c["kind"] == leak["restriction"]
                and d in c["destinations"]
            )
            x0 = sum(
                flows[(o, j)]["baseline_value_usd"]
                for j in group["destinations"]
                if (o, j) in flows  # a destination without baseline trade adds nothing
            )
            cut = 1.0 - group["cap_usd"] / x0
        quantity = (
            (leak["leaked_share_of_cut"] or 0.0) * cut * leak["origin_destination_baseline_usd"]
        )
        price = 1.0 + flows[(o, d)]["export_price_change_pct"] / 100.0
        out[(o, v, d)] = out.get((o, v, d), 0.0) + quantity * price
    return out


def predicted_antimony(data: dict[str, Any]) -> dict[str, float]:
    """China's exports at export prices to the US, the zone and the rest, its export price
    change, US imports from China, Thailand and Mexico (direct flows at the exporter's export
    price plus the routed flows of ``leakage``), and Thailand's imports from China and from all
    origins (the routed flows enter Thailand from China, as customs would record them).

    A routed flow is recorded as customs record it: by China as an export to the via (at the
    pair's export price, :func:`routed_at_pair_price`), by the via as an import from China and
    by the destination as an import from the via. Until 7 December 2026 it also stayed in
    China's exports to the destination and the destination's imports from China (a leaky pair
    carries both flows), so it was counted twice and China's exports to the US and the zone
    fell less than China's customs would show."""
    out = critmin.simulate(data).to_dict()
    members = set(out["members"])
    res = out["products"][ANTIMONY_PRODUCT]
    assert res["converged"], res["message"]
    routed = routed_at_pair_price(res)
    before = {"usa": 0.0, "zone": 0.0, "others": 0.0}
    after = dict(before)
    us_before = {iso: 0.0 for iso in ("CHN", *ANTIMONY_VIAS)}
    us_after = dict(us_before)
    thai_before = {"CHN": 0.0, "WLD": 0.0}
    thai_after = dict(thai_before)
    for f in res["flows"]:
        if f["importer"] == "THA" and f["exporter"] != "THA":
            for key in ("CHN", "WLD") if f["exporter"] == "CHN" else ("WLD",):
                thai_before[key] += f["baseline_value_usd"]
                thai_after[key] += f["export_value_usd"]
        if f["importer"] == "USA" and f["exporter"] in us_before:
            us_before[f["exporter"]] += f["baseline_value_usd"]
            us_after[f["exporter"]] += f["export_value_usd"]
        if f["exporter"] != "CHN" or f["importer"] == "CHN":
            continue
        keys = ["zone" if f["importer"] in members else "others"]
        keys += ["usa"] if f["importer"] == "USA" else []
        for key in keys:
            before[key] += f["baseline_value_usd"]
            after[key] += f["export_value_usd"]  # at the export price (customs-comparable)
    for (origin, via, dest), value in routed.items():
        if origin != "CHN":
            continue
        # China records it as an export to the via, not to the destination
        after["zone" if dest in members else "others"] -= value
        after["zone" if via in members else "others"] += value
        if dest == "USA":
            after["usa"] -= value
            us_after["CHN"] -= value  # the US records it as an import from the via
    for leak in res["leakage"]:
        if leak["destination"] == "USA" and leak["via"] in us_after:
            us_after[leak["via"]] += leak["value_usd"]
        if leak["via"] == "THA" and leak["origin"] == "CHN":
            thai_after["CHN"] += leak["value_usd"]
            thai_after["WLD"] += leak["value_usd"]
    result = {
        "to USA": pct(after["usa"], before["usa"]),
        "to zone": pct(after["zone"], before["zone"]),
        "to non-members": pct(after["others"], before["others"]),
        "unit value": res["countries"]["CHN"]["export_price_change_pct"],
    }
    result.update({f"US imports from {i}": pct(us_after[i], us_before[i]) for i in us_before})
    result["THA imports from CHN"] = pct(thai_after["CHN"], thai_before["CHN"])
    result["THA imports, all"] = pct(thai_after["WLD"], thai_before["WLD"])
    return result


def antimony_rows() -> list[dict[str, Any]]:
    """The antimony table: customs 2022 -> 2024 and the specifications, fixed from sources."""
    a, b = ANTIMONY_YEARS
    rows = [{"specification": f"customs {a}->{b}", **antimony_customs()}]
    for example, grant in ((ANTIMONY_LICENSING, "0.80"), (ANTIMONY_LEAKAGE, "0.30")):
        data = tomllib.loads((ROOT / "examples" / "controls" / f"{example}.toml").read_text())
        specs: dict[str, tuple[list[Any], bool]]
        if example == ANTIMONY_LICENSING:
            specs = {
                f"licensing (grant share {grant})": ([], True),
                "licensing + output (USGS)": ([ANTIMONY_SUPPLY], True),
                "market only (no control)": ([ANTIMONY_SUPPLY], False),
            }
        else:
            specs = {f"licensing {grant} + leakage via THA, MEX (full year)": ([], True)}
        for label, (shocks, control) in specs.items():
            d = dict(data)
            d["policy"] = data["policy"] if control else []
            d["shock"] = shocks
            rows.append({"specification": label, **predicted_antimony(d)})
    return rows


def print_table(frame: pd.DataFrame, numeric: list[str]) -> None:
    """Print a frame as a Markdown table, percentages with one decimal and a sign."""
    frame = frame.copy()
    for col in numeric:
        frame[col] = frame[col].map(lambda v: f"{v:+.1f}%" if np.isfinite(v) else "n/a")
    cols = list(frame.columns)
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in frame.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in row) + " |")


def main() -> None:
    rows = []
    for example, pid, name, hs, years, supply, demand in EVENTS:
        data = tomllib.loads((ROOT / "examples" / "controls" / f"{example}.toml").read_text())
        specs: dict[str, list[dict[str, Any]]] = {"licensing": []}
        specs["licensing + output (USGS)"] = [supply]
        if demand is not None:
            specs["licensing + output + precautionary demand"] = [supply, demand]
        specs["market only (no control)"] = [supply] + ([demand] if demand else [])
        truth = customs(name, hs, years)
        rows.append({"event": example, "specification": f"customs {years[0]}->{years[1]}", **truth})
        for label, shocks in specs.items():
            d = dict(data)
            if label.startswith("market only"):
                d["policy"] = []
            d["shock"] = shocks
            rows.append({"event": example, "specification": label, **predicted(d, pid)})
    print_table(pd.DataFrame(rows), ["to USA", "to others", "unit value"])
    sb = pd.DataFrame(antimony_rows())
    print("\nAntimony (HS 811010), China's exports:\n")
    print_table(
        sb[["specification", "to USA", "to zone", "to non-members", "unit value"]],
        ["to USA", "to zone", "to non-members", "unit value"],
    )
    mirror = [f"US imports from {iso}" for iso in ("CHN", *ANTIMONY_VIAS)]
    mirror += ["THA imports from CHN", "THA imports, all"]
    print("\nAntimony (HS 811010), US imports (mirror):\n")
    print_table(sb[["specification", *mirror]], mirror)


if __name__ == "__main__":
    main()
