"""Export simulation results as CSV files and an Excel workbook.

The tables are those of :mod:`critmin.frames` (products, countries, flows, welfare, key
figures; with linked chains also chain_stages, chain_flows and chain_welfare; with export
controls also export_controls and routed_flows). Every header carries its unit (``consumer price change (%)``, ``value (USD)``,
``self sufficiency (fraction 0-1)``; :func:`critmin.frames.column_header`). Values are those of
the results contract, unrounded. The workbook has one sheet per table plus a ``summary`` sheet
with the written answer (:mod:`critmin.narrative`), the result's warnings and the units, and a
last ``sources`` sheet: publisher, title, edition, licence and link of every bundled table the
results rest on, from the dataset's manifest (:func:`source_rows`; the report's "Data sources,
editions and caveats").
A folder of CSV files has the same warnings in ``warnings.csv`` (:func:`warnings_csv`; always
written, with its header alone when there are none), so that a spreadsheet user sees them too.

Library use (the dashboard calls the same functions)::

    from critmin.export import write_xlsx, xlsx_bytes, table_csv, write_csvs
    write_xlsx(result.to_dict(), "run.xlsx")
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from critmin.frames import column_header, table, table_names, tables
from critmin.narrative import headline
from critmin.note_kinds import result_warnings
from critmin.util import spreadsheet_safe_frame

UNITS_NOTE = [
    ("%", "percent change from the baseline (columns ending in (%))"),
    (
        "USD",
        "US dollars at producer prices, for the trade year of the results (customs-comparable"
        " exports and routed flows: at export prices; export caps: at baseline prices)",
    ),
    ("fraction 0-1", "shares (self-sufficiency, watch share); 0.25 = 25%"),
    ("ISO3", "ISO 3166 alpha-3 country codes"),
]


HEADERS_BY_TABLE = {"key_figures": {"key": "figure key"}}
"""Headers that depend on the table: ``key`` is a stage's product in ``chain_stages`` (``product
key``) but names the figure in ``key_figures`` (``self_sufficiency``, ...)."""


def labelled(frame: pd.DataFrame, name: str = "") -> pd.DataFrame:
    """``frame`` (the table ``name``) with human headers that state the unit."""
    own = HEADERS_BY_TABLE.get(name, {})
    return frame.rename(
        columns={c: own.get(str(c)) or column_header(str(c)) for c in frame.columns}
    )


def _as_text(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with every text cell that a spreadsheet would run as a formula quoted
    (:func:`critmin.util.spreadsheet_safe_frame`, :data:`critmin.util.FORMULA_STARTS`)."""
    out: pd.DataFrame = spreadsheet_safe_frame(frame)
    return out


def table_csv(results: dict[str, Any], name: str) -> str:
    """One table (:func:`critmin.frames.table_names`) as CSV text with unit headers; text
    that would start a spreadsheet formula is quoted (:data:`critmin.util.FORMULA_STARTS`)."""
    text: str = _as_text(labelled(table(results, name), name)).to_csv(index=False)
    return text


WARNINGS = "warnings"
"""The name of the warnings table of a CSV set (``warnings.csv``, :func:`warnings_csv`)."""

WARNING_COLUMNS = ("where", "warning")
"""The columns of ``warnings.csv``: what a warning concerns (products, ``every product``, ``chain
<id>``, a paths market; empty for one of the whole run or one that names its products itself)
and the warning as the terminal, the workbook's summary sheet and the pages give it."""


def warnings_csv(rows: Iterable[tuple[str, str]]) -> str:
    """``(where, warning)`` rows as the CSV text of ``warnings.csv`` (:data:`WARNING_COLUMNS`),
    quoted as every table is (:data:`critmin.util.FORMULA_STARTS`). The header alone when there are none:
    a set of files is the same set whatever the run gave, and a ``warnings.csv`` of an
    earlier run in the same folder is replaced, never left to describe this one."""
    frame = pd.DataFrame([list(r) for r in rows], columns=list(WARNING_COLUMNS), dtype=object)
    text: str = _as_text(frame).to_csv(index=False)
    return text


def result_warning_rows(results: dict[str, Any]) -> list[tuple[str, str]]:
    """The warnings of a simulation result as ``warnings.csv`` rows: those of the workbook's
    summary sheet (:func:`critmin.note_kinds.result_warnings`), in the same order."""
    return [(w["where"], w["text"]) for w in result_warnings(results)]


def warnings_beside(path: str | Path) -> Path:
    """Where the warnings of a command that writes one CSV file go: ``floor.csv`` ->
    ``floor.warnings.csv`` in the same folder."""
    path = Path(path)
    return path.with_name(f"{path.stem}.{WARNINGS}.csv")


def write_csvs(results: dict[str, Any], directory: str | Path) -> list[Path]:
    """Write ``<directory>/warnings.csv`` (:func:`warnings_csv`) and every table as
    ``<directory>/<table>.csv``; returns the paths written. A table of an earlier run that
    this result does not have (a chain table after a run without chains) is removed, so the
    folder holds one run's tables, not a mix; files critmin does not write are left alone."""
    return write_csv_texts(csv_texts(results), directory)


def csv_texts(results: dict[str, Any]) -> dict[str, str]:
    """The warnings (first, as in the workbook) and every table of :func:`write_csvs` as CSV
    text, by table name (made before anything is written, so that an interrupted command
    writes all of its files or none)."""
    texts = {WARNINGS: warnings_csv(result_warning_rows(results))}
    return texts | {name: table_csv(results, name) for name in table_names(results)}


