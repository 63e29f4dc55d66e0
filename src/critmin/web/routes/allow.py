"""``OPTIONS`` on any path answers 204 with the ``Allow`` header listing every method the
path's routes take (405 answers carry the same header); an unknown path is 404."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response
from starlette.routing import Match

from critmin.web.store import NotFoundError

router = APIRouter()


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")


def allowed_methods(app: FastAPI, scope: Any) -> list[str]:
    """Methods some route of ``app`` answers on ``scope``'s path (OPTIONS included when there
    is any), sorted. Each method is tried against the routes as the router would."""
    methods = set()
    for method in METHODS:
        probe = dict(scope) | {"type": "http", "method": method}
        if any(route.matches(probe)[0] == Match.FULL for route in app.router.routes):
            methods.add(method)
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
