"""World maps on the bundled country polygons (``assets/world-110m.geojson``, see
``assets/README.md``). A trace whose ``geojson`` is the string ``"@world"`` gets the inline
GeoJSON in the browser, so the polygons are embedded once per page."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path
from typing import Any

from critmin.figures.style import (
    CONCENTRATION_SCALE,
    MEMBER,
    NO_DATA,
    PLAIN_TICKS,
    PRICE_SCALE,
    WATCH,
    WELFARE_SCALE,
    WORLD,
    Figure,
    layout,
    usd_unit,
)
from critmin.narrative import country_label

ASSETS_DIR = Path(__file__).parent / "assets"
GEOJSON_PATH = ASSETS_DIR / "world-110m.geojson"


@lru_cache(maxsize=1)
def world_geojson_text() -> str:
    """The bundled country polygons as compact GeoJSON text (features keyed by ISO3 ``id``)."""
    return GEOJSON_PATH.read_text(encoding="utf-8")


def world_geojson() -> dict[str, Any]:
    """The bundled country polygons as a GeoJSON FeatureCollection (a fresh dict)."""
    data: dict[str, Any] = json.loads(world_geojson_text())
    return data


@lru_cache(maxsize=1)
def geojson_ids() -> frozenset[str]:
    """ISO3 codes that have a polygon on the map."""
    return frozenset(str(f["id"]) for f in world_geojson()["features"])


def _symmetric(values: list[float]) -> float:
    finite = sorted(abs(v) for v in values if v is not None and math.isfinite(v))
    if not finite:
        return 1.0
    k = min(len(finite) - 1, int(0.98 * len(finite)))
    return max(finite[k], 1e-9)


def _background_trace() -> dict[str, Any]:
    ids = sorted(geojson_ids())
    return {
        "type": "choropleth",
        "geojson": WORLD,
        "featureidkey": "id",
        "locations": ids,
        "z": [0] * len(ids),
        "colorscale": [[0, NO_DATA], [1, NO_DATA]],
        "showscale": False,
        "hoverinfo": "skip",
        "marker": {"line": {"color": "#ffffff", "width": 0.4}},
    }


def _geo_layout(height: int = 440) -> dict[str, Any]:
    return layout(
        height=height,
        margin={"l": 0, "r": 0, "t": 30, "b": 0},
        geo={
            "visible": False,
            "showframe": False,
            "projection": {"type": "natural earth"},
            "lataxis": {"range": [-58, 85]},
            "bgcolor": "#ffffff",
        },
    )


def outline_trace(codes: list[str], color: str, name: str) -> dict[str, Any]:
    """Transparent countries with a coloured border: zone members or watch countries."""
    known = geojson_ids()
    locs = [c for c in codes if c in known]
    clear = "rgba(0, 0, 0, 0)"
    return {
        "type": "choropleth",
        "geojson": WORLD,
        "featureidkey": "id",
        "locations": locs,
        "z": [0] * len(locs),
        "colorscale": [[0, clear], [1, clear]],
        "showscale": False,
        "name": name,
        "hoverinfo": "skip",
        "marker": {"line": {"color": color, "width": 1.6}},
    }


def map_figure(
    product: dict[str, Any], members: set[str] | None = None, watch: set[str] | None = None
) -> Figure:
    """World map of the change in consumer prices (%) by country, with a button to switch to
    the welfare change (USD). Countries without purchases stay grey; zone members are outlined
    in blue, watch countries in orange (``members``/``watch`` default to the product's flags)."""
    known = geojson_ids()
    countries = product["countries"]
    if members is None:
        members = {c for c, r in countries.items() if r["member"]}
    if watch is None:
        watch = {c for c, r in countries.items() if r["watch"]}
    # (key, title, hover format, colours): price rises red, welfare gains blue
    metrics: list[tuple[str, str, str, list[list[Any]]]] = [
        ("consumer_price_change_pct", "Consumer price change (%)", "%{z:+.2f}%", PRICE_SCALE),
        ("welfare_change_usd", "Welfare change (USD)", "USD %{z:,.0f}", WELFARE_SCALE),
    ]
    variants: list[dict[str, Any]] = []
    for key, title, fmt, scale in metrics:
        locs = [c for c, r in countries.items() if c in known and r.get(key) is not None]
        z = [countries[c][key] for c in locs]
        if key.endswith("_usd"):  # in the text's unit: "USD -60.1 m", not "-60M"
            div, unit = usd_unit(z)
            z = [v / div for v in z]
            title = f"Welfare change ({unit})"
            fmt = "USD %{z:,.0f}" if div == 1 else "USD %{z:,.2f} " + unit.split()[1]
        names = [
            country_label(c)
            + (" (member)" if countries[c]["member"] else "")
            + (" (watch)" if countries[c]["watch"] else "")
            for c in locs
        ]
        bound = _symmetric(z)
        variants.append(
            {
                "locations": locs,
                "z": z,
                "text": names,
                "title": title,
                "fmt": fmt,
                "zmin": -bound,
                "zmax": bound,
                "scale": scale,
            }
        )
    first = variants[0]
    data_trace = {
        "type": "choropleth",
        "geojson": WORLD,
        "featureidkey": "id",
        "locations": first["locations"],
        "z": first["z"],
        "text": first["text"],
        "zmin": first["zmin"],
        "zmax": first["zmax"],
        "colorscale": first["scale"],
        "colorbar": {
            "title": {"text": first["title"], "side": "right"},
            "thickness": 12,
            "len": 0.8,
            **PLAIN_TICKS,
        },
        "marker": {"line": {"color": "#ffffff", "width": 0.4}},
        "hovertemplate": "%{text}<br>" + first["fmt"] + "<extra></extra>",
    }
    buttons = [
        {
            "label": v["title"].split(" (")[0],
            "method": "restyle",
            "args": [
                {
                    "locations": [v["locations"]],
                    "z": [v["z"]],
                    "text": [v["text"]],
                    "zmin": [v["zmin"]],
                    "zmax": [v["zmax"]],
                    "colorscale": [v["scale"]],
                    "colorbar.title.text": [v["title"]],
                    "hovertemplate": ["%{text}<br>" + v["fmt"] + "<extra></extra>"],
                },
                [1],
            ],
        }
        for v in variants
    ]
    layout = _geo_layout()
    layout["updatemenus"] = [
        {
            "type": "buttons",
            "direction": "right",
            "buttons": buttons,
            "x": 0,
            "y": 1.07,
            "xanchor": "left",
            "showactive": True,
            "bgcolor": "#f3f4f6",
            "bordercolor": "#d1d5db",
            "font": {"size": 11},
        }
    ]
    layout["margin"] = {**layout["margin"], "b": 26}
    layout["annotations"] = [
        {
            "text": f"outlined: <span style='color:{MEMBER}'>zone members</span>, "
            f"<span style='color:{WATCH}'>watch countries</span>",
            "xref": "paper",
            "yref": "paper",
            "x": 0,
            "y": 0,
            "xanchor": "left",
            "yanchor": "top",
            "showarrow": False,
            "font": {"size": 11, "color": "#4b5563"},
        }
    ]
    outlines = [
        outline_trace(sorted(members - watch), MEMBER, "zone members"),
        outline_trace(sorted(watch), WATCH, "watch countries"),
    ]
    # the data trace stays at index 1: the buttons restyle it
    return {"data": [_background_trace(), data_trace, *outlines], "layout": layout}


def supply_map_figure(shares: dict[str, float], title: str) -> Figure:
    """World map of each country's share of world supply (%) for one mineral and stage."""
    known = geojson_ids()
    locs = [c for c, v in shares.items() if c in known and v is not None and v > 0]
    z = [round(100 * shares[c], 4) for c in locs]
    return {
        "data": [
            _background_trace(),
            {
                "type": "choropleth",
                "geojson": WORLD,
                "featureidkey": "id",
                "locations": locs,
                "z": z,
                "text": [country_label(c) for c in locs],
                "zmin": 0,
                "zmax": max([*z, 1.0]),
                "colorscale": CONCENTRATION_SCALE,
                "colorbar": {
                    "title": {"text": "share of world (%)", "side": "right"},
                    "thickness": 12,
                    "len": 0.8,
                },
                "marker": {"line": {"color": "#ffffff", "width": 0.4}},
                "hovertemplate": "%{text}<br>%{z:.1f}% of world supply<extra></extra>",
            },
        ],
        "layout": _geo_layout(420) | {"title": {"text": title, "x": 0.01, "font": {"size": 13}}},
    }
