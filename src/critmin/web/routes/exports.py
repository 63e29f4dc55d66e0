"""Downloads of a saved scenario's or a run's results: every table as CSV and the whole
result as an Excel workbook (one sheet per table, units in the headers, the written answer
on a summary sheet), made by :mod:`critmin.export` exactly as ``critmin simulate --xlsx``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import Response

from critmin.export import table_csv, xlsx_bytes
from critmin.frames import TABLES
from critmin.web.context import WebContext, get_context
from critmin.web.openapi import responses
from critmin.web.store import NotFoundError

router = APIRouter(prefix="/api", tags=["exports"])
Ctx = Depends(get_context)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TABLE_LIST = ", ".join(f"`{t}`" for t in TABLES)


def results_of(ctx: WebContext, kind: str, ref: str) -> dict[str, Any]:
    """The results of a saved scenario (``kind`` = ``scenarios``) or a run (``runs``)."""
    if kind == "runs":
        return ctx.store.run(ref)[1]
    return ctx.store.result(ref)


def _csv(results: dict[str, Any], table: str, filename: str) -> Response:
    if table not in TABLES:
        raise NotFoundError(f"unknown table {table!r}; tables: {', '.join(TABLES)}")
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


@router.get(
    "/scenarios/{scenario_id}/tables/{table}.csv",
    summary="One table of a saved scenario's results as CSV (units in the headers)",
    description=f"Tables: {TABLE_LIST}.",
    response_class=Response,
    responses=CSV_DOC | responses(404),
)
def scenario_csv(scenario_id: str, table: str, ctx: WebContext = Ctx) -> Response:
    return _csv(results_of(ctx, "scenarios", scenario_id), table, f"critmin-{scenario_id}")


@router.get(
    "/scenarios/{scenario_id}/workbook.xlsx",
    summary="A saved scenario's results as an Excel workbook (one sheet per table)",
    response_class=Response,
    responses=XLSX_DOC | responses(404),
)
def scenario_xlsx(scenario_id: str, ctx: WebContext = Ctx) -> Response:
    return _xlsx(results_of(ctx, "scenarios", scenario_id), f"critmin-{scenario_id}")


@router.get(
    "/runs/{run_id}/tables/{table}.csv",
    summary="One table of a designer run's results as CSV",
    description=f"Tables: {TABLE_LIST}.",
    response_class=Response,
    responses=CSV_DOC | responses(404),
)
def run_csv(run_id: str, table: str, ctx: WebContext = Ctx) -> Response:
    return _csv(results_of(ctx, "runs", run_id), table, f"critmin-run-{run_id}")


@router.get(
    "/runs/{run_id}/workbook.xlsx",
    summary="A designer run's results as an Excel workbook",
    response_class=Response,
    responses=XLSX_DOC | responses(404),
)
def run_xlsx(run_id: str, ctx: WebContext = Ctx) -> Response:
    return _xlsx(results_of(ctx, "runs", run_id), f"critmin-run-{run_id}")
