"""The compiled dataset in use: where it lives and how its tables are read.

Every layer above (world, catalog, assessment, the CLI's data commands, ``data check``) reads the
compiled tables through these functions, so there is one place that knows the folder, the file
format and the errors a missing or corrupt table gives.

Which dataset is in use (first match wins):

1. the folder passed to :func:`use_dataset` (the CLI's ``--data DIR``);
2. the folder named by the environment variable ``CRITMIN_DATA``;
3. the user's dataset written by ``critmin data build --baci`` into :func:`user_data_dir`,
   if it holds a ``manifest.json``;
4. the reference dataset bundled with the package (:data:`REFERENCE_DIR`).

Functions take ``reference_dir=None`` for "the dataset in use".
"""

from __future__ import annotations

import json
import os
import sys
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from critmin.data.schema import TABLES
from critmin.errors import CritminError, DataIntegrityError

if TYPE_CHECKING:  # pyarrow and pandas are imported where a table is read with them: a
    import pandas as pd  # simulation reads numpy columns (critmin.data.columns) instead
    import pyarrow as pa

REFERENCE_DIR = Path(__file__).parent / "reference"
"""The reference dataset bundled with the package (built by ``make data``)."""
ENV_VAR = "CRITMIN_DATA"
AGGREGATES = frozenset({"WLD", "OTH"})
"""Pseudo-country codes of the tables: the world total and "other countries"."""

_override: Path | None = None


def user_data_dir() -> Path:
    """The platform's user data folder for critmin's own dataset (``critmin data build``).

    Linux: ``$XDG_DATA_HOME/critmin`` (default ``~/.local/share/critmin``); macOS:
    ``~/Library/Application Support/critmin``; Windows: ``%LOCALAPPDATA%\\critmin``.
    """
    home = Path.home()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA", home / "AppData" / "Local"))
    elif sys.platform == "darwin":
        base = home / "Library" / "Application Support"
    else:
        base = Path(os.environ.get("XDG_DATA_HOME") or home / ".local" / "share")
    return base / "critmin" / "dataset"


def user_cache_dir() -> Path:
    """The user's cache folder for critmin: ``$CRITMIN_CACHE_DIR``, else
    ``$XDG_CACHE_HOME/critmin``, else the platform's (``~/.cache/critmin`` on Linux,
    ``~/Library/Caches/critmin`` on macOS, ``%LOCALAPPDATA%\\critmin\\Cache`` on Windows)."""
    if env := os.environ.get("CRITMIN_CACHE_DIR"):
        return Path(env)
    if env := os.environ.get("XDG_CACHE_HOME"):
        return Path(env) / "critmin"
    home = Path.home()
    if sys.platform == "darwin":
        return home / "Library" / "Caches" / "critmin"
    if sys.platform == "win32":
        base = os.environ.get("LOCALAPPDATA")
        return (Path(base) if base else home / "AppData" / "Local") / "critmin" / "Cache"
    return home / ".cache" / "critmin"


def use_dataset(path: Path | str | None) -> None:
    """Use the dataset in ``path`` from now on (``None``: back to the default order)."""
    global _override
    if path is None:
        _override = None
        return
    folder = Path(path).expanduser()
    _check_not_missing(folder, f"--data {folder}")
    if not _has_manifest(folder, f"--data {folder}"):
        raise CritminError(
            f"--data {folder}: no dataset there (no manifest.json); build one with "
            "'critmin data build --baci PATH --out DIR'"
        )
    _override = folder


def _check_not_missing(folder: Path, name: str) -> None:
    """A dataset folder that does not exist or is a file is said to be so (not only that it
    holds no manifest.json, which sends one looking for a file in a folder that is not there)."""
    try:  # exists() raises for a name longer than the file system allows
        exists, is_dir = folder.exists(), folder.is_dir()
    except OSError as err:
        raise CritminError(f"{name}: {err.strerror or err}") from None
    if not exists:
        from critmin.util import why_missing

        missing = why_missing(folder)
        if missing == "does not exist":
            raise CritminError(f"{name}: the folder does not exist (give a dataset's folder)")
        raise CritminError(f"{name} {missing}: give a dataset's folder")
    if not is_dir:
        raise CritminError(f"{name} is a file: give the folder of a dataset")


def _has_manifest(folder: Path, name: str) -> bool:
    """Does ``folder`` hold a dataset's ``manifest.json``? A folder that cannot be searched
    (``chmod 000``) is said so: ``Path.is_file`` raised PermissionError, a traceback (``--data``
    is read before any command's error handling)."""
    try:
        return (folder / "manifest.json").is_file()
    except OSError as err:
        raise CritminError(
            f"{name}: cannot read {folder / 'manifest.json'} ({err.strerror or err})"
        ) from None


