"""Country codes: every spelling used by critmin's sources, resolved to ISO 3166 alpha-3.

Data (all in ``critmin/data/curated/``, reviewed by hand):

* ``countries.csv`` (``iso3, iso2, name, status``): the countries and territories critmin
  knows, with a display name. Built from CEPII's BACI ``country_codes_V202601.csv`` (Etalab
  Open Licence 2.0; its double-encoded UTF-8 names such as ``"TÃ¼rkiye"`` repaired) plus the
  ISO 3166 entries CEPII lacks (Taiwan, Liechtenstein, Réunion...) and ``XKX`` (Kosovo,
  user-assigned, used by the World Bank). ``status`` is ``current``, ``historical`` (USSR,
  Czechoslovakia...), ``user-assigned`` or ``non-iso``.
* ``country_names.csv`` (``source_name, iso3, note``): the name map. Every alternative spelling
  found in the sources (USGS ``"Burma"``, ``"Congo (Kinshasa)"``; EU CRM ``"Congo, D.R."``,
  ``"Turkyie"``; WGI ``"Korea, Rep."`` and legacy codes ``ZAR``/``ROM``/``ADO``/``TMP``/``WBG``/
  ``KSV``; APRI ``"England"``...), each with a note saying where it comes from. An empty
  ``iso3`` marks a name that is known *not* to be a country (``"EU"``, ``"Somaliland"``).
* ``m49_codes.csv`` (``m49, iso3, note``): UN M49 / Comtrade numeric codes. Comtrade's own
  codes (842 USA, 251 FRA, 699 IND, 757 CHE, 579 NOR, 490 "Other Asia, nes" = Taiwan) come
  from the CEPII table; the ISO numeric codes that differ (840, 250, 356, 756, 578, 158) are
  added, and 0 ("World") maps to ``WLD``. Regional "nes" codes, bunkers and free zones map to
  nothing.

Aggregates are not countries: world totals are ``WLD``, residual "Other countries" rows (and
named combinations such as USGS ``"United States and Canada"``) are ``OTH``.
"""

from __future__ import annotations

import csv
import difflib
import io
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from critmin.errors import UnknownCountryError

__all__ = [
    "AGGREGATES",
    "OTHER",
    "WORLD",
    "all_countries",
    "country_name",
    "is_aggregate",
    "m49_to_iso3",
    "require_iso3",
    "strip_estimate_marker",
    "to_iso3",
]

WORLD = "WLD"
"""Code for world totals (never summed with countries)."""
OTHER = "OTH"
"""Code for "Other countries" and other multi-country rows (never summed with countries)."""
AGGREGATES = frozenset({WORLD, OTHER})

_CURATED = "critmin.data.curated"
_FOOTNOTE_DIGITS = re.compile(r"\s*\d+\s*$")
_PARENTHETICAL = re.compile(r"^(?P<head>.+?)\s*\((?P<tail>[^()]*)\)\s*$")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u00b4": "'", "`": "'", "\u00a0": " "})


@dataclass(frozen=True)
class _Tables:
    names: dict[str, str | None]  # normalised key -> iso3 (None: known non-country)
    display: dict[str, str]  # iso3 -> display name
    iso2: dict[str, str]  # iso2 -> iso3
    status: dict[str, str]  # iso3 -> status
    m49: dict[int, str]  # numeric code -> iso3


def _key(text: str) -> str:
    """Normalise a name for lookup: accents, curly quotes, case and spacing do not matter."""
    text = unicodedata.normalize("NFKD", text.translate(_QUOTES))
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    return " ".join(text.casefold().split()).strip(" .")


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files(_CURATED).joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text, newline="")))


