"""The JSON API of saved scenarios: list, save (with ``Idempotency-Key``), read, edit (name,
notes, tags), duplicate, delete, results and Monte Carlo draws."""

from __future__ import annotations

import functools
from typing import Any

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from critmin.web import services
from critmin.web.context import WebContext, get_context, query_tags
from critmin.web.openapi import BODY_ERRORS, SCENARIO_BODY, responses
from critmin.web.pagefields import UNCERTAINTY_SEED_MAX
from critmin.web.responses import json_response, links
from critmin.web.routes.api import read_scenario
from critmin.web.services import InvalidInputError, TooLargeError
from critmin.web.store import EditConflictError, StaleEditError

router = APIRouter(prefix="/api/scenarios", tags=["scenarios"])
Ctx = Depends(get_context)


class ScenarioEdit(BaseModel):
    """Fields of a saved scenario that can be changed (omitted fields stay as they are)."""

    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=200, description="New name")
    notes: str | None = Field(None, max_length=10_000, description="Free-text notes")
    tags: list[str] | None = Field(None, max_length=20, description="Tags (replace the old)")


def edit_schema() -> dict[str, Any]:
    """The OpenAPI schema of an edit's body: :class:`ScenarioEdit`'s, each field without the
    ``null`` that its Python default brings (a ``null`` is refused: :data:`CLEARED_BY`) and
    with no default (a field left out stays as it is)."""
    schema = ScenarioEdit.model_json_schema()
    for prop in schema["properties"].values():
        prop.pop("default", None)
        kinds = [k for k in prop.pop("anyOf", []) if k.get("type") != "null"]
        if len(kinds) == 1:
            prop.update(kinds[0])
    schema["minProperties"] = 1
    return schema


CLEARED_BY = {"name": "a new name", "notes": '"" to clear them', "tags": "[] to clear them"}
"""What an edit sends instead of ``null`` for each field (a ``null`` was read as "not sent":
``{"notes": null}`` answered 200 and kept the notes)."""


@router.get("", summary="Saved scenarios, newest first, with key figures", responses=responses())
def api_scenarios(
    tag: list[str] | None = Query(
        None,
        description="Only those with this tag; repeated (`?tag=a&tag=b`) or comma-separated "
        "(`?tag=a,b`): only those with every tag given",
    ),
    ctx: WebContext = Ctx,
) -> JSONResponse:
    return json_response(ctx.entries(query_tags(tag)))


@router.post(
    "",
    status_code=201,
    summary="Save a scenario (and, by default, run it and save the result)",
    description="Send an `Idempotency-Key` header (any text of 1 to 200 characters) to make a "
    "retried save safe: the same key with the same scenario returns the scenario saved the "
    "first time (201, `Idempotent-Replayed: true`), never a second copy; the same key with "
    "another scenario is 422.",
    openapi_extra=SCENARIO_BODY,
    responses=responses(*BODY_ERRORS, 409, 503),
)
async def api_save(
    request: Request,
    run: bool = Query(True, description="Run it first"),
    idempotency_key: str | None = Header(None, min_length=1, max_length=200),
    ctx: WebContext = Ctx,
) -> JSONResponse:
    data, scenario = await read_scenario(request, ctx)
    if idempotency_key is not None:  # the store's calls block: off the event loop
        replay = await run_in_threadpool(_replayed, ctx, idempotency_key, data)
        if replay is not None:
            return json_response(replay, 201, {"Idempotent-Replayed": "true"})
    result: dict[str, Any] | None = None
    if run:
        result = await ctx.simulate(scenario)
    else:  # still check that the countries and products resolve
        await ctx.check(scenario)
    entry = await run_in_threadpool(ctx.save, data, result, idempotency_key)
    if entry.pop("replayed", False):  # the same key sent again while the first ran
        return json_response(entry, 201, {"Idempotent-Replayed": "true"})
    return json_response(entry, 201)


def _replayed(ctx: WebContext, key: str, data: dict[str, Any]) -> dict[str, Any] | None:
    """The entry an earlier request with this key saved (same scenario), without running the
    model again; ``None`` for a new key. A key reused for another scenario raises."""
    entry = ctx.store.idempotent_entry(key, data)
    return None if entry is None else entry.to_dict() | links(entry.id)


@router.get(
    "/{scenario_id}", summary="A saved scenario and its scenario JSON", responses=responses(404)
)
def api_scenario(scenario_id: str, ctx: WebContext = Ctx) -> JSONResponse:
    entry, data = ctx.store.get(scenario_id)
    return json_response(
        entry.to_dict() | {"scenario": data} | links(entry.id), headers=_etag(entry.edit_key)
    )