def dataset_dir() -> Path:
    """The folder of the dataset in use (see the module docstring for the order)."""
    if _override is not None:
        return _override
    env = os.environ.get(ENV_VAR, "").strip()
    if env:
        folder = Path(env).expanduser()
        _check_not_missing(folder, f"{ENV_VAR}={env}")
        if not _has_manifest(folder, f"{ENV_VAR}={env}"):
            raise CritminError(f"{ENV_VAR}={env}: no dataset there (no manifest.json)")
        return folder
    user = user_data_dir()
    if _has_manifest(user, f"the user data folder {user}"):
        return user
    return REFERENCE_DIR


def dataset_origin(folder: Path | None = None) -> str:
    """Why this folder is in use: ``--data``, the environment variable, the user's or bundled."""
    folder = folder or dataset_dir()
    if _override is not None and folder == _override:
        return "--data"
    if os.environ.get(ENV_VAR, "").strip() and folder == Path(os.environ[ENV_VAR]).expanduser():
        return ENV_VAR
    if folder == REFERENCE_DIR:
        return "bundled"
    return "user data folder"


def _folder(reference_dir: Path | None) -> Path:
    return Path(reference_dir) if reference_dir is not None else dataset_dir()


def read_table(name: str, reference_dir: Path | None = None) -> pd.DataFrame:
    """Read one table of the dataset in use (cached). DataIntegrityError if absent/unreadable."""
    return _read_table(name, _folder(reference_dir))


def read_arrow(name: str, reference_dir: Path | None = None) -> pa.Table:
    """One table of the dataset in use as a pyarrow Table (cached; the same checks as
    :func:`read_table`). Reading without pandas: importing pandas costs a process about
    0.3 s of CPU, more than reading every table. (Without pyarrow either, from a cache:
    :func:`critmin.data.columns.read_columns`.)"""
    return _read_arrow(name, _folder(reference_dir))


@lru_cache(maxsize=8)
def _read_table(name: str, reference_dir: Path) -> pd.DataFrame:
    return _read_arrow(name, reference_dir).to_pandas()


@lru_cache(maxsize=16)
def _read_arrow(name: str, reference_dir: Path) -> pa.Table:
    if name not in TABLES:
        raise DataIntegrityError(f"no bundled table {name!r}; tables: {', '.join(TABLES)}")
    path = reference_dir / f"{name}.parquet"
    if not path.exists():
        raise DataIntegrityError(
            f"table {path} is missing: run 'critmin data build' or reinstall critmin"
        )
    return parse_table(name, path, path)


def parse_table(name: str, path: Path, content: Path | bytes) -> pa.Table:
    """Parse a table's Parquet ``content`` (its file, or the file's bytes already read) and
    check its columns; DataIntegrityError naming ``path`` when it cannot be read."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    source = pa.BufferReader(content) if isinstance(content, bytes) else content
    try:
        # single-threaded: for these small files the thread pool costs more than it saves;
        # ParquetFile, not pq.read_table, whose dataset layer imports pandas
        table = pq.ParquetFile(source).read(use_threads=False)
    except Exception as err:  # pyarrow raises several types for a corrupt file
        raise DataIntegrityError(f"table {path} cannot be read ({err}); rebuild it") from err
    if list(table.column_names) != TABLES[name].column_names:
        raise DataIntegrityError(f"table {path} does not have the documented columns")
    problem = table_problem(name, table)
    if problem:
        raise DataIntegrityError(f"table {path}: {problem}; rebuild it")
    return table


_KINDS = {
    "str": ("string", "large_string"),
    "int": ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64"),
    "float": ("float", "double", "halffloat"),
    "bool": ("bool",),
}
"""The Parquet (Arrow) types a schema's column type may be stored as."""


def table_problem(name: str, table: pa.Table) -> str | None:
    """What is wrong with the types or values of a table that has its schema's columns (None
    when nothing): a column of another type (a value column stored as text), a missing value
    in an integer, boolean or complete column, an infinite number, or one out of its
    column's range (:class:`critmin.data.schema.Column`: a negative tonnage or trade value, a
    share above 1). Read and computed on without these checks, such a table made internal
    errors or numbers that were silently wrong."""
    import numpy as np

    for col in TABLES[name].columns:
        column = table.column(col.name)
        kind = str(column.type)
        if kind not in _KINDS[col.dtype]:
            return f"column {col.name!r} holds {kind}, not {col.dtype}"
        if col.dtype == "str":
            continue
        if col.dtype != "float":
            if column.null_count:
                return f"column {col.name!r} has {column.null_count:,} missing values"
            continue
        values = column.to_pylist()  # not to_numpy, which imports pandas
        x = np.array([np.nan if v is None else v for v in values], dtype=np.float64)
        missing = int(np.count_nonzero(np.isnan(x)))
        if col.complete and missing:
            return f"column {col.name!r} has {missing:,} missing values (null or NaN)"
        infinite = int(np.count_nonzero(np.isinf(x)))
        if infinite:
            return f"column {col.name!r} has {infinite:,} infinite values"
        for bound, outside, word in (
            (col.low, x < (col.low or 0.0), "below"),
            (col.high, x > (col.high or 0.0), "above"),
        ):
            count = int(np.count_nonzero(outside)) if bound is not None else 0
            if count:
                first = float(x[outside][0])
                return f"column {col.name!r} has {count:,} values {word} {bound:g} (e.g. {first:g})"
    return None


