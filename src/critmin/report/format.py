"""Safe JSON embedding and country labels for HTML (the report and the dashboard); number
formatting itself lives in :mod:`critmin.numbers` and is re-exported here for templates."""

from __future__ import annotations

import base64
import gzip
import json
from typing import Any

from markupsafe import Markup

from critmin.narrative import country_label
from critmin.numbers import clean, num, pct, sci, share, usd

__all__ = ["clean", "country_label", "num", "pct", "sci", "share", "usd"]


def script_json(obj: Any) -> Markup:
    """JSON for a ``<script type="application/json">`` element: ``<``, ``>`` and ``&`` are
    escaped as ``\\u003c`` etc., so no string in the data can close the element."""
    text = json.dumps(obj, allow_nan=False, separators=(",", ":"), ensure_ascii=False)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return Markup(text)


def gzip_b64(text: str) -> str:
    """``text`` (UTF-8) gzip-compressed and base64-encoded, for a ``<script
    type="application/gzip-base64">`` element that the page unpacks with the browser's
    ``DecompressionStream`` (about a quarter of the size for JSON and Plotly.js). The gzip
    header carries no timestamp, so the same text always gives the same bytes."""
    return base64.b64encode(gzip.compress(text.encode("utf-8"), compresslevel=9, mtime=0)).decode(
        "ascii"
    )


def gzip_json(obj: Any) -> str:
    """Compact JSON of ``obj`` (NaN refused) as :func:`gzip_b64`."""
    return gzip_b64(json.dumps(obj, allow_nan=False, separators=(",", ":"), ensure_ascii=False))


def script_text(json_text: str) -> Markup:
    """Already-serialised JSON text made safe for a ``<script type="application/json">``."""
    return Markup(json_text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