def _etag(edit_key: str) -> dict[str, str]:
    """The ``ETag`` header of a saved scenario: its ``edit_key`` (what an edit changes), to be
    sent back as ``If-Match`` by an edit that must not undo one made in between."""
    return {"ETag": f'"{edit_key}"'}


def _expected_key(if_match: str | None) -> str | None:
    """The ``edit_key`` an ``If-Match`` header asks for (quotes and a weak ``W/`` taken off),
    ``None`` for no header or ``*`` (any version: RFC 9110 section 13.1.1)."""
    if if_match is None or if_match.strip() == "*":
        return None
    tag = if_match.strip()
    tag = tag[2:] if tag.startswith("W/") else tag
    return tag.strip('"')


@router.patch(
    "/{scenario_id}",
    summary="Rename a saved scenario, or change its notes or tags",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": edit_schema()}},
        }
    },
    description="Send `If-Match` with the `ETag` (or `edit_key`) of the scenario as you read "
    "it to make the edit safe against one made in between: if the scenario changed since, "
    "nothing is changed and the answer is 412.",
    responses=responses(400, 404, 412, 415, 422),
)
async def api_edit(
    scenario_id: str,
    request: Request,
    if_match: str | None = Header(None, max_length=200),
    ctx: WebContext = Ctx,
) -> JSONResponse:
    """The body is read here, not by FastAPI's body model, so that it gets the same answers
    as every other body (:func:`critmin.web.services.parse_json_body`: 400 for unreadable or
    ambiguous JSON, which FastAPI answered with a 422 or a message that did not say why)."""
    services.check_json_content_type(request.headers.get("content-type"))
    body = await request.body()
    if len(body) > ctx.limits.max_body_bytes:
        raise TooLargeError(f"the request body is larger than {ctx.limits.max_body_bytes} bytes")
    data = services.parse_json_body(body, "the fields to change (name, notes, tags)")
    if not isinstance(data, dict) or not data:
        raise InvalidInputError(
            "<body>", "send a JSON object with the fields to change: name, notes or tags"
        )
    for key, clear in CLEARED_BY.items():  # null kept the field as it was, and said 200
        if key in data and data[key] is None:
            raise InvalidInputError(
                key, f"null does not change the {key}: send {clear}, or leave the field out"
            )
    try:
        edit = ScenarioEdit.model_validate(data)
    except ValidationError as exc:
        e = exc.errors(include_url=False)[0]
        where = ".".join(str(x) for x in e["loc"]) or "<body>"
        raise InvalidInputError(where, str(e["msg"])) from None
    try:
        entry = await run_in_threadpool(
            functools.partial(
                ctx.store.update,
                scenario_id,
                name=edit.name,
                notes=edit.notes,
                tags=edit.tags,
                expect_key=_expected_key(if_match),
            )
        )
    except EditConflictError:  # the API's words: a header, not a page, is out of date
        raise StaleEditError(
            f"this scenario was changed after it was read (If-Match {if_match!r}), and this "
            "edit would undo that: read it again (its ETag), then edit. Nothing was changed."
        ) from None
    return json_response(entry.to_dict() | links(entry.id), headers=_etag(entry.edit_key))


@router.post(
    "/{scenario_id}/duplicate",
    status_code=201,
    summary="A copy of a saved scenario (with its result, notes and tags) under a new id",
    responses=responses(404, 409),
)
def api_duplicate(
    scenario_id: str,
    name: str | None = Query(None, min_length=1, max_length=200, description="Name of the copy"),
    ctx: WebContext = Ctx,
) -> JSONResponse:
    ctx.ensure_room()
    entry = ctx.store.duplicate(scenario_id, name)
    return json_response(entry.to_dict() | links(entry.id), 201)


@router.delete(
    "/{scenario_id}",
    status_code=204,
    summary="Delete a saved scenario",
    responses=responses(404),
)
def api_delete(scenario_id: str, ctx: WebContext = Ctx) -> Response:
    ctx.store.delete(scenario_id)
    return Response(status_code=204)


@router.get(
    "/{scenario_id}/result",
    summary="The saved results contract",
    responses=responses(404),
)
def api_result(scenario_id: str, ctx: WebContext = Ctx) -> JSONResponse:
    return json_response(ctx.store.result(scenario_id))


@router.post(
    "/{scenario_id}/uncertainty",
    summary="Monte Carlo draws of a saved scenario: summary and fan-chart bands",
    responses=responses(404, 503),
)
async def api_uncertainty(
    scenario_id: str,
    draws: int = Query(500, ge=1, description="Draws (at most the server's limit)"),
    seed: int = Query(0, ge=0, le=UNCERTAINTY_SEED_MAX, description="Random seed"),
    ctx: WebContext = Ctx,
) -> JSONResponse:
    _entry, data = ctx.store.get(scenario_id)
    return json_response(await ctx.uncertainty(data, draws, seed))
