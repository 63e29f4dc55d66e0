"""Schemas of the bundled reference tables: columns, units and meaning, as data.

Rendered into ``docs/data.md`` by ``critmin data schema --markdown`` and checked by
``critmin data check`` (every bundled table must have exactly these columns).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Column:
    """One column of a bundled table."""

    name: str
    dtype: str
    unit: str
    description: str
    low: float | None = None
    """Least value allowed (a number column; None: any finite value)."""
    high: float | None = None
    """Greatest value allowed (a number column; None: any finite value)."""
    complete: bool = False
    """No value may be missing (null or NaN). Integer and boolean columns are always complete;
    a number is never infinite (:func:`critmin.data.dataset.table_problem`)."""


@dataclass(frozen=True)
class TableSchema:
    """A bundled table: its file, its columns and what one row is."""

    name: str
    row: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()
    """Columns that identify a row: no two rows of the table share their values (checked by
    ``critmin data check``: a governance score or a group membership given twice is an edit
    gone wrong). Empty where rows may repeat them: USGS salient statistics list some series
    twice (a withheld and a published figure for the same year), and a trade flow may stand
    on several rows, which the calibration adds up (as a user's flows CSV; a release built
    with ``data build --baci`` may list a pair of countries and a code more than once)."""

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]


_SOURCE_COLS = (
    Column("source_file", "str", "", "file of the source release the value was read from"),
    Column("source_row", "int", "", "1-based data row in that file (header excluded)"),
)

SUPPLY = TableSchema(
    "supply",
    "one published figure: production, reserves or capacity of a mineral at a stage, in a "
    "country and year, from one USGS MCS edition",
    (
        Column("mineral", "str", "", "critmin mineral id"),
        Column("commodity", "str", "", "commodity as USGS spells it"),
        Column("stage", "str", "", "mine | refine"),
        Column("measure", "str", "", "production | reserves | capacity"),
        Column(
            "country", "str", "ISO3", "ISO 3166 alpha-3; WLD = world total, OTH = other countries"
        ),
        Column("country_name", "str", "", "as published, footnotes stripped"),
        Column("year", "int", "year", "data year"),
        Column("value_t", "float", "t", "metric tonnes (see basis); NaN when not published", low=0),
        Column("missing_reason", "str", "", "W withheld, NA not available, -- none stated, blank"),
        Column("basis", "str", "", "contained (element content), gross, REO, ..."),
        Column("type", "str", "", "the edition's description of the figure (its Type column)"),
        Column("estimated", "bool", "", "the edition marks the value as estimated"),
        Column("edition", "str", "", "USGS MCS edition (MCS2023 ... MCS2026)"),
        Column("is_latest", "bool", "", "this edition is the latest one publishing this figure"),
        Column("unit_source", "str", "", "unit as published before conversion to tonnes"),
        Column("note", "str", "", "the edition's note"),
        *_SOURCE_COLS,
    ),
    key=(
        "mineral",
        "commodity",
        "stage",
        "measure",
        "country",
        "country_name",
        "year",
        "edition",
        "basis",
        "type",
    ),
)

FLOWS = TableSchema(
    "flows",
    "one bilateral trade flow of an HS6 product in a year: observed (CEPII BACI) or estimated "
    "by critmin where no all-reporter trade is at hand",
    (
        Column("year", "int", "year", "trade year"),
        Column("hs6", "str", "", "HS six-digit code (HS 2017 for BACI HS17)"),
        Column("product_id", "str", "", "critmin product id"),
        Column("exporter", "str", "ISO3", "exporting country"),
        Column("importer", "str", "ISO3", "importing country"),
        Column(
            "value_usd",
            "float",
            "USD",
            "FOB-reconciled value (BACI v x 1000), or estimate",
            low=0,
            complete=True,
        ),
        Column(
            "quantity_t", "float", "t", "metric tonnes (BACI q); NaN where BACI has none", low=0
        ),
        Column("source", "str", "", "release and file, or the estimate's inputs"),
        Column("basis", "str", "", "observed (published trade) | estimate (critmin)"),
        Column(
            "method",
            "str",
            "",
            "baci (as published) | baci_asean_extract (BACI HS07, ASEAN pairs only) | "
            "mass_balance (critmin.data.estimate: own output first, proportional or RAS "
            "allocation, reporters' world totals as margins where the source says so; see "
            "docs/data.md)",
        ),
    ),
)

ESTIMATE_BALANCE = TableSchema(
    "estimate_balance",
    "one country's mass balance behind the estimated flows of a product in a year (tonnes of "
    "element content)",
    (
        Column("product_id", "str", "", "critmin product id"),
        Column("year", "int", "year", "trade year"),
        Column("country", "str", "ISO3", "country"),
        Column(
            "supply_t",
            "float",
            "t content",
            "output in this form (USGS, routes applied)",
            low=0,
            complete=True,
        ),
        Column(
            "demand_t", "float", "t content", "input need of the next stage", low=0, complete=True
        ),
        Column(
            "own_use_t",
            "float",
            "t content",
            "min(supply, demand): own output used first",
            low=0,
            complete=True,
        ),
        Column(
            "exports_t",
            "float",
            "t content",
            "sum of the estimated flows it exports",
            low=0,
            complete=True,
        ),
        Column(
            "imports_t",
            "float",
            "t content",
            "sum of the estimated flows it imports",
            low=0,
            complete=True,
        ),
    ),
    key=("product_id", "year", "country"),
)

WGI = TableSchema(
    "wgi",
    "one World Bank governance indicator estimate for a country and year",
    (
        Column("country", "str", "ISO3", "country (legacy WB codes mapped)"),
        Column("year", "int", "year", "year"),
        Column("indicator", "str", "", "cc, ge, pv, rl, rq or va"),
        Column("estimate", "float", "-2.5..2.5", "point estimate; NaN where '..'"),
        Column("source_code", "str", "", "the code as published (e.g. ZAR for COD)"),
    ),
    key=("country", "year", "indicator"),
)

EU_SUPPLY_SHARES = TableSchema(
    "eu_supply_shares",
    "one country's share of global supply (or of EU sourcing) of a material at a stage, EU CRM 2023",
    (
        Column("material", "str", "", "material as the EU names it"),
        Column("material_id", "str", "", "normalised material id"),
        Column("stage", "str", "", "E extraction | P processing"),
        Column("country", "str", "ISO3", "country; OTH for 'Other'"),
        Column("country_name", "str", "", "as published"),
        Column(
            "share",
            "float",
            "fraction",
            "share 0-1 ('<0.1%' stored as 0.0005)",
            low=0,
            high=1,
            complete=True,
        ),
        Column("share_text", "str", "", "share as published"),
        Column(
            "t", "float", "", "EU trade-related variable t (export restrictions, agreements)", low=0
        ),
        Column("scope", "str", "", "global | eu (EU sourcing)"),
    ),
    key=("material_id", "stage", "country", "scope"),
)

EU_SR_EI = TableSchema(
    "eu_sr_ei",
    "the EU's official supply risk (SR) and economic importance (EI) of a material in an assessment",
    (
        Column("material", "str", "", "material as the EU names it"),
        Column("material_id", "str", "", "normalised material id"),
        Column("year", "int", "year", "assessment year (2011 ... 2023)"),
        Column("sr", "float", "index", "supply risk (critical if >= 1)", low=0),
        Column("ei", "float", "index", "economic importance (critical if >= 2.8)", low=0),
    ),
    key=("material_id", "year"),
)

US_SALIENT = TableSchema(
    "us_salient",
    "one series of a U.S. salient statistic (see detail) for a mineral and year from one USGS "
    "MCS edition",
    (
        Column("mineral", "str", "", "critmin mineral id"),
        Column("commodity", "str", "", "commodity as published"),
        Column("year", "int", "year", "data year"),
        Column(
            "statistic", "str", "", "production, imports, exports, consumption, price, nir_pct, ..."
        ),
        Column(
            "detail",
            "str",
            "",
            "which series of the statistic, as published (e.g. 'Consumption, apparent', "
            "'Imports for consumption: Refined'; a CSV header's middle words such as "
            "'apparent_total'); empty where the source does not name it (a header 'Consump_t')",
        ),
        Column("value", "float", "see unit", "value (lower bound for bands like '>25')"),
        Column("value_text", "str", "", "value as published"),
        Column("unit", "str", "", "unit as published"),
        Column("missing_reason", "str", "", "W, NA, band, ..."),
        Column("edition", "str", "", "USGS MCS edition"),
        Column("is_latest", "bool", "", "latest edition publishing this statistic"),
        *_SOURCE_COLS,
    ),
)

GROUPS = TableSchema(
    "groups",
    "one country's membership of a named group, with the citation for it",
    (
        Column("group_id", "str", "", "group name as used in scenarios (case-insensitive)"),
        Column("name", "str", "", "full name"),
        Column("country", "str", "ISO3", "member"),
        Column("citation", "str", "", "where the membership is stated"),
        Column("url", "str", "", "official page"),
        Column("as_of", "str", "", "date of the source"),
        Column("note", "str", "", "qualification (e.g. member via the EU)"),
    ),
    key=("group_id", "country"),
)

PRODUCTS = TableSchema(
    "products",
    "one traded product: an HS6 code at one stage of one mineral's chain (the concordance)",
    (
        Column("product_id", "str", "", "critmin product id"),
        Column("hs6", "str", "", "HS 2017 code"),
        Column("name", "str", "", "description"),
        Column("mineral", "str", "", "critmin mineral id"),
        Column("stage", "str", "", "mine | refine | product"),
        Column(
            "product_class", "str", "", "ore | metal | chemical | product (selects elasticities)"
        ),
        Column(
            "content_factor",
            "float",
            "t/t",
            "tonnes of element per tonne of product",
            low=0,
            high=1,
        ),
        Column("content_basis", "str", "", "what the content factor measures and its derivation"),
        Column("confidence", "str", "", "exact | dominant | proxy (fit of HS6 to the material)"),
        Column(
            "usgs_mineral",
            "str",
            "",
            "USGS mineral id(s) used to calibrate domestic sales (;-separated)",
        ),
        Column("usgs_stage", "str", "", "USGS stage used for domestic output"),
        Column("eu_material", "str", "", "EU CRM material(s) for processing shares (;-separated)"),
        Column("caveat", "str", "", "what the code misses or mixes"),
    ),
    key=("product_id",),
)

ELASTICITIES = TableSchema(
    "elasticities",
    "a default elasticity for a product class, with its plausible range and source",
    (
        Column("product_class", "str", "", "ore | metal | chemical | product"),
        Column("parameter", "str", "", "sigma | demand_elasticity | supply_elasticity"),
        Column("default", "float", "", "default value", low=0, complete=True),
        Column("low", "float", "", "low end of the plausible range", low=0, complete=True),
        Column("high", "float", "", "high end of the plausible range", low=0, complete=True),
        Column("distribution", "str", "", "distribution for uncertainty analysis"),
        Column("source", "str", "", "citation"),
    ),
    key=("product_class", "parameter"),
)

TABLES: dict[str, TableSchema] = {
    t.name: t
    for t in (
        SUPPLY,
        FLOWS,
        ESTIMATE_BALANCE,
        WGI,
        EU_SUPPLY_SHARES,
        EU_SR_EI,
        US_SALIENT,
        GROUPS,
        PRODUCTS,
        ELASTICITIES,
    )
}


DOC_FOOTER = """## Provenance and quality

