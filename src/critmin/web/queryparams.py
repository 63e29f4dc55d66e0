"""Query parameters an API endpoint does not take are refused, not ignored.

FastAPI reads the parameters an endpoint declares and drops the rest without a word, so a
misspelt one answered as if it had not been sent: ``GET /api/assess?yaer=2022`` gave the 2024
figures with a 200, ``/api/coalition?source=ID&objective=zone`` ran the default objective. A
misspelt year, draw count or objective is a silently wrong answer. Under ``/api/`` a query
parameter that is neither one of the endpoint's own (its signature's and its dependencies')
nor ``format`` (read by every response, :func:`critmin.web.responses.wants_json`) is a 422
naming it and listing those the endpoint takes. The HTML pages keep ignoring extra
parameters (a browser, a bookmark or a link may add its own)."""

from __future__ import annotations

from typing import Any

from fastapi import Request

from critmin.web.services import InvalidInputError

ALWAYS = frozenset({"format"})
"""Query parameters every endpoint reads (``format=json``)."""
API_PREFIX = "/api/"


def declared(dependant: Any) -> frozenset[str]:
    """The query parameters a FastAPI dependant reads (by their names in the query string),
    its sub-dependencies' included."""
    names = {param.alias for param in dependant.query_params}
    for sub in dependant.dependencies:
        names |= declared(sub)
    return frozenset(names)


async def refuse_unknown_query(request: Request) -> None:
    """An app-wide dependency: a 422 (:class:`InvalidInputError`, field ``query.<name>``) for
    a query parameter an ``/api/`` endpoint does not take."""
    if not request.url.path.startswith(API_PREFIX) or not request.query_params:
        return
    dependant = getattr(request.scope.get("route"), "dependant", None)
    if dependant is None:
        return
    known = declared(dependant) | ALWAYS  # a few attribute reads: not worth a cache keyed
    for name in request.query_params:  # by id(), which a later app's route may reuse
        if name not in known:
            takes = ", ".join(sorted(known))
            raise InvalidInputError(
                f"query.{name[:40]}",
                f"{request.url.path[:80]} takes no parameter {name[:40]!r} (it takes: {takes})",
            )
