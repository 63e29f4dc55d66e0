"""``OPTIONS`` on any path answers 204 with the ``Allow`` header listing every method the
path's routes take (405 answers carry the same header); an unknown path is 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.routing import Match

from critmin.web.store import NotFoundError

router = APIRouter()


def allowed_methods(app: FastAPI, scope: Any) -> list[str]:
    """Methods of every route whose path matches ``scope``'s path (OPTIONS included; HEAD
    with GET), sorted."""
    methods: set[str] = set()
    probe = dict(scope) | {"type": "http", "method": "GET"}
    for route in app.router.routes:
        route_methods = getattr(route, "methods", None)
        if not route_methods or getattr(route, "path", "") == "/{path:path}":
            continue
        match, _child = route.matches(probe)
        if match != Match.NONE:
            methods.update(route_methods)
    if methods:
        methods.add("OPTIONS")
        if "GET" in methods:
            methods.add("HEAD")
    return sorted(methods)


@router.options("/{path:path}", include_in_schema=False)
def options(request: Request) -> Response:
    allow = allowed_methods(request.app, request.scope)
    if not allow:
        raise NotFoundError(f"no such page or endpoint: {request.url.path}")
    return Response(status_code=204, headers={"Allow": ", ".join(allow)})
