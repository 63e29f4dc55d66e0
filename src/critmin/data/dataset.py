"""The compiled dataset: where it lives and how its tables are read.

Every layer above (world, catalog, assessment, the CLI's data commands, ``data check``) reads the
bundled reference tables through these functions, so there is one place that knows the folder,
the file format and the errors a missing or corrupt table gives.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq

from critmin.data.schema import TABLES
from critmin.errors import DataIntegrityError

REFERENCE_DIR = Path(__file__).parent / "reference"
AGGREGATES = frozenset({"WLD", "OTH"})
"""Pseudo-country codes of the tables: the world total and "other countries"."""


@lru_cache(maxsize=4)
def read_table(name: str, reference_dir: Path = REFERENCE_DIR) -> pd.DataFrame:
    """Read one bundled table (cached). Raises DataIntegrityError if it is absent or unreadable."""
    if name not in TABLES:
        raise DataIntegrityError(f"no bundled table {name!r}; tables: {', '.join(TABLES)}")
    path = reference_dir / f"{name}.parquet"
    if not path.exists():
        raise DataIntegrityError(
            f"bundled table {path} is missing: run 'critmin data build' or reinstall critmin"
        )
    try:
        # single-threaded: for these small files the thread pool costs more than it saves
        df = pq.read_table(path, use_threads=False).to_pandas()
    except Exception as err:  # pyarrow raises several types for a corrupt file
        raise DataIntegrityError(
            f"bundled table {path} cannot be read ({err}); rebuild it"
        ) from err
    if list(df.columns) != TABLES[name].column_names:
        raise DataIntegrityError(f"bundled table {path} does not have the documented columns")
    return df


def read_manifest(reference_dir: Path = REFERENCE_DIR) -> dict[str, Any]:
    path = reference_dir / "manifest.json"
    if not path.exists():
        raise DataIntegrityError(f"{path} is missing: run 'critmin data build'")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as err:
        raise DataIntegrityError(f"{path} is not valid JSON ({err})") from err
    return data


def trade_years(reference_dir: Path = REFERENCE_DIR) -> list[int]:
    return sorted(int(y) for y in read_table("flows", reference_dir)["year"].unique())