`critmin data sources` prints, for every table, the publisher, edition, DOI or URL, licence and
the transformations applied (also in `src/critmin/data/reference/manifest.json`, together with
the sha256 of every source file read). `src/critmin/data/reference/quality.json` lists what is
missing or suspicious: known gaps of the trade data, figures withheld (`W`) or not available
(`NA`), redundant source rows dropped, BACI flows without quantities.

Every value keeps its origin: `supply` and `us_salient` rows carry `edition`, `source_file` and
`source_row`; `flows` carry `source`, `basis` (`observed` or `estimate`) and `method`; group memberships carry a `citation` and `url`.

Reviewed corrections live beside the curated data with a reason each:
`curated/groups_corrections.csv` (memberships the packaged group lists miss),
`curated/check_exceptions.csv` (USGS world totals that do not match their own country figures)
and `curated/usgs_unit_corrections.csv` (USGS unit labels that contradict the source's own
notes and the other editions: MCS2023 chromium production, MCS2025 titanium mineral
concentrates and industrial sand, published in thousand tons under a tons label; the row keeps
the published `unit_source` and its `note` says which unit was read).

## Chains, stages and by-products

The catalog's chains (`critmin.catalog.chains()`, `critmin data list --json`) come from
`curated/chains.csv`: one row per product at each step of a mineral's chain (step 1, 2, ... in
order; several products may share a step, such as lithium carbonate and hydroxide). The input
coefficient is the tonnes of the previous step's element content bought per tonne of this
product's element content (1.15 for lithium chemicals from spodumene: 85-90% recovery), with
its source. `curated/byproducts.csv` holds the by-product relations with today's recovery share
(tonnes of by-product element per tonne of host content: gallium from alumina, germanium from
zinc concentrate, cobalt from copper and nickel). Both are validated on load: an unknown
product id or stage, a non-finite number or a missing source stops with the file and row.
Products whose HS6 code mixes things say so in `caveat` (253090 is "mineral substances n.e.s.",
811292 mixes gallium, germanium, hafnium and others, 2846 every rare-earth compound).

