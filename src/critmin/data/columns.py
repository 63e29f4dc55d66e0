"""The dataset's tables as numpy columns, from a cache, so that a simulation never imports pyarrow.

Importing pyarrow and reading the Parquet tables cost a ``critmin simulate`` process about
0.2-0.3 s of CPU, more than the solve. :func:`read_columns` returns a table's columns as numpy
arrays instead, read from a cache file in the user's cache folder
(``<cache dir>/tables/<table>-<key>.cols``, the folder of
:func:`critmin.data.dataset.user_cache_dir`). The cache is written on first use, atomically
(temporary file, then rename), and a process that cannot write it simply reads the Parquet file.

Never a stale or wrong table: the key is a BLAKE2b digest of the Parquet file's bytes (read and
hashed on every load, about a millisecond for the largest table), the table's name, the cache
format (:data:`FORMAT`) and the source of this module (the code that converts the tables: a
critmin version that changes it never reads an older version's files). A changed, rebuilt or
other dataset (``--data``, ``CRITMIN_DATA``, a user build) has other bytes, hence another key,
and is read from its Parquet file once. A cache file that cannot be read, is cut short, has
another key inside, other columns than the schema's or text codes out of range is ignored and
written anew.

The file: a magic line, the length of a JSON header, the header (key, rows, and per column its
kind and where its arrays lie, padded with blanks), then the arrays' raw bytes, each at a
64-byte boundary. Text columns are stored as dictionary codes (``int32``, -1 where missing)
with their categories in the header; numbers as ``float64``/``int64`` and booleans as
``bool``, each with a mask of missing values when any is missing.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.data.dataset import user_cache_dir
from critmin.data.schema import TABLES
from critmin.errors import DataIntegrityError, WriteFailedError

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FORMAT", "ColumnTable", "cache_folder", "read_columns"]

FORMAT = 1
"""Version of the cache file layout; bump it when the layout or a column's meaning changes."""
MAGIC = b"critmin-columns\n"
KEEP_PER_TABLE = 3
"""Cache files kept per table name (the newest): one per dataset recently used."""
_ALIGN = 64


@dataclass(frozen=True)
class Column:
    """One column: ``kind`` is ``str`` (``values`` holds int32 codes into ``categories``, -1
    where missing), ``float``, ``int`` or ``bool`` (``values`` holds the numbers; ``missing``
    is a mask, or None when nothing is missing)."""

    kind: str
    values: np.ndarray
    missing: np.ndarray | None = None
    categories: tuple[str, ...] = ()

    def take(self, rows: np.ndarray) -> Column:
        return Column(
            self.kind,
            self.values[rows],
            None if self.missing is None else self.missing[rows],
            self.categories,
        )

    def true(self) -> np.ndarray:
        """Where a ``bool`` column is True (False where missing): pyarrow's ``filter``."""
        if self.kind != "bool":
            raise TypeError(f"true() needs a bool column, not {self.kind}")
        return self.values if self.missing is None else self.values & ~self.missing

    @property
    def null_count(self) -> int:
        if self.kind == "str":
            return int(np.count_nonzero(self.values < 0))
        return 0 if self.missing is None else int(np.count_nonzero(self.missing))

    def objects(self) -> np.ndarray:
        """Text as an ``object`` array of Python strings, ``None`` where missing."""
        lookup = np.array([*self.categories, None], dtype=object)
        return lookup[self.values]  # -1 picks the trailing None

    def pylist(self) -> list[Any]:
        """Python values, ``None`` where missing (what pyarrow's ``to_pylist`` gives)."""
        if self.kind == "str":
            values: list[Any] = self.objects().tolist()
            return values
        out: list[Any] = self.values.tolist()
        if self.missing is not None:
            for k in np.flatnonzero(self.missing).tolist():
                out[k] = None
        return out

    def array(self) -> np.ndarray:
        """Numbers as ``float64`` (NaN where missing), integers without missing values as
        ``int64``, anything else as an ``object`` array of Python values (``None`` missing)."""
        if self.kind == "float":
            if self.missing is None:
                return self.values
            return np.where(self.missing, np.nan, self.values)
        if self.kind == "int" and self.missing is None:
            return self.values
        if self.kind == "str":
            return self.objects()
        return np.array(self.pylist(), dtype=object)