@lru_cache(maxsize=1)
def _tables() -> _Tables:
    display: dict[str, str] = {}
    iso2: dict[str, str] = {}
    status: dict[str, str] = {}
    names: dict[str, str | None] = {}
    for row in _read_csv("countries.csv"):
        iso3 = row["iso3"]
        display[iso3] = row["name"]
        status[iso3] = row["status"]
        if row["iso2"]:
            iso2.setdefault(row["iso2"], iso3)
        names[_key(row["name"])] = iso3
    display[WORLD] = "World"
    display[OTHER] = "Other countries"
    for row in _read_csv("country_names.csv"):
        names[_key(row["source_name"])] = row["iso3"] or None
    m49 = {int(row["m49"]): row["iso3"] for row in _read_csv("m49_codes.csv")}
    return _Tables(names=names, display=display, iso2=iso2, status=status, m49=m49)


def _lookup(text: str) -> tuple[bool, str | None]:
    """Exact lookup of a cleaned name: (found, iso3)."""
    tables = _tables()
    key = _key(text)
    if key in tables.names:
        return True, tables.names[key]
    if key.startswith("world total") or key == "world":
        return True, WORLD
    if key.startswith("other countries") or key in ("other", "others"):
        return True, OTHER
    return False, None


def _mentions_country(text: str) -> bool:
    """True if any comma/"and"-separated part of ``text`` is itself a known name."""
    parts = re.split(r",|\band\b", text)
    return any(_lookup(part.strip())[0] for part in parts if part.strip())


def to_iso3(name_or_code: str | int | None) -> str | None:
    """Resolve a country name or code, as spelt by any critmin source, to ISO 3166 alpha-3.

    Accepts ISO3 codes (``"chl"`` too), World Bank legacy codes (``ZAR`` -> ``COD``), ISO2
    codes (upper case only, e.g. ``"CL"``; note that ``"NA"`` is Namibia), M49/Comtrade
    numbers (``842`` or ``"842"``), and names in any source's spelling. Source defects
    handled: surrounding and non-breaking spaces, trailing footnote digits
    (``"Other countries6"``, ``"World total (rounded) 10"``), USGS's superscript-"e"
    estimate marker glued to the name (``"Russiae"``), qualifiers in parentheses or after a
    comma (``"Brazil (beneficiated)"``, ``"Peru, crude borates"``), accents and curly quotes
    (``"Côte d’Ivoire"``). World totals give ``"WLD"``, "Other countries" rows ``"OTH"``.

    Returns ``None`` for anything unknown (callers decide; see :func:`require_iso3`).
    """
    if name_or_code is None:
        return None
    if isinstance(name_or_code, bool):
        return None
    if isinstance(name_or_code, int):
        return m49_to_iso3(name_or_code)
    raw = str(name_or_code).translate(_QUOTES).strip()
    if not raw:
        return None
    if raw.isdigit():
        return m49_to_iso3(int(raw))
    tables = _tables()
    if len(raw) == 3 and raw.isalpha():
        code = raw.upper()
        if code in tables.display:
            return code
        found, iso3 = _lookup(code)  # legacy codes (ZAR, ROM, ...)
        if found:
            return iso3
    if len(raw) == 2 and raw.isalpha() and raw.isupper() and raw in tables.iso2:
        return tables.iso2[raw]
    return _resolve_name(raw)


def _resolve_name(raw: str) -> str | None:
    found, exact = _lookup(raw)
    if found:
        return exact
    text = _FOOTNOTE_DIGITS.sub("", raw).strip()
    if not text:
        return None
    iso3 = _resolve_clean(text)
    if iso3 is not None:
        return iso3
    # USGS estimate marker glued to the name: "Chinae", "Korea, Republic ofe".
    stripped, marked = strip_estimate_marker(text)
    return _resolve_clean(stripped) if marked else None


def _resolve_clean(text: str) -> str | None:
    """Resolve a name without footnote digits, allowing a qualifier after it."""
    found, iso3 = _lookup(text)
    if found:
        return iso3
    # Qualifier in parentheses: "Brazil (beneficiated)", "United States (crude)".
    match = _PARENTHETICAL.match(text)
    if match and not _lookup(match["tail"])[0]:
        found, iso3 = _lookup(match["head"])
        if found:
            return iso3
    # Qualifier after a comma: "Peru, crude borates" (but never "China, Germany, and Russia").
    if "," in text:
        head, tail = text.split(",", 1)
        if not _mentions_country(tail):
            found, iso3 = _lookup(head)
            if found:
                return iso3
    return None


