"""Who published each bundled table, in which edition, under which licence.

These records are written into ``manifest.json`` by the build and printed by
``critmin data sources``.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def file_sha256(path: Path) -> str:
    """The sha256 of a file, read in 1 MB chunks (release files are hundreds of MB)."""
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


@dataclass(frozen=True)
class Publication:
    """A published release that a bundled table draws on."""

    publisher: str
    title: str
    edition: str
    doi_or_url: str
    licence: str
    files: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["files"] = list(self.files)
        return d


USGS_MCS = {
    "MCS2023": Publication(
        "U.S. Geological Survey, National Minerals Information Center",
        "Mineral Commodity Summaries 2023 data release",
        "MCS2023",
        "https://doi.org/10.5066/P9WCYUI6",
        "U.S. public domain",
        ("usgs_mcs/mcs2023/world/*.csv", "usgs_mcs/mcs2023/salient/*.csv"),
    ),
    "MCS2024": Publication(
        "U.S. Geological Survey, National Minerals Information Center",
        "Mineral Commodity Summaries 2024 data release (ver. 2.0, March 2024)",
        "MCS2024",
        "https://doi.org/10.5066/P144BA54",
        "U.S. public domain",
        ("usgs_mcs/mcs2024/world/*.csv", "usgs_mcs/mcs2024/salient/*.csv"),
    ),
    "MCS2025": Publication(
        "U.S. Geological Survey, National Minerals Information Center",
        "Mineral Commodity Summaries 2025 world data release",
        "MCS2025",
        "https://doi.org/10.5066/P13XCP3R",
        "U.S. public domain",
        ("usgs_mcs/mcs2025/MCS2025_World_Data.csv", "usgs_mcs/mcs2025/salient/*.csv"),
    ),
    "MCS2026": Publication(
        "U.S. Geological Survey, National Minerals Information Center",
        "Mineral Commodity Summaries 2026 data release",
        "MCS2026",
        "https://doi.org/10.5066/P1WKQ63T",
        "U.S. public domain",
        ("usgs_mcs/mcs2026/MCS2026_Commodities_Data.csv",),
    ),
}

BACI = Publication(
    "CEPII",
    "BACI: international trade database at the product level, HS17, release V202601",
    "HS17 V202601 (2022, 2024)",
    "https://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37",
    "Etalab Open Licence 2.0 (attribution to CEPII)",
    (
        "trade/critical_materials_atlas/baci_hs17_v202601/baci_2024_trade_with_qty.parquet",
        "trade/critical_materials_atlas/baci_hs17_v202601/baci_2022_value_only.csv",
    ),
)

WGI = Publication(
    "World Bank (Kaufmann & Kraay)",
    "Worldwide Governance Indicators, 2024 update",
    "1996-2023 (2024 update)",
    "https://www.worldbank.org/en/publication/worldwide-governance-indicators",
    "CC BY 4.0",
    ("wgi/wgidataset_1996-2023.xlsx",),
)

EU_CRM = Publication(
    "European Commission (DG GROW / JRC)",
    "Study on the Critical Raw Materials for the EU 2023 - Final Report",
    "2023",
    "https://doi.org/10.2873/725585",
    "CC BY 4.0",
    (
        "eu_crm_2023/fact_GlobalSupplyShares_and_t.csv",
        "eu_crm_2023/fact_EUSupplyShares_and_t.csv",
        "eu_crm_2023/dimension_CRMsOverTime.csv",
    ),
)

GROUP_SOURCES = Publication(
    "worldcountrygroups 0.5.0 (MIT); APRI critical raw materials partnerships tracker (facts "
    "cited to the official page each entry links); critmin curated list (USTR, State Department)",
    "Country groups",
    "2026",
    "https://pypi.org/project/worldcountrygroups/ ; https://afripoli.org/ ; https://ustr.gov/",
    "MIT (worldcountrygroups); facts (APRI, official pages)",
    (
        "country_groups/worldcountrygroups_0.5.0/*.json",
        "country_groups/apri_crm_partnerships/multiPartner.json",
        "src/critmin/data/curated/groups_curated.csv",
    ),
)

CRITMIN_CURATED = Publication(
    "critmin developers",
    "Concordance mineral x stage x HS6 with content factors; default elasticities",
    "0.1",
    "src/critmin/data/curated/",
    "MIT (critmin)",
    (
        "src/critmin/data/curated/products.csv",
        "src/critmin/data/curated/elasticities.csv",
        "trade/critical_materials_atlas/critical_codes.json (caveats consulted)",
    ),
)

COMTRADE_AGGREGATES = Publication(
    "UN Statistics Division (UN Comtrade), via Redliana/cmm-data",
    "Reporters' (USA, CHN, AUS, COD, IDN) annual imports from the world, HS 253090, 8105, ...: "
    "used only as aggregate value constraints of the estimates; no row is redistributed",
    "API v1, collected 2025-12-28",
    "https://comtradeplus.un.org/",
    "UN Comtrade terms of use (no bulk redistribution; aggregates and estimates only)",
    ("comtrade_cmm_gold_qa/*_trade_data.csv",),
)

BACI_ASEAN = Publication(
    "CEPII (extract by ccmdesign/bfna-indopacific)",
    "BACI HS07 V202601: flows between ASEAN states and 16 partners, 13 critical-mineral codes",
    "HS07 V202601, 2010-2024",
    "https://www.cepii.fr/CEPII/en/bdd_modele/bdd_modele_item.asp?id=37",
    "Etalab Open Licence 2.0 (attribution to CEPII)",
    ("trade/baci_asean_minerals/baci-asean-minerals-bilateral-2010-2024.csv",),
)