@dataclass(frozen=True)
class ColumnTable:
    """A table as named numpy columns (rows in the Parquet file's order)."""

    num_rows: int
    columns: dict[str, Column] = field(repr=False)

    @property
    def column_names(self) -> list[str]:
        return list(self.columns)

    def column(self, name: str) -> Column:
        return self.columns[name]

    def array(self, name: str) -> np.ndarray:
        """See :meth:`Column.array`."""
        return self.columns[name].array()

    def pylist(self, name: str) -> list[Any]:
        return self.columns[name].pylist()

    def records(self) -> list[dict[str, Any]]:
        """Rows as dicts of Python values (pyarrow's ``Table.to_pylist``)."""
        names = list(self.columns)
        cols = [self.columns[n].pylist() for n in names]
        return [dict(zip(names, row, strict=True)) for row in zip(*cols, strict=True)]

    def take(self, rows: np.ndarray) -> ColumnTable:
        """The rows at positions ``rows`` (or where a boolean mask is True), in that order."""
        if rows.dtype == np.bool_:
            rows = np.flatnonzero(rows)
        return ColumnTable(len(rows), {n: c.take(rows) for n, c in self.columns.items()})

    def values(self, name: str) -> set[Any]:
        """The distinct values present in a column (``None`` included when a value is missing)."""
        col = self.columns[name]
        if col.kind == "str":
            present = np.unique(col.values).tolist()
            return {col.categories[k] if k >= 0 else None for k in present}
        return set(col.pylist())

    def row_groups(self, *names: str) -> dict[Any, np.ndarray]:
        """Row positions (ascending: table order) of each value of a text column, or of each
        combination of values of several (keyed by a tuple); rows with a missing value left
        out."""
        cols = [self.columns[n] for n in names]
        if not cols or any(c.kind != "str" for c in cols):
            raise TypeError(f"row_groups needs text columns, got {names!r}")
        key = cols[0].values.astype(np.int64)
        missing = key < 0
        for col in cols[1:]:  # one integer per combination of codes
            key = key * (len(col.categories) + 1) + col.values
            missing |= col.values < 0
        rows = np.flatnonzero(~missing)
        order = rows[np.argsort(key[rows], kind="stable")]
        if not len(order):
            return {}
        sorted_keys = key[order]
        starts = np.flatnonzero(np.r_[True, sorted_keys[1:] != sorted_keys[:-1]]).tolist()
        ends = [*starts[1:], len(order)]
        first = order[starts]
        labels = [[col.categories[k] for k in col.values[first].tolist()] for col in cols]
        keys = labels[0] if len(cols) == 1 else list(zip(*labels, strict=True))
        return {k: order[a:b].astype(np.intp) for k, a, b in zip(keys, starts, ends, strict=True)}


# ------------------------------------------------------------------------------ reading


def cache_folder() -> Path:
    """Where the cache files are written (module docstring)."""
    return user_cache_dir() / "tables"


def read_columns(name: str, reference_dir: Path | None = None) -> ColumnTable:
    """One table of the dataset in use (or of ``reference_dir``) as numpy columns: from the
    cache when it holds this very file, else read from Parquet and cached (cached in memory
    for the process too, as :func:`critmin.data.dataset.read_arrow`)."""
    from critmin.data.dataset import dataset_dir

    folder = Path(reference_dir) if reference_dir is not None else dataset_dir()
    return _read_columns(name, folder)


@lru_cache(maxsize=16)
def _read_columns(name: str, folder: Path) -> ColumnTable:
    if name not in TABLES:
        raise DataIntegrityError(f"no bundled table {name!r}; tables: {', '.join(TABLES)}")
    path = folder / f"{name}.parquet"
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataIntegrityError(
            f"table {path} is missing: run 'critmin data build' or reinstall critmin"
        ) from None
    except OSError as err:
        raise DataIntegrityError(f"table {path} cannot be read ({err}); rebuild it") from err
    key = table_key(name, data)
    cache = cache_folder() / f"{name}-{key[:32]}.cols"
    table = _load(cache, key, TABLES[name].column_names)
    if table is None:
        table = _from_parquet(name, path, data)
        _store(cache, key, table)
    return table


def table_key(name: str, parquet: bytes) -> str:
    """The cache key of a table: its Parquet bytes, its name, :data:`FORMAT` and the
    converter's source (:func:`_converter_digest`)."""
    digest = hashlib.blake2b(parquet, digest_size=32)
    digest.update(f"\0{name}\0{FORMAT}\0{_converter_digest()}".encode())
    return digest.hexdigest()


@lru_cache(maxsize=1)
def _converter_digest() -> str:
    """A digest of this module's source ("" where it cannot be read, e.g. from a zip file)."""
    try:
        return hashlib.blake2b(Path(__file__).read_bytes(), digest_size=16).hexdigest()
    except OSError:
        return ""


