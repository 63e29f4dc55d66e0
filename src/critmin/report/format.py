"""Safe JSON embedding and country labels for HTML (the report and the dashboard); number
formatting itself lives in :mod:`critmin.numbers` and is re-exported here for templates."""

from __future__ import annotations

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


def script_text(json_text: str) -> Markup:
    """Already-serialised JSON text made safe for a ``<script type="application/json">``."""
    return Markup(json_text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))
