"""Downloads of a saved scenario's or a run's results: every table as CSV and the whole
result as an Excel workbook (one sheet per table, units in the headers, the written answer
on a summary sheet), made by :mod:`critmin.export` exactly as ``critmin simulate --xlsx``.

They are made on the simulation workers (:class:`critmin.web.services.SimulationRunner`), as
simulations are: a 48-product workbook takes seconds and hundreds of MB to build, and 60 at
once on the request threads took 7 GB and kept ``/api/health`` waiting for minutes; now a
burst queues within the work queue's limits and gets 503 with ``Retry-After`` beyond them."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from critmin.export import table_csv, xlsx_bytes
from critmin.frames import CHAIN_TABLES, CONTROL_TABLES, TABLES, table_names
from critmin.web.context import WebContext, get_context
from critmin.web.openapi import responses
from critmin.web.store import NotFoundError

router = APIRouter(prefix="/api", tags=["exports"])
Ctx = Depends(get_context)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABLE_LIST = ", ".join(f"`{t}`" for t in TABLES) + (
    "; with linked chains also "
    + ", ".join(f"`{t}`" for t in CHAIN_TABLES)
    + "; with export controls also "
    + ", ".join(f"`{t}`" for t in CONTROL_TABLES)
)


def results_of(ctx: WebContext, kind: str, ref: str) -> dict[str, Any]:
    """The results of a saved scenario (``kind`` = ``scenarios``) or a run (``runs``)."""
    if kind == "runs":
        return ctx.store.run(ref)[1]
    return ctx.store.result(ref)


def _csv(results: dict[str, Any], table: str, filename: str) -> Response:
    offered = table_names(results)
    if table not in offered:
        raise NotFoundError(f"unknown table {table!r}; tables: {', '.join(offered)}")
    return Response(
        table_csv(results, table),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}-{table}.csv"'},
    )


def _xlsx(results: dict[str, Any], filename: str) -> Response:
    return Response(
        xlsx_bytes(results),
        media_type=XLSX,
        headers={"Content-Disposition": f'attachment; filename="{filename}.xlsx"'},
    )


CSV_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/csv": {}}, "description": "The table as CSV"}
}
XLSX_DOC: dict[int | str, dict[str, Any]] = {
    200: {"content": {XLSX: {}}, "description": "The Excel workbook"}
}


Kind = Literal["scenarios", "runs"]
KIND_DOC = "`scenarios` (a saved scenario's id) or `runs` (a designer run's id)"


@router.get(
    "/{kind}/{ref}/tables/{table}.csv",
    summary="One table of a saved scenario's or a run's results as CSV (units in the headers)",
    description=f"`kind`: {KIND_DOC}. Tables: {TABLE_LIST}.",
    response_class=Response,
    responses=CSV_DOC | responses(404),
)
async def results_csv(kind: Kind, ref: str, table: str, ctx: WebContext = Ctx) -> Response:
    return await ctx.runner.run(_csv_of, ctx, kind, ref, table)


def _csv_of(ctx: WebContext, kind: str, ref: str, table: str) -> Response:
    return _csv(results_of(ctx, kind, ref), table, _filename(kind, ref))


@router.get(
    "/{kind}/{ref}/workbook.xlsx",
    summary="A saved scenario's or a run's results as an Excel workbook (one sheet per table)",
    description=f"`kind`: {KIND_DOC}.",
    response_class=Response,
    responses=XLSX_DOC | responses(404),
)
async def results_xlsx(kind: Kind, ref: str, ctx: WebContext = Ctx) -> Response:
    return await ctx.runner.run(_xlsx_of, ctx, kind, ref)


def _xlsx_of(ctx: WebContext, kind: str, ref: str) -> Response:
    return _xlsx(results_of(ctx, kind, ref), _filename(kind, ref))


def _filename(kind: str, ref: str) -> str:
    return f"critmin-{ref}" if kind == "scenarios" else f"critmin-run-{ref}"
