"""Shared pytest fixtures.

``shared_data``: the folder ``../shared/data`` beside the checkout (the raw public releases).
Tests marked ``@pytest.mark.shared_data`` (or using the fixture) are skipped with the reason
"../shared/data not present" on machines without it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

# Property tests draw the same examples on every run (CI included), so a green suite stays green;
# run with --hypothesis-profile=explore to search new examples.
settings.register_profile("repeatable", derandomize=True, print_blob=True)
settings.register_profile("explore", derandomize=False, print_blob=True)
settings.load_profile("repeatable")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
_SKIP_REASON = "../shared/data not present"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip every test marked ``shared_data`` when the folder is absent."""
    if SHARED_DATA.is_dir():
        return
    skip = pytest.mark.skip(reason=_SKIP_REASON)
    for item in items:
        if "shared_data" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path of ``../shared/data``; skips the test when it is not there."""
    if not SHARED_DATA.is_dir():
        pytest.skip(_SKIP_REASON)
    return SHARED_DATA


@pytest.fixture(scope="session")
def source_fixtures() -> Path:
    """Folder of the small hand-made source files in tests/fixtures/sources."""
    return FIXTURES / "sources"


@pytest.fixture(scope="session")
def cluster() -> Iterator[Any]:
    """A Dask cluster of two single-threaded worker processes on 127.0.0.1 (dashboard on a free
    port), shared by the tests that compare a Dask run with the local one; closed at the end."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=":0",
    ) as cl:
        yield cl


@pytest.fixture
def unwritable_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """``CRITMIN_CACHE_DIR`` set to a folder that cannot be made (a file is in its way)."""
    blocker = tmp_path / "a_file"
    blocker.write_text("a file where the cache folder would be")
    monkeypatch.setenv("CRITMIN_CACHE_DIR", str(blocker / "cache"))
    return blocker / "cache"


@pytest.fixture(scope="session")
def world() -> Any:
    """The bundled world of 2024 (:func:`critmin.world.load_world`), loaded once for the run
    and shared by every test that asks for it (they only read it)."""
    from critmin.world import load_world

    return load_world(2024)
