"""The OpenAPI document: the scenario schema from the pydantic model, the error body, and the
status codes every operation can answer (``responses(...)``)."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel, Field

SCENARIO_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Scenario"}}},
    }
}


class FieldError(BaseModel):
    """One refused field of a scenario."""

    error: str = Field(description="One sentence: what is wrong with the field")
    field: str = Field(description="The scenario's field, e.g. `policy[1].rate`")


class ApiError(BaseModel):
    """Every error answer of the API."""

    error: str = Field(description="One sentence: what is wrong and what is allowed")
    field: str | None = Field(
        None, description="The offending field, e.g. `policy[1].rate`, `query.limit`, `<body>`"
    )
    errors: list[FieldError] | None = Field(
        None,
        description="A refused scenario: every field refused, in order (the first is `error` "
        "and `field`), so that all can be fixed at once",
    )


STATUS_TEXT = {
    400: "Bad request: the body is not JSON (or nested too deeply, or a number too long), or "
    "another user error such as an unknown mineral",
    404: "No such resource",
    409: "The database holds the maximum number of saved scenarios",
    412: "`If-Match` names an `edit_key` the scenario no longer has: it was edited since it "
    "was read; read it again (`ETag`), then edit",
    413: "The request body is above the size limit",
    415: "The body is not sent as `Content-Type: application/json`",
    422: 'Invalid input: `{"error": ..., "field": ...}` names the field (a refused scenario: '
    "`errors` lists every field refused)",
    503: "Busy (the work queue is full) or over the time limit: retry after `Retry-After` s",
}


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error statuses (422 is always listed: every operation
    validates its parameters)."""
    out: dict[int | str, dict[str, Any]] = {}
    for status in sorted({*statuses, 422}):
        entry: dict[str, Any] = {"description": STATUS_TEXT[status], "model": ApiError}
        if status == 503:
            entry["headers"] = {
                "Retry-After": {"description": "seconds to wait", "schema": {"type": "integer"}}
            }
        out[status] = entry
    return out


BODY_ERRORS = (400, 413, 415, 422)
"""What a JSON body can get wrong."""


def install_openapi(app: FastAPI) -> None:
    """Add the scenario schema (from the pydantic model) to the OpenAPI components."""
    from critmin.scenario import Scenario

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        scenario = Scenario.model_json_schema(ref_template="#/components/schemas/{model}")
        defs = scenario.pop("$defs", {})
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(defs)
        components["Scenario"] = scenario
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
