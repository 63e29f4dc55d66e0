"""USGS Mineral Commodity Summaries: world production, capacity and reserves.

Readers for every edition critmin uses, all returning the ``mineral_supply`` schema of
docs/architecture.md (one row per commodity x type x country x measure x year):

* :func:`read_mcs_world_per_commodity`: the per-commodity ``mcs20XX-<code>_world.csv`` files
  of the MCS2022 (subset), MCS2023 and MCS2024 data releases (wide: one column per measure and
  year, e.g. ``Prod_t_2022``, ``Prod_kt_est_2023``, ``Reserves_kg``, ``Cap_Pigment_t_2023``).
* :func:`read_mcs2025_world`: the long ``MCS2025_World_Data.csv`` (doi:10.5066/P13XCP3R).
* :func:`read_mcs2026`: the world rows of ``MCS2026_Commodities_Data.csv``
  (doi:10.5066/P1WKQ63T).
* :func:`read_mcs_world_dir`: all the world files of one edition in a folder.

Units: ``value_t`` is metric tonnes, converted once from the published unit (kg, t, kt, Mt,
carats at 200 mg). Gas volumes (helium, rare gases: million cubic metres / litres) are not
masses: their ``value_t`` is NaN with ``missing_reason="non_mass_unit"`` and the published
number is kept in ``value``. Extra columns after the contract's: ``value`` (number in
``unit_source``), ``value_text`` (the cell as published) and ``type_text`` (the source's type
or statistic label).

Source defects handled (see ../shared/data/SOURCES.md and the notes below): UTF-8 BOM;
dozens of empty trailing columns and rows; numbers as text (``"1,700"``, ``">2000000"``,
``W``, ``NA``, ``Large``, ``--``, ``—``, ``XX``); headers that change per edition and commodity
(``Prod_t_2021`` / ``Prod_t_est_2022`` / ``Prod_t_Est_2021`` / ``Prod_note`` / ``PROD_EST_ 2024``
with a stray space); country names with trailing spaces, non-breaking spaces, footnote
digits and a glued estimate marker (``"Russiae"`` -> Russia, estimated); the misspelt
``"Gemanium"``; commodity names with trailing spaces; the MCS2024 fluorspar file whose
``Type`` header is replaced by a type label; world files with an empty ``Source`` column (the
edition then comes from the file name); ``"MCS 2024"`` with a space in ``Source``
(aluminum); headerless columns that repeat the reserves (MCS2024 barite, vermiculite: ignored);
MCS2025 reserve markers (``Large``, ``NA``) written in the notes column instead of the value
column; an MCS2025 row with an empty ``UNIT_MEAS`` (Sierra Leone rutile: filled from its
table); combined-country rows (``"United States and Canada"``) mapped to ``OTH``; MCS2026
cp1252 encoding and ``—`` for none. Blank capacity/reserves cells of tables that publish no
such measure are dropped; blank production cells are kept with ``missing_reason="blank"``.

Unit labels that contradict the source's own notes and the other editions are read in the
unit the curated ``usgs_unit_corrections.csv`` gives, with a reason per row (MCS2023 chromium
production, MCS2025 titanium mineral concentrates and industrial sand: thousand metric tons
labelled as tons); ``unit_source`` keeps the published label and ``note`` says so.

Not resolved here (kept as published): the MCS2026 chromium chapter header says "chromium
content" while its notes say production is gross weight; ``basis`` follows the header.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

import numpy as np
import pandas as pd

from critmin.countries import require_iso3, strip_estimate_marker, to_iso3
from critmin.errors import SourceFormatError, UnknownCountryError
from critmin.sources._parse import (
    mass_factor,
    parse_numbers,
    read_csv_text,
    require_columns,
    reviewed_rows,
    slug,
)

__all__ = [
    "MINERAL_SUPPLY_COLUMNS",
    "mineral_id",
    "read_mcs2025_world",
    "read_mcs2026",
    "read_mcs_world_dir",
    "read_mcs_world_per_commodity",
]

MINERAL_SUPPLY_COLUMNS: list[str] = [
    "mineral",
    "commodity",
    "stage",
    "measure",
    "country",
    "country_name",
    "year",
    "value_t",
    "missing_reason",
    "basis",
    "estimated",
    "edition",
    "unit_source",
    "source_file",
    "source_row",
    "note",
]
"""The ``mineral_supply`` schema (docs/architecture.md), in order."""

_EXTRA_COLUMNS = ["value", "value_text", "type_text"]


def file_codes() -> dict[str, str]:
    """Commodity names for the file codes of the per-commodity files (``lithi`` -> Lithium;
    ``data/curated/usgs_file_codes.csv``, spelt as in MCS2025)."""
    return {r["code"]: r["commodity"] for r in reviewed_rows("usgs_file_codes", "source")}


def mineral_aliases() -> dict[str, str]:
    """Slugs of USGS commodity names that differ between editions or from critmin's id ->
    one critmin mineral id (``data/curated/usgs_mineral_aliases.csv``: ``gemanium`` ->
    germanium, ``barite`` -> baryte)."""
    return {r["usgs_slug"]: r["mineral"] for r in reviewed_rows("usgs_mineral_aliases")}


# Minerals USGS reports in element content when the label does not say so.
_CONTAINED_BY_DEFAULT = frozenset(
    {
        "aluminum", "antimony", "beryllium", "bismuth", "bromine", "cadmium", "cobalt",
        "copper", "gallium", "germanium", "gold", "indium", "iodine", "lead", "lithium",
        "magnesium_metal", "manganese", "mercury", "molybdenum", "nickel", "niobium",
        "palladium", "platinum", "platinum_group_metals", "rhenium", "selenium", "silver",
        "strontium", "tantalum", "tellurium", "tin", "tungsten", "vanadium", "zinc",
        "titanium_sponge_metal",
    }
)  # fmt: skip

# Commodities that are plant/refinery products whatever the label says.
_PROCESSED = frozenset(
    {
        "abrasives", "alumina", "aluminum", "arsenic", "bismuth", "cadmium", "cement",
        "gallium", "germanium", "indium", "iron_and_steel", "lime", "magnesium_metal",
        "nitrogen_fixed_ammonia", "selenium", "silicon", "tellurium", "tio2_pigment",
        "titanium_sponge_metal",
    }
)  # fmt: skip

_MINE_RE = re.compile(r"\bmi?ne\b|mine |poduction|\bmining\b|\bmined\b", re.I)
_REFINE_RE = re.compile(
    r"refin|smelt|primary|secondary|plant|sponge|pigment|\bmetal\b|alumina|pig iron|"
    r"steel|synthetic|cement|clinker|ferrosilicon|silicon|compounds|capacity|ammonia",
    re.I,
)
_ESTIMATED_RE = re.compile(r"\bestimated?\b", re.I)


def mineral_id(commodity: str, type_text: str = "", measure: str = "production") -> str:
    """critmin mineral id for a USGS commodity name and type label.

    A slug of the commodity (``"Rare earths "`` -> ``rare_earths``) with edition spellings
    unified (``"Gemanium"`` -> ``germanium``, ``"Graphite (Natural)"`` -> ``graphite``). The
    platinum-group metals split into ``palladium`` / ``platinum`` by the type label (combined
    PGM reserves stay ``platinum_group_metals``); bauxite-file alumina rows become ``alumina``;
    the titanium-metal chapter splits into ``titanium_sponge_metal`` and ``tio2_pigment`` by
    the product the label names last (MCS2023/2024 put the table title, which names both, before
    the column's own product).
    """
    base = slug(commodity)
    base = mineral_aliases().get(base, base)
    text = type_text.casefold()
    if base in ("platinum_group_metals", "palladium", "platinum"):
        if measure == "reserves" and base == "platinum_group_metals":
            return "platinum_group_metals"
        if "palladium" in text:
            return "palladium"
        if "platinum" in text and "group" not in text and "pgm" not in text:
            return "platinum"
        return base
    if base == "bauxite" and "alumina" in text and measure != "reserves":
        return "alumina"
    if base in ("titanium_sponge_metal", "tio2_pigment"):
        # MCS2023/2024 title every row "Sponge Metal Production and Sponge and Pigment
        # Capacity" and the column adds its product after it ("... Sponge", "... Pigment"):
        # the product named last is the row's.
        sponge, pigment = text.rfind("sponge"), text.rfind("pigment")
        if pigment > sponge:
            return "tio2_pigment"
        if sponge > pigment:
            return "titanium_sponge_metal"
    return base


def _stage(type_text: str, measure: str, section: str = "", mineral: str = "") -> str:
    """``mine`` or ``refine`` from the type label, the mineral, then the section title."""
    if measure == "reserves":
        return "mine"
    if _MINE_RE.search(type_text):
        return "mine"
    if _REFINE_RE.search(type_text) or mineral in _PROCESSED:
        return "refine"
    if _MINE_RE.search(section):
        return "mine"
    if _REFINE_RE.search(section):
        return "refine"
    return "refine" if measure == "capacity" else "mine"


def _basis_of(text: str) -> str | None:
    """The quantity basis a label states, or None if it states none."""
    t = text.casefold()
    if "rare-earth-oxide" in t or re.search(r"\breo\b", t):
        return "REO"
    checks = [
        (("k2o", "potassium oxide"), "K2O"),
        (("tio2", "titanium dioxide"), "TiO2"),
        (("mgo", "magnesium oxide"), "MgO"),
        (("boric oxide", "b2o3"), "B2O3"),
        (("cr2o3",), "Cr2O3"),
        (("zro2",), "ZrO2"),
        (("y2o3",), "Y2O3"),
        (("scandium oxide", "sc2o3"), "Sc2O3"),
        (("arsenic trioxide",), "As2O3"),
        (("lithium carbonate equivalent", "lce"), "LCE"),
    ]
    for needles, basis in checks:
        if any(n in t for n in needles):
            return basis
    if re.search(r"gross|\bores?\b|crude|usable|concentrates?\b|marketable", t):
        return "gross"
    if re.search(r"content|contained|elemental", t):
        return "contained"
    return None


def _default_basis(mineral: str) -> str:
    return "contained" if mineral in _CONTAINED_BY_DEFAULT else "gross"


def _edition_from_name(path: Path) -> str | None:
    match = re.search(r"mcs[ _-]?(\d{4})", path.name, re.I)
    return f"MCS{match.group(1)}" if match else None


def _resolve_countries(names: pd.Series, path: Path) -> pd.DataFrame:
    """Map raw country names -> (country, country_name, estimated marker); strict."""
    uniques = pd.unique(names.to_numpy())
    table: dict[str, tuple[str, str, bool]] = {}
    for raw in uniques:
        raw_s = str(raw)
        clean, marked = strip_estimate_marker(raw_s)
        iso3 = to_iso3(clean)
        if iso3 is None:
            try:
                require_iso3(clean, f"{path.name}")
            except UnknownCountryError as exc:
                raise SourceFormatError(path, str(exc)) from exc
        table[raw_s] = (str(iso3), " ".join(clean.split()), marked)
    rows = [table[str(n)] for n in names.to_numpy()]
    return pd.DataFrame(
        {
            "country": [r[0] for r in rows],
            "country_name": [r[1] for r in rows],
            "name_estimated": np.array([r[2] for r in rows], dtype=bool),
        },
        index=names.index,
    )


def _convert(values: pd.DataFrame, units: pd.Series, path: Path) -> pd.DataFrame:
    """Add ``value_t`` (tonnes) to parsed values given the published unit of each row."""
    factors: dict[str, float | None] = {}
    for unit in pd.unique(units.to_numpy()):
        try:
            factors[str(unit)] = mass_factor(str(unit))
        except KeyError as exc:
            raise SourceFormatError(path, f"unknown unit {unit!r}") from exc
    factor = units.astype(str).map(lambda u: np.nan if factors[u] is None else factors[u])
    out = values.copy()
    out["value_t"] = out["value"] * factor.astype(float)
    non_mass = factor.isna() & out["value"].notna()
    out.loc[non_mass, "missing_reason"] = "non_mass_unit"
    return out


def _reviewed_units(frame: pd.DataFrame) -> pd.Series:
    """The unit of each row to convert with: the published ``unit_source``, except where
    ``data/curated/usgs_unit_corrections.csv`` says the source's unit label contradicts its
    own notes and the other editions (MCS2023 chromium production headed ``_t`` but noted
    "thousand metric tons"; MCS2025 titanium mineral concentrates and industrial sand labelled
    "metric tons" with figures in thousand metric tons). ``unit_source`` keeps the published
    label; the row's ``note`` says what was read instead and why to look."""
    units = frame["unit_source"].astype(str)
    for row in reviewed_rows("usgs_unit_corrections"):
        hit = (
            frame["source_file"].eq(row["source_file"])
            & frame["commodity"].astype(str).str.strip().eq(row["commodity"])
            & units.eq(row["published_unit"])
        )
        if row["measure"]:
            hit &= frame["measure"].eq(row["measure"])
        units = units.where(~hit, row["unit"])
    return units


def _convert_reviewed(frame: pd.DataFrame, path: Path) -> pd.DataFrame:
    """:func:`_convert` with the reviewed units of :func:`_reviewed_units`; a corrected row's
    ``note`` gains "critmin: read in <unit>, not the published <unit>"."""
    units = _reviewed_units(frame)
    out = _convert(frame, units, path)
    fixed = units.ne(frame["unit_source"].astype(str))
    if fixed.any():
        said = (
            "critmin: read in "
            + units[fixed]
            + ", not the published "
            + frame.loc[fixed, "unit_source"].astype(str)
            + " (curated/usgs_unit_corrections.csv)"
        )
        note = out.loc[fixed, "note"].astype(str)
        out.loc[fixed, "note"] = note.where(note.eq(""), note + " -- ") + said
    return out


def _finish(frame: pd.DataFrame) -> pd.DataFrame:
    """Order columns and fix dtypes of a mineral_supply frame."""
    frame = frame.reset_index(drop=True)
    frame["year"] = frame["year"].astype("int64")
    frame["source_row"] = frame["source_row"].astype("int64")
    frame["estimated"] = frame["estimated"].astype(bool)
    frame["value_t"] = frame["value_t"].astype(float)
    frame["value"] = frame["value"].astype(float)
    frame["missing_reason"] = frame["missing_reason"].astype(object)
    frame["missing_reason"] = frame["missing_reason"].where(frame["missing_reason"].notna(), None)
    return frame[MINERAL_SUPPLY_COLUMNS + _EXTRA_COLUMNS]


def _drop_unpublished(frame: pd.DataFrame) -> pd.DataFrame:
    """Drop capacity/reserves cells of tables that publish no such figure at all.

    Wide layouts give every row a capacity and a reserves cell; when a whole table
    (commodity x type x measure x year) leaves them empty the measure is simply not
    published, not missing. Production cells are always kept (MCS2025 germanium is
    all empty and stays visible as such).
    """
    published = frame["value_text"].ne("")
    keys = [frame["commodity"], frame["type_text"], frame["measure"], frame["year"]]
    any_published = published.groupby(keys).transform("any")
    keep = frame["measure"].eq("production") | any_published.astype(bool)
    # A row typed "Reserves, ..." or "... capacity" has no production figure to miss.
    other_typed = frame["type_text"].str.contains(r"^reserves|capacity", case=False, regex=True)
    keep &= ~(frame["measure"].eq("production") & other_typed & ~published)
    return frame.loc[keep]


# --------------------------------------------------------------------------------------------
# MCS2022-2024 per-commodity world files
# --------------------------------------------------------------------------------------------

_WORLD_VALUE_COL = re.compile(r"^(?P<measure>Prod|Cap|Reserves)_(?P<rest>.+)$", re.I)
_WORLD_NOTES_COL = re.compile(r"^(?P<measure>Prod|Cap|Reserves?)_notes?$", re.I)
_MEASURES = {"prod": "production", "cap": "capacity", "reserves": "reserves"}
_FILE_CODE = re.compile(r"mcs\d{4}-?(?P<code>[a-z0-9-]+?)_(?:world|salient)", re.I)


class _WorldColumn:
    """A parsed value header such as ``Prod_kt_est_2023`` or ``Reserves_ore_K2O_equiv_kt``."""

    def __init__(self, header: str, path: Path) -> None:
        match = _WORLD_VALUE_COL.match(header)
        if match is None:
            raise SourceFormatError(path, f"unrecognised column {header!r}")
        self.header = header
        self.measure = _MEASURES[match["measure"].casefold()]
        tokens = [t for t in match["rest"].split("_") if t]
        self.year: int | None = None
        self.estimated = False
        if tokens and re.fullmatch(r"\d{4}", tokens[-1]):
            self.year = int(tokens.pop())
        if tokens and tokens[-1].casefold() == "est":
            self.estimated = True
            tokens.pop()
        if not tokens:
            raise SourceFormatError(path, f"column {header!r} states no unit")
        self.unit = tokens[-1]
        try:
            mass_factor(self.unit)
        except KeyError as exc:
            raise SourceFormatError(
                path, f"unknown unit {self.unit!r} in column {header!r}"
            ) from exc
        self.qualifiers = " ".join(tokens[:-1])


def _commodity_for_file(path: Path) -> str:
    match = _FILE_CODE.search(path.name)
    if match is None:
        raise SourceFormatError(
            path, "file name does not follow 'mcs20XX-<code>_world.csv'; commodity unknown"
        )
    code = match["code"].casefold()
    return file_codes().get(code, code)


def read_mcs_world_per_commodity(path: str | Path) -> pd.DataFrame:
    """Read one per-commodity world file (MCS2022 subset, MCS2023, MCS2024).

    Columns ``Source, Country, Type`` then value columns named ``<Prod|Cap|Reserves>_
    [qualifier_]<unit>[_est]_<year>`` (``est``/``Est`` => ``estimated=True``; reserves carry no
    year: they are for the edition's last data year, i.e. edition - 1) and notes columns
    (``Prod_notes``/``Prod_note``/``Reserves_notes``/``Cap_notes``). The commodity comes from
    the file code (``mcs2024-lithi_world.csv`` -> Lithium), the edition from ``Source``.

    Returns the ``mineral_supply`` schema; raises SourceFormatError for an unreadable file,
    missing ``Source``/``Country`` columns, an unknown unit or an unknown country name.
    """
    p = Path(path)
    raw = read_csv_text(p, header=False)
    header = [str(h).strip() for h in raw.iloc[0]]
    if len(header) < 4 or header[0] != "Source" or header[1] != "Country":
        raise SourceFormatError(
            p,
            "not a USGS MCS world table: expected columns 'Source', 'Country', 'Type', ...; "
            f"found {', '.join(map(repr, header[:6]))}",
        )
    commodity = _commodity_for_file(p)
    body = raw.iloc[1:].copy()
    body.columns = pd.Index(range(len(header)))
    # Column 2 is the type label; MCS2024 fluorspar names it "Mine production, fluorspar".
    value_cols: list[tuple[int, _WorldColumn]] = []
    notes_cols: dict[str, int] = {}
    for i, name in enumerate(header[3:], start=3):
        if not name:
            # Headerless columns are ignored: MCS2024 barite repeats its reserves there.
            continue
        notes = _WORLD_NOTES_COL.match(name)
        if notes:
            key = notes["measure"].casefold().rstrip("s")
            notes_cols[{"prod": "production", "cap": "capacity", "reserve": "reserves"}[key]] = i
            continue
        value_cols.append((i, _WorldColumn(name, p)))
    if not value_cols:
        raise SourceFormatError(p, "no production, capacity or reserves columns")

    country_blank = body[1].str.strip().eq("")
    body = body.loc[~country_blank]
    if body.empty:
        raise SourceFormatError(p, "the table holds no country rows")

    sources = body[0].str.strip()
    editions = sorted({re.sub(r"\s+", "", e).upper() for e in sources[sources.ne("")]})
    if len(editions) > 1:
        raise SourceFormatError(p, f"several editions in one file: {editions}")
    edition = editions[0] if editions else _edition_from_name(p)
    if edition is None or not re.fullmatch(r"MCS\d{4}", edition):
        raise SourceFormatError(p, f"cannot tell the MCS edition (Source column: {editions})")
    years = [c.year for _, c in value_cols if c.year is not None]
    reserves_year = max(years) if years else int(edition[3:]) - 1

    countries = _resolve_countries(body[1], p)
    type_text = body[2].str.strip()
    parts: list[pd.DataFrame] = []
    for col, spec in value_cols:
        parsed = parse_numbers(body[col])
        label = (type_text + " " + spec.qualifiers).str.strip()
        frame = pd.DataFrame(
            {
                "commodity": commodity,
                "measure": spec.measure,
                "country": countries["country"],
                "country_name": countries["country_name"],
                "year": spec.year if spec.year is not None else reserves_year,
                "value": parsed["value"],
                "missing_reason": parsed["missing_reason"],
                "value_text": parsed["value_text"],
                "estimated": parsed["estimated"] | spec.estimated | countries["name_estimated"],
                "edition": edition,
                "unit_source": spec.unit,
                "source_file": p.name,
                "source_row": body.index.to_numpy(),
                "note": body[notes_cols[spec.measure]].str.strip()
                if spec.measure in notes_cols
                else "",
                "type_text": label,
            },
            index=body.index,
        )
        frame = _convert_reviewed(frame, p)
        parts.append(frame)
    out = _drop_unpublished(pd.concat(parts, ignore_index=True))
    return _finish(_annotate(out, pd.Series("", index=out.index)))


def _annotate(
    frame: pd.DataFrame, section: pd.Series, header_basis: pd.Series | None = None
) -> pd.DataFrame:
    """Add mineral, stage and basis columns from commodity, type label, measure, section."""
    keys = pd.DataFrame(
        {
            "commodity": frame["commodity"],
            "type_text": frame["type_text"],
            "measure": frame["measure"],
            "section": section,
            "header_basis": header_basis if header_basis is not None else "",
        }
    ).astype(str)
    rows = [tuple(str(v) for v in r) for r in keys.itertuples(index=False)]
    table: dict[tuple[str, ...], tuple[str, str, str]] = {}
    for row in dict.fromkeys(rows):
        commodity, type_text, measure, section_text, stated_basis = row
        mineral = mineral_id(commodity, type_text, measure)
        stage = _stage(type_text, measure, section_text, mineral)
        basis = (
            _basis_of(type_text)
            or _basis_of(section_text)
            or (stated_basis or None)
            or _default_basis(mineral)
        )
        table[row] = (mineral, stage, basis)
    looked = [table[r] for r in rows]
    out = frame.copy()
    out["mineral"] = [v[0] for v in looked]
    out["stage"] = [v[1] for v in looked]
    out["basis"] = [v[2] for v in looked]
    out["commodity"] = out["commodity"].astype(str).str.strip()
    return out


# --------------------------------------------------------------------------------------------
# MCS2025 long world file
# --------------------------------------------------------------------------------------------

_M25_VALUE_COL = re.compile(r"^(?P<measure>PROD|CAP|RESERVES)(?P<est>_EST)?_(?P<year>\d{4})$")
_M25_NOTES = {"production": "PROD_NOTES", "capacity": "CAP_NOTES", "reserves": "RESERVE_NOTES"}
_MARKER_NOTE = re.compile(
    r"^(W|NA|XX|--|—|Large|Small|Moderate|Very small|Moderate to large)$", re.I
)


def read_mcs2025_world(path: str | Path) -> pd.DataFrame:
    """Read ``MCS2025_World_Data.csv`` (or its critical-minerals row subset).

    Long format: ``SOURCE, COMMODITY, COUNTRY, TYPE, UNIT_MEAS`` then ``PROD_2023``,
    ``PROD_EST_ 2024`` (stray space, estimated), ``PROD_NOTES``, ``CAP_2023``,
    ``CAP_EST_ 2024``, ``CAP_NOTES``, ``RESERVES_2024``, ``RESERVE_NOTES``. The unit is per row
    in ``UNIT_MEAS``. A type label containing "estimated" marks all its values estimated.
    Reserve markers written in ``RESERVE_NOTES`` with an empty value (``Large``, ``NA``) are
    read as the value. Rows whose every value cell is empty (e.g. all germanium rows, which
    the source also misspells "Gemanium") are kept with ``missing_reason="blank"``.
    """
    p = Path(path)
    frame = read_csv_text(p, encodings=("utf-8-sig", "cp1252"))
    frame.columns = pd.Index([re.sub(r"\s+", "", str(c)).upper() for c in frame.columns])
    require_columns(frame, ["SOURCE", "COMMODITY", "COUNTRY", "TYPE", "UNIT_MEAS"], p)
    value_cols = [(c, _M25_VALUE_COL.match(c)) for c in frame.columns]
    specs = [(c, m) for c, m in value_cols if m is not None]
    if not specs:
        raise SourceFormatError(p, "no PROD_/CAP_/RESERVES_<year> columns")
    frame = frame.loc[frame["COUNTRY"].str.strip().ne("")]
    editions = sorted(set(frame["SOURCE"].str.strip()) - {""})
    if len(editions) != 1 or not re.fullmatch(r"MCS\d{4}", editions[0]):
        raise SourceFormatError(p, f"expected one MCS edition in SOURCE, found {editions}")
    edition = editions[0]
    countries = _resolve_countries(frame["COUNTRY"], p)
    type_text = frame["TYPE"].str.strip()
    type_estimated = type_text.str.contains(_ESTIMATED_RE, na=False)
    units = _fill_units(frame["UNIT_MEAS"].str.strip(), frame["COMMODITY"], type_text)
    parts: list[pd.DataFrame] = []
    for col, match in specs:
        measure = {"PROD": "production", "CAP": "capacity", "RESERVES": "reserves"}[
            match["measure"]
        ]
        notes_col = _M25_NOTES[measure]
        notes = frame[notes_col].str.strip() if notes_col in frame.columns else None
        cells = frame[col]
        if notes is not None:
            marker = cells.str.strip().eq("") & notes.str.fullmatch(_MARKER_NOTE, na=False)
            cells = cells.where(~marker, notes)
            notes = notes.where(~marker, "")
        parsed = parse_numbers(cells)
        if notes is not None:
            # an empty cell whose note says "W for 23-24" is withheld, not blank
            withheld = cells.str.strip().eq("") & notes.str.match(r"^W\b", na=False)
            parsed.loc[withheld, "missing_reason"] = "W"
        part = pd.DataFrame(
            {
                "commodity": frame["COMMODITY"].str.strip(),
                "measure": measure,
                "country": countries["country"],
                "country_name": countries["country_name"],
                "year": int(match["year"]),
                "value": parsed["value"],
                "missing_reason": parsed["missing_reason"],
                "value_text": parsed["value_text"],
                "estimated": parsed["estimated"]
                | bool(match["est"])
                | (type_estimated & (measure != "reserves"))
                | countries["name_estimated"],
                "edition": edition,
                "unit_source": units,
                "source_file": p.name,
                "source_row": frame.index.to_numpy() + 1,
                "note": notes if notes is not None else "",
                "type_text": type_text,
            },
            index=frame.index,
        )
        has_any = part["value_text"].ne("")
        blank_unit = part["unit_source"].eq("")
        if (has_any & blank_unit).any():
            row = int(part.loc[has_any & blank_unit, "source_row"].iloc[0])
            raise SourceFormatError(p, f"data row {row} has values but no UNIT_MEAS")
        part = part.loc[~blank_unit]
        part = _convert_reviewed(part, p)
        parts.append(part)
    out = _drop_unpublished(pd.concat(parts, ignore_index=True))
    return _finish(_annotate(out, pd.Series("", index=out.index)))


def _fill_units(units: pd.Series, commodity: pd.Series, type_text: pd.Series) -> pd.Series:
    """Fill an empty ``UNIT_MEAS`` from the other rows of the same commodity and type.

    MCS2025 leaves the unit empty on one row (Titanium Mineral Concentrates, Sierra Leone,
    rutile) although every other row of that table says "metric tons".
    """
    keys = commodity.str.strip() + "\x1f" + type_text
    known = pd.DataFrame({"key": keys, "unit": units}).loc[units.ne("")]
    per_key = known.groupby("key")["unit"].agg(lambda u: u.iloc[0] if u.nunique() == 1 else "")
    filled = keys.map(per_key).fillna("")
    return units.where(units.ne(""), filled)


# --------------------------------------------------------------------------------------------
# MCS2026 long commodities file
# --------------------------------------------------------------------------------------------

MCS2026_COLUMNS = [
    "MCS chapter",
    "Section",
    "Commodity",
    "Country",
    "Statistics",
    "Statistics_detail",
    "Unit",
    "Year",
    "Value",
    "Notes",
]


def read_mcs2026_table(path: str | Path) -> pd.DataFrame:
    """Read ``MCS2026_Commodities_Data.csv`` as strings (cp1252, with a UTF-8 fallback).

    Checks the required columns; ``source_row`` is the 1-based data row. Shared by
    :func:`read_mcs2026` and :func:`critmin.sources.usgs_salient.read_mcs2026_salient`.
    """
    p = Path(path)
    frame = read_csv_text(p, encodings=("utf-8-sig", "cp1252"))
    require_columns(frame, MCS2026_COLUMNS, p)
    frame = frame.copy()
    frame["source_row"] = frame.index.to_numpy() + 1
    for col in ("Section", "Commodity", "Country", "Statistics", "Statistics_detail", "Unit"):
        frame[col] = frame[col].str.replace("\u00a0", " ").str.strip()
    return frame


def _header_basis(other_notes: pd.Series) -> pd.Series:
    """Basis stated in the chapter header "(Data in metric tons, lithium content, ...)"."""
    out: dict[str, str] = {}
    for text in pd.unique(other_notes.to_numpy()):
        t = str(text)
        start = t.find("(Data in ")
        basis = ""
        if start >= 0:
            segment = t[start + len("(Data in ") :]
            segment = re.split(r"unless otherwise specified|\)\s*--|\)\s*$", segment)[0]
            found = _basis_of(segment)
            basis = found or ""
        out[t] = basis
    return other_notes.astype(str).map(out)


def read_mcs2026(path: str | Path) -> pd.DataFrame:
    """World production, capacity and reserves from ``MCS2026_Commodities_Data.csv``.

    Keeps rows whose ``Section`` starts with "World" (e.g. "World Mine Production and
    Reserves", "World Refinery Production and Capacity"); ``Statistics`` gives the measure
    (Production / Reserves / Capacity), ``Statistics_detail`` the type ("Mine production",
    "Refinery production", "Reserves: rounded"...), ``Unit`` the unit, ``Year`` the year.
    ``estimated`` is True when the row's notes say "Estimated". The basis comes from the
    detail label, else from the chapter header in ``Other notes`` ("(Data in metric tons,
    lithium content, ...)"), else the mineral's default. Rows that only give a sentence as
    the statistic (e.g. slag "between 330 million and 390 million tons") are kept, with
    the range as a band. Numbers have thousands separators; ``—`` is "none".
    """
    p = Path(path)
    table = read_mcs2026_table(p)
    world = table.loc[table["Section"].str.casefold().str.startswith("world")].copy()
    if world.empty:
        raise SourceFormatError(p, "no 'World ...' sections: not the MCS2026 commodities file")
    measure = (
        world["Statistics"]
        .str.casefold()
        .map({"production": "production", "reserves": "reserves", "capacity": "capacity"})
    )
    unknown = measure.isna()
    if unknown.any():
        odd = sorted(set(world.loc[unknown, "Statistics"]))
        raise SourceFormatError(p, f"unknown Statistics value(s) in world rows: {odd}")
    years = pd.to_numeric(world["Year"].str.strip(), errors="coerce")
    if years.isna().any():
        bad = world.loc[years.isna(), "Year"].iloc[0]
        raise SourceFormatError(p, f"world row with a non-numeric Year {bad!r}")
    countries = _resolve_countries(world["Country"], p)
    parsed = parse_numbers(world["Value"])
    notes = world["Notes"].str.strip()
    other = (
        world["Other notes"] if "Other notes" in world.columns else pd.Series("", index=world.index)
    )
    frame = pd.DataFrame(
        {
            "commodity": world["Commodity"],
            "measure": measure.astype(str),
            "country": countries["country"],
            "country_name": countries["country_name"],
            "year": years.astype("int64"),
            "value": parsed["value"],
            "missing_reason": parsed["missing_reason"],
            "value_text": parsed["value_text"],
            "estimated": parsed["estimated"]
            | notes.str.contains(_ESTIMATED_RE, na=False)
            | countries["name_estimated"],
            "edition": "MCS2026",
            "unit_source": world["Unit"],
            "source_file": p.name,
            "source_row": world["source_row"],
            "note": notes,
            "type_text": world["Statistics_detail"],
        },
        index=world.index,
    )
    frame = _convert(frame, frame["unit_source"], p)
    annotated = _annotate(frame, world["Section"], _header_basis(other.astype(str)))
    return _finish(annotated)


# --------------------------------------------------------------------------------------------
# Folder convenience
# --------------------------------------------------------------------------------------------


def _world_files(folder: Path) -> Iterable[Path]:
    for p in sorted(folder.iterdir()):
        name = p.name.casefold()
        if not p.is_file():
            continue
        if name.endswith("_world.csv") or name in (
            "mcs2025_world_data.csv",
            "mcs2026_commodities_data.csv",
        ):
            yield p


def read_mcs_world_dir(folder: str | Path, edition: str | None = None) -> pd.DataFrame:
    """Read every world file of one MCS edition in ``folder`` and stack them.

    Recognises the per-commodity ``*_world.csv`` files, ``MCS2025_World_Data.csv`` and
    ``MCS2026_Commodities_Data.csv`` (the MCS2025 critical-minerals subset file is skipped
    when the complete file is present). With ``edition`` (e.g. ``"MCS2024"``) only that
    edition's rows are kept; without it the folder must hold a single edition.
    """
    p = Path(folder)
    if not p.is_dir():
        raise SourceFormatError(p, "not a folder")
    frames: list[pd.DataFrame] = []
    for file in _world_files(p):
        name = file.name.casefold()
        if name == "mcs2025_world_data.csv":
            frames.append(read_mcs2025_world(file))
        elif name == "mcs2026_commodities_data.csv":
            frames.append(read_mcs2026(file))
        else:
            frames.append(read_mcs_world_per_commodity(file))
    if not frames:
        subset = p / "MCS2025_World_Data_critical_subset.csv"
        if subset.is_file():
            frames.append(read_mcs2025_world(subset))
    if not frames:
        raise SourceFormatError(p, "no USGS MCS world files (*_world.csv, MCS2025_World_Data.csv)")
    out = pd.concat(frames, ignore_index=True)
    editions = sorted(set(out["edition"]))
    if edition is not None:
        out = out.loc[out["edition"] == edition].reset_index(drop=True)
        if out.empty:
            raise SourceFormatError(p, f"no {edition} rows; editions found: {editions}")
    elif len(editions) > 1:
        raise SourceFormatError(p, f"several editions {editions}; pass edition= to choose one")
    return out