def write_csv_texts(
    texts: dict[str, str], directory: str | Path, also: Mapping[Path, bytes] | None = None
) -> list[Path]:
    """Write :func:`csv_texts` as ``<directory>/<table>.csv`` (see :func:`write_csvs`), and the
    files ``also`` (path: content; a command's JSON and workbook) together with them: all or
    none, so that a table that cannot be written leaves the JSON and workbook of the earlier
    run too, not a mix of two runs. Returns the tables' paths."""
    from critmin.frames import CHAIN_TABLES, CONTROL_TABLES, TABLES
    from critmin.util import write_bytes_together

    folder = Path(directory)
    files = {folder / f"{name}.csv": text.encode("utf-8") for name, text in texts.items()}
    # all or none: no older table is half-replaced
    write_bytes_together({**(also or {}), **files})
    paths = list(files)
    for name in {*TABLES, *CHAIN_TABLES, *CONTROL_TABLES} - set(texts):
        (folder / f"{name}.csv").unlink(missing_ok=True)
    return paths


def _summary_sheet(results: dict[str, Any]) -> pd.DataFrame:
    answer = headline(results)
    rows = [
        {"item": "scenario", "value": results["scenario"]},
        {"item": "trade year", "value": results.get("year")},
        {"item": "answer", "value": answer.paragraph},
        {"item": "zone members", "value": ", ".join(results["members"])},
        {"item": "watch countries", "value": ", ".join(results["watch"])},
        {"item": "products", "value": answer.products},
        {"item": "products converged", "value": answer.converged},
    ]
    rows += [{"item": f"chain {cid}", "value": text} for cid, text in answer.chains.items()]
    rows += [  # what the other views show above the numbers: a workbook of zeros says why
        {"item": f"warning: {w['where']}", "value": w["text"]} for w in result_warnings(results)
    ]
    rows += [{"item": f"unit: {u}", "value": meaning} for u, meaning in UNITS_NOTE]
    return pd.DataFrame(rows)


# the bundled tables every result rests on (the report lists the same)
SOURCE_TABLES = ("flows", "supply", "eu_supply_shares", "products", "elasticities", "groups")


def source_rows(names: Iterable[str] = SOURCE_TABLES) -> dict[str, Any]:
    """Publisher, title, edition, licence and link of each bundled table in ``names``, from the
    dataset's manifest: ``{"built", "rows", "error"}`` (``error`` the message when there is no
    readable manifest, with no rows)."""
    from critmin.errors import CritminError
    from critmin.world import read_manifest

    try:
        manifest = read_manifest()
    except CritminError as err:
        return {"built": None, "rows": [], "error": str(err)}
    rows = []
    for name in names:
        entry = manifest["tables"].get(name)
        for p in entry["provenance"] if entry else []:
            rows.append(
                {
                    "table": name,
                    "publisher": p.get("publisher", ""),
                    "title": p.get("title", ""),
                    "edition": p.get("edition", ""),
                    "licence": p.get("licence", ""),
                    "url": p.get("doi_or_url", ""),
                }
            )
    return {"built": manifest.get("built"), "rows": rows, "error": None}


def _sources_sheet() -> pd.DataFrame:
    """The ``sources`` sheet: one row per source of each bundled table, then when the dataset
    was built (a workbook sent on alone said nothing of its data's editions)."""
    found = source_rows()
    columns = ["dataset table", "publisher", "title", "edition", "licence", "link"]
    rows = [
        [r["table"], r["publisher"], r["title"], r["edition"], r["licence"], r["url"]]
        for r in found["rows"]
    ]
    if found["error"]:
        rows.append(["", "", "no dataset manifest", "", "", found["error"]])
    rows.append(["", "", "dataset built (UTC)", found["built"] or "", "", ""])
    return pd.DataFrame(rows, columns=columns)


def _write_workbook(results: dict[str, Any], target: io.BytesIO) -> None:
    # no ``with``: pandas' ExcelWriter saves the whole workbook on its way out of a block that
    # raised, so Ctrl-C while the sheets are filled waited seconds for a workbook thrown away
    writer = pd.ExcelWriter(target, engine="openpyxl")
    _summary_sheet(results).to_excel(writer, sheet_name="summary", index=False)
    for name, frame in tables(results).items():
        labelled(frame, name).to_excel(writer, sheet_name=name, index=False)
    _sources_sheet().to_excel(writer, sheet_name="sources", index=False)
    for sheet in writer.sheets.values():
        sheet.freeze_panes = "A2"
        for row in sheet.iter_rows():  # text is text: '=...' from a name is no formula
            for cell in row:
                if cell.data_type == "f":
                    cell.data_type = "s"
        for col in sheet.columns:
            width = max(len(str(c.value or "")) for c in col[:50])
            sheet.column_dimensions[col[0].column_letter].width = min(60, max(10, width + 2))
    writer.close()


def xlsx_bytes(results: dict[str, Any]) -> bytes:
    """The Excel workbook (see the module docstring) as bytes, e.g. for a download."""
    buffer = io.BytesIO()
    _write_workbook(results, buffer)
    return buffer.getvalue()


def write_xlsx(results: dict[str, Any], path: str | Path) -> Path:
    """Write the Excel workbook to ``path`` atomically; returns the path."""
    from critmin.util import write_bytes_atomic

    target = Path(path)
    write_bytes_atomic(target, xlsx_bytes(results))
    return target