def _load(path: Path, key: str, names: list[str]) -> ColumnTable | None:
    """The table in a cache file, or None when absent, unreadable or not this key's."""
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    try:
        if not blob.startswith(MAGIC):
            return None
        start = len(MAGIC) + 8
        size = int.from_bytes(blob[len(MAGIC) : start], "little")
        header = json.loads(blob[start : start + size])
        base = start + size  # the arrays follow the header (padded to a 64-byte boundary)
        if header.get("key") != key or [c["name"] for c in header["columns"]] != names:
            return None
        rows = int(header["rows"])
        columns: dict[str, Column] = {}
        for c in header["columns"]:
            arrays = {
                part: _view(blob, dtype, base + offset, rows)
                for part, (dtype, offset) in c["arrays"].items()
            }
            col = Column(c["kind"], arrays["values"], arrays.get("missing"), tuple(c["categories"]))
            if (
                col.kind == "str"
                and rows
                and not -1 <= col.values.min() <= col.values.max() < len(col.categories)
            ):
                return None
            columns[c["name"]] = col
        return ColumnTable(rows, columns)
    except (ValueError, KeyError, TypeError, IndexError, AttributeError):
        return None  # a damaged file: read the Parquet file and write it anew


def _view(blob: bytes, dtype: str, offset: int, rows: int) -> np.ndarray:
    need = offset + rows * np.dtype(dtype).itemsize
    if need > len(blob):
        raise ValueError("cache file truncated")
    return np.frombuffer(blob, dtype=dtype, count=rows, offset=offset)


# ------------------------------------------------------------------------------ writing


def _from_parquet(name: str, path: Path, data: bytes) -> ColumnTable:
    """Parse a table from the Parquet bytes its key was made of (pyarrow, with
    :mod:`critmin.data.dataset`'s checks) and convert it column by column."""
    from critmin.data.dataset import parse_table

    table = parse_table(name, path, data)
    return ColumnTable(
        table.num_rows, {c: _convert(c, table.column(c)) for c in table.column_names}
    )


def _convert(name: str, column: pa.ChunkedArray) -> Column:
    import pyarrow as pa

    values = column.to_pylist()  # through Python lists: pyarrow's to_numpy imports pandas
    missing = np.array([v is None for v in values], dtype=bool)
    mask = missing if missing.any() else None
    kind = column.type
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        categories: dict[str, int] = {}
        codes = np.array(
            [-1 if v is None else categories.setdefault(v, len(categories)) for v in values],
            dtype=np.int32,
        )
        return Column("str", codes, None, tuple(categories))
    if pa.types.is_floating(kind):
        floats = [math.nan if v is None else v for v in values]
        return Column("float", np.array(floats, dtype=np.float64), mask)
    if pa.types.is_integer(kind):
        return Column("int", np.array([v or 0 for v in values], dtype=np.int64), mask)
    if pa.types.is_boolean(kind):
        return Column("bool", np.array([bool(v) for v in values], dtype=np.bool_), mask)
    raise DataIntegrityError(f"column {name!r} has type {kind}, which the cache cannot hold")


def _store(path: Path, key: str, table: ColumnTable) -> None:
    """Write a cache file atomically; a folder that cannot be written is no error (the next
    process reads the Parquet file again). Older files of the same table beyond
    :data:`KEEP_PER_TABLE` are removed."""
    from critmin.util import write_bytes_atomic

    chunks: list[bytes] = []
    offset = 0  # from the start of the arrays, which follow the header
    specs = []
    for col_name, col in table.columns.items():
        arrays = {"values": col.values}
        if col.missing is not None:
            arrays["missing"] = col.missing
        placed = {}
        for part, arr in arrays.items():
            raw = np.ascontiguousarray(arr).tobytes()
            pad = -offset % _ALIGN
            chunks.append(b"\0" * pad + raw)
            offset += pad
            placed[part] = [arr.dtype.str, offset]
            offset += len(raw)
        specs.append(
            {
                "name": col_name,
                "kind": col.kind,
                "categories": list(col.categories),
                "arrays": placed,
            }
        )
    header = {"key": key, "rows": table.num_rows, "columns": specs}
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-(len(MAGIC) + 8 + len(text)) % _ALIGN)  # JSON allows trailing blanks
    blob = MAGIC + len(text).to_bytes(8, "little") + text + b"".join(chunks)
    try:
        write_bytes_atomic(path, blob)
    except WriteFailedError:
        return
    _prune(path)


def _prune(path: Path) -> None:
    table = path.name.rsplit("-", 1)[0]
    try:
        files = sorted(
            path.parent.glob(f"{table}-*.cols"), key=lambda p: p.stat().st_mtime, reverse=True
        )
        for old in files[KEEP_PER_TABLE:]:
            old.unlink(missing_ok=True)
    except OSError:
        pass