## Estimated flows of the intermediates

The bundled BACI extract has no spodumene, cobalt hydroxide, ore or concentrate codes. For the
products of `curated/flow_estimates.csv` critmin estimates bilateral flows from USGS output by
country at each stage, as a mass balance in tonnes of element content:

1. supply `S_i`: USGS mine (or refinery) output, routes from `curated/estimate_routes.csv`
   applied (Chilean and Argentine lithium is brine, not ore; Indonesia's nickel ore is banned
   from export and used at home); where USGS publishes no output by country for the stage
   (rare-earth separation and metal making), the EU CRM 2023 processing (P)
   shares x a USGS world total x a stated fraction;
2. demand `D_j`: the next stage's input: USGS refined output x the input coefficient where USGS
   publishes it by country (copper, aluminium), else world supply shared by the EU CRM 2023
   processing shares, or by each country's share of the bundled BACI trade of a downstream good
   that reveals the users: exporters of permanent magnets (850511) for rare-earth compounds and
   metals, importers of natural graphite (250490) for flake graphite;
3. own output first (`own = min(S, D)`), then export supply `S - own` is allocated to import
   need `D - own` in proportion (`t_ij = X_i M_j / T`, the RAS solution from a uniform seed),
   both scaled to the traded total `T = min(sum X, sum M)`;
