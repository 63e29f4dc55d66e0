"""The criticality view: the EU 2023 supply-risk building blocks (``--view criticality``).

HHI_WGI,t = sum_c s_c^2 x WGI_c x t_c (European Commission 2023, Study on the critical raw
materials for the EU, methodology: WGI rescaled 0-10, t the trade-restriction variable),
recomputed from the bundled EU shares, t and WGI, beside the EU's official SR and EI of 2023.
Materials the EU assesses as a group (LREE, HREE, PGM: ``data/curated/eu_groups.csv``) show
the group's official SR and EI.
"""

from __future__ import annotations

from typing import Any, cast

import pandas as pd

from critmin.assessment.common import AssessRecord, eu_material, tables
from critmin.catalog import crosswalks
from critmin.errors import CritminError
from critmin.metrics import criticality
from critmin.numbers import clean, finite_or_none
from critmin.world import AGGREGATES, World

TABLE_COLUMNS = [
    "material",
    "material_id",
    "stage",
    "top_country",
    "top_share",
    "hhi",
    "hhi_wgi_t_global",
    "coverage_global",
    "hhi_wgi_t_eu_sourcing",
    "coverage_eu_sourcing",
    "official_sr_2023",
    "official_ei_2023",
    "official_material",
    "wgi_year",
    "wgi_defaulted",
]
"""The columns of :func:`criticality_view` (the table and CSV)."""


def criticality_records(
    world: World, minerals: list[str] | None = None, wgi_year: int | None = None
) -> list[AssessRecord]:
    """EU 2023 supply-risk building blocks recomputed from the bundled shares, t and WGI,
    beside the EU's official SR and EI of 2023.

    One row per EU material and stage (extraction E, processing P) with global shares:
    the top country and its share, HHI, HHI_WGI,t on global supply and on EU sourcing, their
    coverage. The official SR also includes import reliance, substitution and recycling and is
    taken at the bottleneck stage, so it is not expected to equal either block.
    """
    years = sorted(int(y) for y in world.wgi["year"].unique())
    wy = wgi_year if wgi_year is not None else max(years)
    wgi = criticality.scale_wgi_eu(criticality.wgi_average(world.wgi, wy))
    groups = tables(world).eu
    ids: set[str] = {str(k[0]) for k in groups}
    if minerals:
        ids = set()
        for m in (world.check_mineral(x) for x in minerals):
            for code in ("E", "P"):
                mid = eu_material(world, m, code)
                if mid:
                    ids.add(mid)
        if not ids:
            raise CritminError(f"the EU CRM 2023 tables have no material for {', '.join(minerals)}")
    off = world.eu_sr_ei[world.eu_sr_ei["year"] == 2023].set_index("material_id")
    mineral_of = {(mid, code): m for (m, code), mid in crosswalks.eu_materials().items()}
    rows: list[dict[str, Any]] = []
    for (mid, code, scope), sub in sorted(groups.items()):
        if scope != "global" or mid not in ids:
            continue
        country = sub["country"].astype(str).to_numpy()
        shares = sub["share"].astype(float).groupby(country).sum()
        t = sub["t"].astype(float).groupby(country).first()
        g = criticality.hhi_wgi_t_detail(shares.clip(upper=1.0), wgi.reindex(shares.index), t)
        es = groups.get((mid, code, "eu"))
        e_block = None
        e_cov = None
        if es is not None and len(es):
            ec = es["country"].astype(str).to_numpy()
            e_shares = es["share"].astype(float).groupby(ec).sum()
            e_t = es["t"].astype(float).groupby(ec).first()
            ed = criticality.hhi_wgi_t_detail(
                e_shares.clip(upper=1.0), wgi.reindex(e_shares.index), e_t
            )
            e_block, e_cov = ed.value, ed.coverage
        named = shares.drop(list(AGGREGATES), errors="ignore").sort_values(ascending=False)
        official = str(mid)
        if official not in off.index or finite_or_none(off["sr"].get(official)) is None:
            official = crosswalks.eu_groups().get(official, official)
        sr = finite_or_none(off["sr"].get(official)) if official in off.index else None
        ei = finite_or_none(off["ei"].get(official)) if official in off.index else None
        rows.append(
            {
                "view": "criticality",
                "mineral": mineral_of.get((str(mid), str(code)), str(mid)),
                "stage": "extraction" if code == "E" else "processing",
                "eu_stage": str(code),
                "year": 2023,
                "edition": None,
                "material": str(sub["material"].iloc[0]),
                "material_id": str(mid),
                "top_country": str(named.index[0]) if len(named) else None,
                "top_share": float(named.iloc[0]) if len(named) else None,
                "hhi": float((named**2).sum()),
                "hhi_wgi_t_global": g.value,
                "coverage_global": g.coverage,
                "hhi_wgi_t_eu_sourcing": e_block,
                "coverage_eu_sourcing": e_cov,
                "official_sr_2023": sr,
                "official_ei_2023": ei,
                "official_material": official if sr is not None or ei is not None else None,
                "wgi_year": wy,
                "wgi_defaulted": ", ".join(g.wgi_defaulted),
                "coverage": g.coverage,
                "sources": [
                    f"EU CRM 2023 global {'extraction' if code == 'E' else 'processing'} "
                    f"(stage {code}) shares and t of {mid}; official SR and EI 2023",
                    f"World Bank WGI {wy} (six-indicator mean, rescaled 0-10)",
                ],
                "notes": [
                    "the official SR also weighs import reliance, substitution and recycling at "
                    "the bottleneck stage: compare, do not expect equality"
                ]
                + ([f"official SR and EI of the EU group '{official}'"] if official != mid else []),
            }
        )

    def key(r: dict[str, Any]) -> tuple[bool, float, str]:
        v = finite_or_none(r["hhi_wgi_t_global"])
        return (v is None, -(v or 0.0), str(r["material_id"]))

    return [cast(AssessRecord, clean(r)) for r in sorted(rows, key=key)]


def criticality_view(
    world: World, minerals: list[str] | None = None, wgi_year: int | None = None
) -> pd.DataFrame:
    """:func:`criticality_records` as a table (the columns of :data:`TABLE_COLUMNS`)."""
    records = criticality_records(world, minerals, wgi_year)
    return pd.DataFrame(records, columns=TABLE_COLUMNS)
