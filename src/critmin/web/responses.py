"""How the web app answers: a page or its JSON twin (one helper), JSON errors for the API and
HTML error pages for the dashboard.

``/api/...`` paths and ``?format=json`` get JSON; every other path gets HTML, so a form posted
from the browser is always answered with a page, even when it is refused (a 413 for a 2 MB
form is an HTML page too, see :mod:`critmin.web.middleware`).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from jinja2 import Environment

from critmin.errors import ScenarioError, each_error, shorten_values
from critmin.numbers import compact_json
from critmin.report import render as report_render

TEMPLATES = Path(__file__).parent / "templates"


@lru_cache(maxsize=1)
def _env() -> Environment:
    from critmin.frames import TABLES

    env = report_render.make_env(TEMPLATES)
    env.globals["export_tables"] = TABLES
    return env


def wants_json(request: Request) -> bool:
    """API paths and ``?format=json`` get JSON; dashboard pages get HTML."""
    return wants_json_for(request.url.path, request.query_params.get("format"))


def wants_json_for(path: str, format_param: str | None) -> bool:
    """The rule of :func:`wants_json` on a bare path and ``format`` parameter (the ASGI
    middleware has no Request)."""
    return path.startswith("/api/") or path == "/openapi.json" or format_param == "json"


def json_response(
    data: Any, status: int = 200, headers: dict[str, str] | None = None
) -> JSONResponse:
    """JSON-safe data (NaN and inf become null) as a response."""
    return CompactJSONResponse(data, status_code=status, headers=headers)


class CompactJSONResponse(JSONResponse):
    """A JSON response written by :func:`critmin.numbers.compact_json`: the standard
    library's compact text (NaN and inf as null, :func:`critmin.numbers.clean`'s rules),
    through orjson where it takes the values as they are. A 7 MB results contract in 7 ms
    instead of 160 ms (a second cleaning and the standard library's encoder)."""

    def render(self, content: Any) -> bytes:
        return compact_json(content)


def page(
    template: str, status_code: int = 200, headers: dict[str, str] | None = None, **context: Any
) -> HTMLResponse:
    """A dashboard page from ``web/templates`` (and the report's templates it includes)."""
    html = _env().get_template(template).render(**context)
    return HTMLResponse(html, status_code=status_code, headers=headers)


def respond(
    request: Request,
    data: Any,
    template: str,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Response:
    """The one helper every page uses: ``data`` as JSON for ``?format=json`` (the page's JSON
    twin), else ``template`` rendered with ``data`` and ``context``."""
    if wants_json(request):
        return json_response(data, status, headers)
    return page(template, status, headers, data=data, **context)


def error_page_html(status: int, message: str, field: str | None = None) -> str:
    """The HTML error page (also used by the ASGI body-size guard)."""
    return (
        _env()
        .get_template("error.html.j2")
        .render(
            title=f"Error {status} — critmin",
            active="",
            status=status,
            message=message,
            field=field,
        )
    )


def error_response(
    request: Request,
    status: int,
    message: str,
    field: str | None = None,
    headers: dict[str, str] | None = None,
    errors: list[ScenarioError] | None = None,
) -> Response:
    """``{"error": message, "field": field}`` for the API, an error page for the dashboard
    (long values cut short: :func:`shorten_values`). ``errors``: every field a scenario
    refuses (:func:`critmin.errors.each_error`), listed in the JSON as ``errors``, each
    ``{"error", "field"}`` (``error`` and ``field`` remain the first's)."""
    message = shorten_values(message)
    if wants_json(request):
        body: dict[str, Any] = {"error": message}
        if field is not None:
            body["field"] = field
        if errors:
            body["errors"] = [{"error": shorten_values(str(e)), "field": e.field} for e in errors]
        return JSONResponse(body, status_code=status, headers=headers)
    return HTMLResponse(error_page_html(status, message, field), status, headers=headers)


class FormErrors:
    """A value a page's own form sent that was refused (:class:`ScenarioError` or
    :class:`critmin.web.services.InvalidInputError` raised in the ``with`` block), kept as
    ``errors = {field: message}`` for the page to show above the form and next to the field
    (``_fielderrors.html.j2``), the form kept as typed, instead of an error page; the message
    does not repeat the field's name. For a JSON request (``?format=json``, the API) the
    error goes on as it is: a 422 naming the field.

    ``with FormErrors(request) as refused: ...`` then ``refused.errors`` (empty: nothing was
    refused). ``fields`` maps the field and problem an error names to the form's field and
    the words shown next to it (an analysis that names the scenario's field,
    ``coalition.candidates[0]``, for the form's *Candidates*: :mod:`critmin.web.pagefields`);
    by default they are shown as named."""

    def __init__(
        self, request: Request, fields: Callable[[str, str], tuple[str, str]] | None = None
    ) -> None:
        self.request = request
        self.fields = fields
        self.errors: dict[str, str] = {}

    def __enter__(self) -> FormErrors:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, err: BaseException | None, tb: Any
    ) -> bool:
        from critmin.web.services import InvalidInputError

        if isinstance(err, ScenarioError | InvalidInputError) and not wants_json(self.request):
            refused = each_error(err) if isinstance(err, ScenarioError) else [err]
            for one in refused:
                field, problem = (one.field, one.problem)
                if self.fields is not None:
                    field, problem = self.fields(field, problem)
                self.errors.setdefault(field, problem)
            return True
        return False


def links(sid: str) -> dict[str, Any]:
    """Addresses of a saved scenario (API, page, report, exports)."""
    return {
        "links": {
            "self": f"/api/scenarios/{sid}",
            "result": f"/api/scenarios/{sid}/result",
            "page": f"/scenarios/{sid}",
            "report": f"/scenarios/{sid}/report.html",
            "designer": f"/designer?from={sid}",
            "compare_baseline": f"/compare?a={sid}&b=baseline",
        }
    }


def run_links(rid: str) -> dict[str, Any]:
    """Addresses of a designer run (shareable)."""
    return {
        "links": {
            "self": f"/api/runs/{rid}",
            "page": f"/runs/{rid}",
            "designer": f"/designer?run={rid}#results",
        }
    }
