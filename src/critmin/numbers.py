"""Numbers for people and for JSON: the one place that cleans and formats them.

- :func:`finite_or_none` and :func:`clean` make values JSON-safe (NaN and inf become ``None``,
  numpy scalars become Python numbers), for the results contract, assess records, the web API and
  the report.
- :func:`usd`, :func:`pct`, :func:`pp`, :func:`share`, :func:`share_pair`, :func:`num` and :func:`sci` format numbers for the
  terminal summary, the report and the dashboard; a missing value is shown as ``-``.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

_orjson: Any
try:
    import orjson as _orjson
except ImportError:  # pragma: no cover - orjson is a dependency; an older environment
    _orjson = None

_PLAIN_ONLY = (
    0
    if _orjson is None
    else _orjson.OPT_PASSTHROUGH_SUBCLASS
    | _orjson.OPT_PASSTHROUGH_DATACLASS
    | _orjson.OPT_PASSTHROUGH_DATETIME
)
"""orjson's options that leave to :func:`_clean` what it would write otherwise than
``clean`` does (subclasses of str, int, dict and list; dataclasses; dates)."""


def finite_or_none(x: Any) -> float | None:
    """``float(x)`` when it is a finite number, else ``None`` (None, NaN, inf, text)."""
    if x is None or isinstance(x, bool):
        return None if x is None else float(x)
    try:
        v = float(x)
    except (TypeError, ValueError):
        return None
    return v if math.isfinite(v) else None


def clean(obj: Any) -> Any:
    """A copy of ``obj`` that is valid JSON: non-finite floats become ``None``, tuples become
    lists, numpy scalars become Python numbers, dict keys become strings; any other object is
    kept as its text.

    A dict or list of plain Python values is copied through orjson (written, NaN and inf as
    ``null``, and read back: every float the same bits), about twice as fast as the walk in
    Python on a results contract of half a million values (30 ms against 70); anything orjson
    does not take as it is (numpy scalars, keys that are not text, subclasses, dataclasses,
    dates) goes through that walk."""
    if isinstance(obj, dict | list) and _orjson is not None:
        try:
            return _orjson.loads(_orjson.dumps(obj, option=_PLAIN_ONLY))
        except TypeError:  # orjson.JSONEncodeError
            pass
    return _clean(obj)


def compact_json(obj: Any) -> bytes:
    """``obj`` as compact JSON (UTF-8), :func:`clean`'s rules applied: orjson where it takes
    the values as they are (about ten times the standard library's speed; floats written
    shortest, ``1e-05`` as ``1e-5``, which reads back the same), else the standard library on
    :func:`clean`'s copy (non-ASCII characters escaped there, so that text orjson refuses,
    such as a lone surrogate, is still written)."""
    if _orjson is not None:
        try:
            return _orjson.dumps(obj, option=_PLAIN_ONLY)
        except TypeError:  # orjson.JSONEncodeError
            pass
    return json.dumps(clean(obj), separators=(",", ":"), allow_nan=False).encode()


def read_json(text: str | bytes) -> Any:
    """JSON text read back: by orjson (about twice the standard library's speed on a results
    contract), else by the standard library (which also reads the ``NaN`` and ``Infinity``
    tokens orjson refuses)."""
    if _orjson is not None:
        try:
            return _orjson.loads(text)
        except ValueError:  # orjson.JSONDecodeError
            pass
    return json.loads(text)


def _clean(obj: Any) -> Any:
    """:func:`clean`, walked in Python."""
    if obj is None or isinstance(obj, str | bool | int):
        return obj
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else None
    if isinstance(obj, dict):
        return {str(k): _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, np.bool_):
        return bool(obj)
    if isinstance(obj, np.integer):
        return int(obj)
    if isinstance(obj, np.floating):
        return finite_or_none(obj)
    item = getattr(obj, "item", None)  # other numpy scalars
    if callable(item):
        return _clean(item())
    return str(obj)


def usd(v: float | None, signed: bool = False) -> str:
    """Compact US dollars: ``1.23 bn``, ``45.6 m``, ``789 k``; ``-`` for a missing value."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if abs(v) <= 0.5:  # shown as 0: rounding noise of either sign is no change ("-0")
        v = 0.0
    sign = "+" if signed and v > 0 else ""
    a = abs(v)
    if a >= 1e9:
        return f"{sign}{v / 1e9:,.2f} bn"
    if a >= 1e6:
        return f"{sign}{v / 1e6:,.1f} m"
    if a >= 1e3:
        return f"{sign}{v / 1e3:,.0f} k"
    return f"{sign}{v:,.0f}"