def read_manifest(reference_dir: Path | None = None) -> dict[str, Any]:
    path = _folder(reference_dir) / "manifest.json"
    if not path.exists():
        raise DataIntegrityError(f"{path} is missing: run 'critmin data build'")
    try:
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataIntegrityError(f"{path} is not valid JSON ({err}); rebuild it") from err
    problem = _manifest_problem(data)
    if problem:
        joint = " " if problem.endswith(", or") else ": "  # "upgrade critmin, or rebuild it"
        raise DataIntegrityError(f"{path} {problem}{joint}rebuild it ('critmin data build')")
    return data


MANIFEST_TABLE_KEYS = ("file", "sha256", "rows", "row", "provenance", "transformations")
"""What every table's entry in a manifest holds (read by ``data sources``, ``data check``,
the report's sources and the API's ``/api/sources``)."""


def _manifest_problem(data: Any) -> str | None:
    """What is wrong with a manifest's structure (None when it has what its readers read)."""
    if not isinstance(data, dict):
        return "is not a JSON object"
    if "built" not in data or not isinstance(data.get("tables"), dict) or not data["tables"]:
        return "has no 'built' date or no 'tables'"
    version = data.get("critmin_schema", MANIFEST_SCHEMA)
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        return f"has a 'critmin_schema' of {version!r}, not a version number"
    if version > MANIFEST_SCHEMA:
        return (
            f"is of dataset version {version}, made by a newer critmin (this one reads version "
            f"{MANIFEST_SCHEMA}): upgrade critmin, or"
        )
    if not isinstance(data["built"], str):
        return "has a 'built' date that is not text"
    for name, entry in data["tables"].items():
        if not isinstance(entry, dict):
            return f"has no entry for table {name!r}"
        missing = [k for k in MANIFEST_TABLE_KEYS if k not in entry]
        if missing:
            return f"lacks {', '.join(missing)} for table {name!r}"
        wrong = _entry_problem(name, entry)
        if wrong:
            return f"has {wrong} for table {name!r}"
    return None


MANIFEST_SCHEMA = 1
"""The dataset version (``critmin_schema``) this critmin writes and reads."""
_PUBLICATION_KEYS = ("publisher", "title", "edition", "doi_or_url", "licence")


def _entry_problem(name: str, entry: dict[str, Any]) -> str | None:
    """What is wrong with the values of a table's manifest entry (its keys are all there): each
    is read as the type the build writes (``data check``, ``data info``, ``data sources`` and
    the report failed with internal errors on others), and the file is the table's own
    (another, ``/etc/passwd``, was hashed in its stead)."""
    if name in TABLES and entry["file"] != f"{name}.parquet":
        return f"a 'file' of {entry['file']!r}, not {name}.parquet,"
    sha, rows = entry["sha256"], entry["rows"]
    if not isinstance(sha, str) or len(sha) != 64:
        return "a 'sha256' that is not a sha256 digest"
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        return f"a 'rows' of {rows!r}, not a count,"
    if not isinstance(entry["row"], str):
        return "a 'row' that is not text"
    pubs = entry["provenance"]
    if not isinstance(pubs, list) or not all(
        isinstance(p, dict) and all(isinstance(p.get(k), str) for k in _PUBLICATION_KEYS)
        for p in pubs
    ):
        return f"a 'provenance' that is not a list of publications ({', '.join(_PUBLICATION_KEYS)})"
    steps = entry["transformations"]
    if not isinstance(steps, list) or not all(isinstance(t, str) for t in steps):
        return "'transformations' that are not a list of texts"
    return None


def trade_years(reference_dir: Path | None = None) -> list[int]:
    """The years of the flows table (from the numpy column cache: no pyarrow)."""
    from critmin.data.columns import read_columns

    years = read_columns("flows", reference_dir).values("year")
    return sorted(int(y) for y in years if y is not None)