def strip_estimate_marker(name: str) -> tuple[str, bool]:
    """Split USGS's glued superscript-"e" estimate marker off a country name.

    ``"Russiae"`` -> ``("Russia", True)``, ``"Other countriese"`` -> ``("Other countries",
    True)``; ``"Zimbabwe"`` -> ``("Zimbabwe", False)`` because the name itself is known.
    Footnote digits and surrounding spaces are removed first. Only exact known names count,
    so a qualifier cannot hide the marker.
    """
    text = _FOOTNOTE_DIGITS.sub("", name.translate(_QUOTES)).strip()
    if _is_exact(text):
        return text, False
    if text.endswith("e") and _is_exact(text[:-1]):
        return text[:-1], True
    match = re.match(r"^(?P<head>[^(,]+?)e(?P<rest>\s*[(,].*)$", text)
    if match and _is_exact(match["head"]) and not _is_exact(match["head"] + "e"):
        return match["head"] + match["rest"], True
    return text, False


def _is_exact(text: str) -> bool:
    key = _key(text)
    return key in _tables().names or key in ("world total", "other countries", "world", "other")


def m49_to_iso3(code: int | str) -> str | None:
    """ISO3 for a UN M49 / Comtrade numeric code (``842`` -> ``"USA"``, ``490`` -> ``"TWN"``).

    ``0`` (Comtrade "World") gives ``"WLD"``. Regional "nes" areas (e.g. 568, 577, 636, 899),
    bunkers (837), free zones (838), special categories (839) and unknown codes give ``None``.
    """
    try:
        number = int(code)
    except (TypeError, ValueError):
        return None
    return _tables().m49.get(number)


def country_name(iso3: str) -> str:
    """Display name for an ISO3 code (``"COD"`` -> ``"Congo (Kinshasa)"``).

    ``WLD`` and ``OTH`` have names too. Raises :class:`UnknownCountryError` for an unknown code.
    """
    code = str(iso3).strip().upper()
    display = _tables().display
    if code not in display:
        raise UnknownCountryError(
            f"unknown country code {iso3!r}; expected an ISO 3166 alpha-3 code such as 'CHL'"
            + _suggest(str(iso3))
        )
    return display[code]


def all_countries(include_historical: bool = False) -> list[str]:
    """Sorted ISO3 codes of every country and territory critmin knows.

    Excludes the aggregates ``WLD``/``OTH`` and, unless asked, historical entities (USSR,
    Czechoslovakia, Serbia and Montenegro, German Democratic Republic, Netherlands Antilles).
    """
    status = _tables().status
    return sorted(
        code for code, state in status.items() if include_historical or state != "historical"
    )


def is_aggregate(code: str) -> bool:
    """True for ``WLD`` and ``OTH``: rows that must never enter a sum over countries."""
    return code in AGGREGATES


def _suggest(text: str) -> str:
    tables = _tables()
    candidates = {**{_key(v): v for v in tables.display.values()}}
    matches = difflib.get_close_matches(_key(text), list(candidates), n=3, cutoff=0.6)
    if not matches:
        return ""
    names = ", ".join(repr(candidates[m]) for m in matches)
    return f" (did you mean {names}?)"


def require_iso3(name: str | int | None, context: str = "") -> str:
    """Like :func:`to_iso3` but raise :class:`UnknownCountryError` for an unknown input.

    The message names the input, the ``context`` (e.g. a file or field) and close matches.
    """
    iso3 = to_iso3(name)
    if iso3 is None:
        where = f" in {context}" if context else ""
        raise UnknownCountryError(
            f"unknown country {name!r}{where}; expected a country name or ISO3 code"
            + _suggest(str(name))
        )
    return iso3
