"""Event check of docs/validation.md: critmin's predictions for China's 2023 controls against
China's customs (UN Comtrade, annual, in ../shared/data/comtrade_cmm_gold_qa/).

Run from the repository root: ``python docs/validation_events.py`` (needs ../shared/data).
Prints the table of docs/validation.md. Comtrade rows are read for the check only, never
shipped (their terms forbid redistribution): the table holds a few derived percentages.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import critmin

ROOT = Path(__file__).resolve().parents[1]
QA = ROOT.parent / "shared" / "data" / "comtrade_cmm_gold_qa"

# (example, product, customs file, HS code, years compared, shocks fixed from sources)
EVENTS = [
    (
        "ga_ge_licensing_2023",
        "gallium_germanium",
        "gallium",
        811292,
        (2022, 2023),
        # USGS MCS 2025: China's primary gallium output 600 t (2022) -> 621 t (2023), +3.5%
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


def main() -> None:
    rows = []
    for example, pid, name, hs, years, supply, demand in EVENTS:
        data = tomllib.loads((ROOT / "examples" / "controls" / f"{example}.toml").read_text())
        specs = {"licensing": []}
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
    frame = pd.DataFrame(rows)
    for col in ("to USA", "to others", "unit value"):
        frame[col] = frame[col].map(lambda v: f"{v:+.1f}%" if np.isfinite(v) else "n/a")
    cols = list(frame.columns)
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for row in frame.itertuples(index=False):
        print("| " + " | ".join(str(v) for v in row) + " |")


if __name__ == "__main__":
    main()