def usd_terms(values: Sequence[float | None], signed: bool = True) -> list[str]:
    """Amounts that add up (a total and its parts) in one unit, the largest one's (bn, m, k),
    with three decimals: ``-0.442 m = +0.674 m + 3.845 m - 4.961 m``, where :func:`usd`'s
    own rounding of each (``-442 k = +674 k + 3.8 m - 5.0 m``) would not visibly add up.
    ``-`` for a missing value, ``0`` for one that rounds to nothing."""
    finite = [abs(v) for v in values if v is not None and math.isfinite(v)]
    top = max(finite, default=0.0)
    div, unit = next(
        ((d, u) for d, u in ((1e9, " bn"), (1e6, " m"), (1e3, " k")) if top >= d), (1.0, "")
    )
    decimals = 3 if div > 1 else 0
    out = []
    for v in values:
        if v is None or not math.isfinite(v):
            out.append("-")
            continue
        x = v / div
        if abs(x) < 0.5 * 10.0**-decimals:
            out.append("0")
            continue
        sign = "+" if signed and x > 0 else ""
        out.append(f"{sign}{x:,.{decimals}f}{unit}")
    return out


def pct(v: float | None, digits: int = 2) -> str:
    """A signed percentage change: ``+8.54%``, thousands separated (``+1,014.05%``, as the
    warnings write them); ``+0.00%`` for a change that rounds to 0, of either sign."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if abs(v) < 0.5 * 10.0**-digits:
        v = 0.0
    return f"{v:+,.{digits}f}%"


def pp(v: float | None, digits: int = 2) -> str:
    """A signed difference in percentage points: ``-3.7 pp`` (``digits`` decimals), with up to
    two more decimals where ``digits`` would round a difference to zero (``-0.04 pp``, not
    ``-0.0 pp``); ``0.00 pp`` (no sign) for one that rounds to zero even so; ``-`` for a
    missing value."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    shown = telling_digits(v, digits)
    return f"{0.0:.{digits}f} pp" if shown is None else f"{v:+.{shown}f} pp"


def telling_digits(v: float, digits: int = 2, more: int = 2) -> int | None:
    """The fewest decimals from ``digits`` to ``digits + more`` that do not round ``v`` to
    zero (``|v| >= 0.5 x 10^-d``); ``None`` when even the most do: a small real change shown
    as itself, not as ``0.00`` (:func:`pp`, :func:`critmin.narrative.pct_figure`)."""
    return next((d for d in range(digits, digits + more + 1) if abs(v) >= 0.5 * 10.0**-d), None)


def share(v: float | None, digits: int = 1) -> str:
    """A fraction shown as a percentage: ``0.31 -> 31.0%``."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{100 * v:.{digits}f}%"


def share_pair(before: float | None, after: float | None) -> tuple[str, str]:
    """Two shares (fractions) as %, with as many decimals (1 to 3) as it takes to tell them
    apart: ``3.46%``, ``3.50%`` where one decimal would show a real change as ``3.5% -> 3.5%``
    (every view of a before/after share: the written answer, the summary, the report)."""
    for digits in (1, 2, 3):
        a, b = share(before, digits), share(after, digits)
        if a != b:
            break
    return a, b


def num(v: float | None, digits: int = 3) -> str:
    """A plain number with ``digits`` significant digits (thousands separated when large)."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    if isinstance(v, bool):
        return str(v)
    if isinstance(v, int) or abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.{digits}g}"


def sci(v: float | None) -> str:
    """Scientific notation for residuals: ``1.2e-12``."""
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "-"
    return f"{v:.1e}"
