"""Files the pages load from the server itself (never from a CDN): Plotly.js, the map
geometry, the dashboard's stylesheet and script, and Swagger UI for ``/docs`` (from the
``swagger-ui-bundle-v2`` package, Apache-2.0), so the API docs work offline."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from fastapi import APIRouter
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, Response

from critmin.report.resources import plotly_js, world_geojson_text
from critmin.web.store import NotFoundError

router = APIRouter(include_in_schema=False)
STATIC = Path(__file__).resolve().parents[1] / "static"
CACHE = {"Cache-Control": "public, max-age=86400"}
SWAGGER_FILES = {
    "swagger-ui-bundle.js": "application/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
OWN_FILES = {"dashboard.css": "text/css", "dashboard.js": "application/javascript"}


@lru_cache(maxsize=1)
def swagger_dir() -> Path:
    """Where the installed Swagger UI bundle keeps its files."""
    import swagger_ui_bundle

    return Path(str(swagger_ui_bundle.swagger_ui_path))


@router.get("/assets/plotly.min.js")
def asset_plotly() -> Response:
    return Response(plotly_js(), media_type="application/javascript", headers=CACHE)


@router.get("/assets/world-110m.geojson")
def asset_geojson() -> Response:
    return Response(world_geojson_text(), media_type="application/geo+json", headers=CACHE)


@router.get("/assets/swagger/{name}")
def asset_swagger(name: str) -> Response:
    if name not in SWAGGER_FILES:
        raise NotFoundError(f"no asset {name!r}")
    return Response(
        (swagger_dir() / name).read_bytes(), media_type=SWAGGER_FILES[name], headers=CACHE
    )


@router.get("/assets/{name}")
def asset_own(name: str) -> Response:
    if name not in OWN_FILES:
        raise NotFoundError(f"no asset {name!r}")
    return Response((STATIC / name).read_bytes(), media_type=OWN_FILES[name])


@router.get("/docs")
def api_docs() -> HTMLResponse:
    """Swagger UI on the app's OpenAPI document, every file served locally."""
    return get_swagger_ui_html(
        openapi_url="/openapi.json",
        title="critmin API",
        swagger_js_url="/assets/swagger/swagger-ui-bundle.js",
        swagger_css_url="/assets/swagger/swagger-ui.css",
        swagger_favicon_url="/assets/swagger/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},  # no call to the online validator
    )