4. margins: where the curated row names them (`margins`, e.g. `X:CHN M:USA`), a reporter's own
   world total (UN Comtrade, partner = world: an aggregate) replaces its export supply or import
   need, on the side the balance gives it; the other entries are scaled (never up) to the
   traded total and the matrix is the RAS fit of a uniform seed to these margins. The balance
   then records that reporter's supply (demand) as own use + its reported exports (imports);
5. tonnes = content / content factor; value = content x a price per tonne of content: the
   reporters' own imports from the world divided by the content the estimate sends them, the
   reporters' own unit values (an importer's for flows into it, else an exporter's, else all
   reporters' totals together), or a USGS price x a payable share, as the curated row says.

Every flow carries `basis` (`observed` or `estimate`) and `method` (`baci`, `baci_asean_extract`
or `mass_balance`);
the `source` of an estimated flow names its series, margins and price. `estimate_balance` keeps
each country's supply, demand, own use, exports and imports, and `critmin data check` verifies
that balance. No Comtrade row is shipped, and no bilateral Comtrade figure enters an estimate
(the README of the source data forbids redistribution; the reporters' world totals are used
only as aggregate constraints): reporters' bilateral figures are held out to test the
estimates. How close they come (tests in `tests/unit/test_estimate.py` and
`tests/unit/test_estimate_chains.py`):

