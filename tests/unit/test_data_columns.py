"""The numpy column cache of the dataset's tables: the same values as pyarrow, never stale."""

from __future__ import annotations

import math
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from critmin.data import columns
from critmin.data.columns import cache_folder, read_columns
from critmin.data.dataset import REFERENCE_DIR, _read_arrow, read_arrow, use_dataset
from critmin.data.schema import TABLES
from critmin.world import load_world


@pytest.fixture(autouse=True)
def fresh_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """An empty cache folder of this test's own, and no table cached in memory."""
    monkeypatch.setenv("CRITMIN_CACHE_DIR", str(tmp_path / "cache"))
    columns._read_columns.cache_clear()
    yield tmp_path / "cache"
    columns._read_columns.cache_clear()
    _read_arrow.cache_clear()
    use_dataset(None)


def same(a: Any, b: Any) -> bool:
    """Equal, NaN equal to NaN, types included (a float is not an int)."""
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return type(a) is type(b) and a == b


def assert_same_table(name: str, folder: Path) -> None:
    expected = read_arrow(name, folder)
    got = read_columns(name, folder)
    assert got.num_rows == expected.num_rows
    assert got.column_names == expected.column_names
    for col in expected.column_names:
        want = expected.column(col).to_pylist()
        have = got.pylist(col)
        bad = [k for k, (x, y) in enumerate(zip(want, have, strict=True)) if not same(x, y)]
        assert not bad, (
            f"{name}.{col}: rows {bad[:5]} differ ({want[bad[0]]!r} != {have[bad[0]]!r})"
        )
    assert all(
        all(same(x, y) for x, y in zip(r1.values(), r2.values(), strict=True))
        for r1, r2 in zip(expected.to_pylist()[:50], got.records()[:50], strict=True)
    )


@pytest.mark.parametrize("name", list(TABLES))
def test_every_table_reads_the_same_as_pyarrow_from_parquet_and_from_the_cache(
    name: str, fresh_cache: Path
) -> None:
    assert_same_table(name, REFERENCE_DIR)  # converted from Parquet, then written
    assert len(list(cache_folder().glob(f"{name}-*.cols"))) == 1
    columns._read_columns.cache_clear()
    assert_same_table(name, REFERENCE_DIR)  # now read back from the cache file


def test_numeric_arrays_have_nan_for_missing_and_text_none() -> None:
    flows = read_columns("flows", REFERENCE_DIR)
    q = flows.array("quantity_t")
    arrow = read_arrow("flows", REFERENCE_DIR).column("quantity_t").to_pylist()
    assert q.dtype == np.float64
    assert np.array_equal(np.isnan(q), np.array([v is None for v in arrow]))
    assert flows.array("year").dtype == np.int64
    supply = read_columns("supply", REFERENCE_DIR)
    reason = supply.array("missing_reason")
    assert reason.dtype == object and None in set(reason.tolist())


def copy_dataset(tmp_path: Path) -> Path:
    folder = tmp_path / "dataset"
    shutil.copytree(REFERENCE_DIR, folder)
    return folder


def rewrite_first_flow(folder: Path, value: float) -> int:
    """Set value_usd of the first flow of 2024 in flows.parquet (the file's bytes change);
    its row in the whole table."""
    path = folder / "flows.parquet"
    table = pq.read_table(path)
    k = table.column("year").to_pylist().index(2024)
    values = table.column("value_usd").to_pylist()
    values[k] = value
    col = table.column_names.index("value_usd")
    pq.write_table(table.set_column(col, "value_usd", pa.array(values, pa.float64())), path)
    return k


def test_a_changed_dataset_is_never_read_from_a_stale_cache(tmp_path: Path) -> None:
    folder = copy_dataset(tmp_path)
    read_arrow("flows", folder)  # the old file, also in pyarrow's in-memory cache
    k = int(np.flatnonzero(read_columns("flows", folder).array("year") == 2024)[0])
    before = read_columns("flows", folder).array("value_usd")[k]
    assert len(list(cache_folder().glob("flows-*.cols"))) == 1
    assert rewrite_first_flow(folder, 123456.5) == k
    columns._read_columns.cache_clear()  # as a new process would
    assert read_columns("flows", folder).array("value_usd")[k] == 123456.5 != before
    assert len(list(cache_folder().glob("flows-*.cols"))) == 2  # one per version of the file
    columns._read_columns.cache_clear()
    _read_arrow.cache_clear()
    assert_same_table("flows", folder)


def test_data_option_and_environment_variable_read_their_own_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bundled = load_world(2024).flows_table.array("value_usd")[0]
    folder = copy_dataset(tmp_path)
    rewrite_first_flow(folder, 7.25)
    monkeypatch.setenv("CRITMIN_DATA", str(folder))
    assert load_world(2024).flows_table.array("value_usd")[0] == 7.25
    monkeypatch.delenv("CRITMIN_DATA")
    use_dataset(folder)  # --data DIR
    assert load_world(2024).flows_table.array("value_usd")[0] == 7.25
    use_dataset(None)
    assert load_world(2024).flows_table.array("value_usd")[0] == bundled != 7.25


def test_a_damaged_cache_file_is_ignored_and_rewritten() -> None:
    expected = read_columns("products", REFERENCE_DIR).records()
    (path,) = cache_folder().glob("products-*.cols")
    for damage in (b"", path.read_bytes()[:200], b"critmin-columns\n" + b"\xff" * 64):
        path.write_bytes(damage)
        columns._read_columns.cache_clear()
        assert read_columns("products", REFERENCE_DIR).records() == expected
        assert path.read_bytes() != damage  # written anew


def test_an_unwritable_cache_folder_only_costs_time(unwritable_cache: Path) -> None:
    assert read_columns("groups", REFERENCE_DIR).num_rows == read_arrow("groups").num_rows


def test_world_columns_equal_the_pandas_tables() -> None:
    world = load_world(2024)
    flows = world.flows
    assert world.flows_table.num_rows == len(flows)
    assert np.array_equal(world.flows_table.array("value_usd"), flows["value_usd"].to_numpy())
    supply = world.supply
    assert world.supply_table.num_rows == len(supply)
    assert world.supply_table.pylist("country") == supply["country"].astype(object).tolist()


def plain_groups(keys: list[Any]) -> dict[Any, list[int]]:
    groups: dict[Any, list[int]] = {}
    for k, key in enumerate(keys):
        if key is not None and (not isinstance(key, tuple) or None not in key):
            groups.setdefault(key, []).append(k)
    return groups


@pytest.mark.parametrize(
    "names", [("product_id",), ("missing_reason",), ("mineral", "stage", "measure")]
)
def test_row_groups_equal_a_plain_grouping(names: tuple[str, ...]) -> None:
    table = read_columns("flows" if names == ("product_id",) else "supply", REFERENCE_DIR)
    lists = [table.pylist(n) for n in names]
    keys = lists[0] if len(names) == 1 else list(zip(*lists, strict=True))
    expected = plain_groups(keys)
    got = table.row_groups(*names)
    assert got.keys() == expected.keys()
    assert all(got[k].tolist() == rows for k, rows in expected.items())
