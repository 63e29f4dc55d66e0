"""Static assets inlined into reports and served by the dashboard: Plotly.js and world geometry.

Nothing here touches the network. Plotly.js comes from the ``plotly`` Python package
(``plotly.offline.get_plotlyjs()``, MIT). The country polygons are
``critmin/figures/assets/world-110m.geojson``: Natural Earth 1:110m admin-0 countries (public domain) as
simplified by the ``world-atlas`` npm package v2 (ISC, Mike Bostock), converted once by
:func:`convert_world_atlas` (TopoJSON -> GeoJSON, numeric ids -> ISO 3166 alpha-3, coordinates
rounded to 0.01 degree, Antarctica dropped). See ``assets/README.md``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

# the polygons live with the figures that draw them (critmin.figures.maps)
from critmin.figures.maps import (
    ASSETS_DIR,
    GEOJSON_PATH,
    geojson_ids,
    world_geojson,
    world_geojson_text,
)

__all__ = [
    "ASSETS_DIR",
    "GEOJSON_PATH",
    "convert_world_atlas",
    "geojson_ids",
    "packed_text",
    "plotly_js",
    "plotly_js_packed",
    "world_geojson",
    "world_geojson_text",
]

# Features of world-atlas countries-110m.json that have no ISO numeric id, or whose code
# critmin's M49 table does not map (territories), with the code used for them here.
_EXTRA_IDS: dict[str, str] = {
    "732": "ESH",  # Western Sahara
    "630": "PRI",  # Puerto Rico
    "Kosovo": "XKX",  # user-assigned code used by the World Bank
    "N. Cyprus": "XNC",  # not a country code; drawn as background only
    "Somaliland": "XSL",  # not a country code; drawn as background only
}
_DROP = {"010"}  # Antarctica: no data, a third of a world map's area


@lru_cache(maxsize=1)
def plotly_js() -> str:
    """The minified Plotly.js bundle shipped with the ``plotly`` package (about 4.8 MB)."""
    from plotly.offline import get_plotlyjs

    js: str = get_plotlyjs()
    return js


@lru_cache(maxsize=1)
def plotly_js_packed() -> str:
    """Plotly.js gzip-compressed and base64-encoded (about 1.9 MB instead of 4.8 MB), for
    reports that unpack it in the browser (``report/templates/critmin.js``); kept between
    runs (:func:`packed_text`)."""
    return packed_text(plotly_js())


log = logging.getLogger(__name__)
PACKED_VERSION = 1
"""Part of every :func:`packed_text` key: raised when the packing changes."""


@lru_cache(maxsize=4)
def packed_text(text: str) -> str:
    """:func:`critmin.report.format.gzip_b64` of ``text``, kept in the cache folder
    (``<cache folder>/packed/<digest>.b64``, the digest (BLAKE2b) of the text, the gzip level
    and :data:`PACKED_VERSION`) for static assets the same in every report: compressing
    Plotly.js costs a ``critmin report`` 0.11 s, reading it back about a millisecond. A file
    that is missing, damaged (not base64 of gzip) or cannot be written only costs the
    compression."""
    from critmin.data.dataset import user_cache_dir
    from critmin.report.format import GZIP_LEVEL, gzip_b64
    from critmin.util import write_bytes_atomic

    raw = text.encode("utf-8")
    key = hashlib.blake2b(raw, digest_size=16, person=b"critmin-packed")
    key.update(f"{GZIP_LEVEL}/{PACKED_VERSION}".encode())
    path = user_cache_dir() / "packed" / f"{key.hexdigest()}.b64"
    try:
        kept = path.read_bytes()
        if base64.b64decode(kept, validate=True)[:2] == b"\x1f\x8b":  # gzip's magic
            return kept.decode("ascii")
    except (OSError, ValueError):
        pass
    packed = gzip_b64(text)
    try:
        write_bytes_atomic(path, packed.encode("ascii"))
    except Exception as err:  # a cache that cannot be written only costs time
        log.debug("packed asset not kept at %s: %s", path, err)
    return packed


# ----------------------------------------------------------------------------- conversion


def _decode_arcs(topology: dict[str, Any]) -> list[list[list[float]]]:
    """Absolute coordinates of every arc of a (quantized, delta-encoded) TopoJSON topology."""
    transform = topology.get("transform")
    arcs: list[list[list[float]]] = []
    for arc in topology["arcs"]:
        if transform is None:
            arcs.append([[float(p[0]), float(p[1])] for p in arc])
            continue
        (kx, ky), (dx, dy) = transform["scale"], transform["translate"]
        x = y = 0
        points = []
        for p in arc:
            x += p[0]
            y += p[1]
            points.append([x * kx + dx, y * ky + dy])
        arcs.append(points)
    return arcs


def _ring(indices: list[int], arcs: list[list[list[float]]]) -> list[list[float]]:
    """Stitch a ring from arc indices (``~i`` means arc ``i`` reversed)."""
    points: list[list[float]] = []
    for k in indices:
        arc = arcs[k] if k >= 0 else arcs[~k][::-1]
        points.extend(arc if not points else arc[1:])
    return points


def _round(ring: list[list[float]], digits: int) -> list[list[float]]:
    out: list[list[float]] = []
    for x, y in ring:
        p = [round(x, digits), round(y, digits)]
        if not out or p != out[-1]:
            out.append(p)
    if len(out) >= 2 and out[0] != out[-1]:
        out.append(out[0])
    return out


def convert_world_atlas(topology: dict[str, Any], digits: int = 2) -> dict[str, Any]:
    """world-atlas ``countries-110m.json`` (TopoJSON) -> GeoJSON keyed by ISO3.

    Used once to produce ``critmin/figures/assets/world-110m.geojson``; kept so the asset can be regenerated
    (``python -m critmin.report.resources countries-110m.json``).
    """
    from critmin.countries import m49_to_iso3

    arcs = _decode_arcs(topology)
    features = []
    for geom in topology["objects"]["countries"]["geometries"]:
        raw_id = geom.get("id")
        name = str(geom.get("properties", {}).get("name", ""))
        if raw_id in _DROP:
            continue
        iso = (m49_to_iso3(raw_id) if raw_id is not None else None) or _EXTRA_IDS.get(
            str(raw_id) if raw_id is not None else name
        )
        if iso is None:
            raise ValueError(f"no ISO3 code for world-atlas feature {raw_id!r} ({name})")
        polygons = [geom["arcs"]] if geom["type"] == "Polygon" else geom["arcs"]
        coords: list[Any] = []
        for poly in polygons:
            rings = [_round(_ring(r, arcs), digits) for r in poly]
            # rounding can collapse a tiny island or hole; such rings break d3's projection
            if len(rings[0]) < 4:
                continue
            coords.append([rings[0], *(r for r in rings[1:] if len(r) >= 4)])
        if not coords:
            continue
        geometry = (
            {"type": "Polygon", "coordinates": coords[0]}
            if len(coords) == 1
            else {"type": "MultiPolygon", "coordinates": coords}
        )
        features.append(
            {
                "type": "Feature",
                "id": iso,
                "properties": {"name": name},
                "geometry": geometry,
            }
        )
    return {"type": "FeatureCollection", "features": features}


if __name__ == "__main__":  # pragma: no cover - asset regeneration
    import sys

    source = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    text = json.dumps(convert_world_atlas(source), separators=(",", ":"))
    GEOJSON_PATH.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {GEOJSON_PATH} ({len(text):,} bytes)")