| flow | reported | estimate |
|---|---|---|
| Australia -> China, 253090, 2024 | USD 3.04 bn, 3.76 Mt (Australia) | USD 3.57 bn (+18%), 2.88 Mt (-23%) |
| Australia -> China, 253090, 2022 | USD 8.20 bn, 2.62 Mt | USD 8.53 bn (+4%), 2.61 Mt (0%) |
| Australia -> China, 253090, 2023 | USD 12.52 bn, 3.55 Mt | USD 11.78 bn (-6%), 3.20 Mt (-10%) |
| China <- world, 253090, 2024 | USD 5.20 bn, 8.17 Mt (China) | USD 5.14 bn (value constraint), 4.14 Mt (-49%: low-grade ores) |
| DRC -> China, cobalt intermediates, 2023 | USD 2.67 bn, 268 kt (DRC, 282200 + 8105) | USD 2.17 bn (-19%), 327 kt (+22%) |
| USA <- China, rare-earth compounds 2846, 2022 | USD 121.7 m, 12.1 kt (USA) | USD 102.0 m (-16%), 8.5 kt (-30%) |
| USA <- China, rare-earth compounds 2846, 2024 | USD 116.1 m, 10.2 kt (USA) | USD 84.1 m (-28%), 6.5 kt (-36%) |
| USA <- China, rare-earth metals 280530, 2022 | USD 16.7 m, 396 t (USA) | USD 14.3 m (-15%), 323 t (-18%) |
| USA <- China, rare-earth metals 280530, 2024 | USD 3.67 m, 68 t (USA) | USD 3.51 m (-4%), 60 t (-12%) |
| USA <- China, flake graphite 250410, 2022 | USD 138.7 m, 42.0 kt (USA); 32.2 kt (China) | USD 58.2 m (-58%), 26.7 kt (-37%; -17% vs China) |
| USA <- China, flake graphite 250410, 2024 | USD 94.2 m, 25.8 kt (USA); 16.1 kt (China) | USD 28.7 m (-70%), 20.2 kt (-22%; +25% vs China) |
| USA -> world, rare-earth compounds 2846, 2024 | USD 259 m, 63.6 kt (USA) | none: the USA ships Mountain Pass concentrate under 2846, a stage the estimate does not hold |
China's world exports of 2846, 280530 and 250410 are margins of the estimate (carried
exactly), so they are not tests. Without its reported exports as a margin the flake-graphite balance made
China export 0.9 Mt in 2024, seven times the 126 kt it reported: no source at hand gives
China's own use of its flake. The value of flake graphite is low against the USA's books
(USD 1,400 per t, China's export unit value, against USD 3,650 that the USA records for
purified and spherical grades). No published figure was at hand for Japan's imports of
rare-earth metals (the estimate: 2.9 kt in 2022, 3.0 kt in 2024). A first rare-earth estimate with one price per tonne
of content (China's import value) and no margins had put the United States' 2024 exports of HS
2846 at 4.4 times what it reported; the margins and per-reporter unit values replace it.

Estimates are still not available for artificial graphite (380110) and anode material
(380190), manganese metal (811100), lithium hydroxide (282520) and precious-metal ores
(261690): no output by country for their makers (USGS publishes none; the EU CRM 2023 has no
synthetic-graphite or manganese-metal stage). Two balances were tried and left out because
they failed the figures held out against them. Lithium hydroxide (converters by the EU lithium
processing shares x a quarter of world mine output, users by their imports of lithium
carbonate, China's exports and the USA's imports as margins) gave the USA no exports against
the 8.7 kt it reported in 2024 (the EU shares give it almost no conversion) and sent all its
imports (705 t) from China against the 31 t it booked from China. The PGM balance (USGS platinum mine output against the EU platinum
processing shares) sent Zimbabwe's concentrate to China and Canada rather than to South
Africa's smelters, so it is left out. China's reported exports of 380110 (565 kt, USD 861 m in
2024) are therefore not in the bundled data. Nickel matte and MHP (750110, 750120) carry the
observed flows of BACI's ASEAN extract (ASEAN pairs only, `method = baci_asean_extract`); the
flake-graphite estimate replaces that extract's ASEAN pairs for 250410.
Pairs a sanction or export ban closes (Australia's alumina to Russia, North Korea's tungsten
outside China: `ban` rows of `curated/estimate_routes.csv`, a source each) get no flow; the
allocation is then the RAS fit of a seed with those cells at zero.

## Your own BACI release

`critmin data build --baci BACI_HS17_V202601.zip` (or the extracted folder) reads a CEPII BACI
release as published with DuckDB, streaming (a year is never held in memory), keeps the
concordance's HS6 codes (all codes with `--all-products`), and writes a complete dataset (the
bundled tables with the release's flows, observed, in place of the bundled ones; estimates kept
only for products the release lacks) into the platform's user data folder (`--out DIR` to choose).
Every command then uses it; `--data DIR` or the environment variable `CRITMIN_DATA` choose
another, and `critmin data info` says which dataset is in use and what it was built from. A
truncated or foreign file stops the build with one message and leaves the previous dataset as it
was (the new one is written to a temporary folder and renamed into place).

Rebuild with `make data` (or `critmin data build --source ../shared/data`); `critmin data check`
verifies hashes, row counts, columns and that country figures add up to the USGS world totals
within the published rounding (it says how many it compared in full, how many only as an upper
bound because a country is withheld, and how many it could not: no published world total, or
tables of sub-series such as ilmenite and rutile with several totals), that consecutive USGS
editions agree in units (no table a hundred-fold or more apart in the median over its
countries), that no table holds a row twice (one figure per mineral, stage, measure, country,
year, edition, basis and series; one row per key of the other tables, except the trade flows,
which the calibration adds up where a pair stands on several rows, and the USGS salient
statistics, whose source lists some series twice), and the mass balance of the estimates; with
`--source` it also compares flow totals per HS6 with BACI.
"""
"""Prose appended to the generated docs/data.md."""
