"""Fixtures for the report, web API, browser, fuzzing and load tests.

``live_server``: the real app under uvicorn in a background thread on 127.0.0.1 and a free
port, with its own SQLite file in a temporary folder; stopped (``should_exit``) and joined at
the end of the session. ``client``: FastAPI's TestClient on a fresh app and database.
``chromium``: path of Debian's chromium; tests needing it skip with a reason when it is absent
(``make browser`` installs it). ``browser``: that chromium under Playwright, one per test module.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webutil import CHROMIUM, CHROMIUM_ARGS, EXAMPLE1, SCREENSHOTS, ServerThread, free_port


@pytest.fixture(scope="session")
def example1_result() -> dict[str, Any]:
    """``simulate()`` of example 1 through the library, as JSON-safe data."""
    from critmin.report.format import clean
    from critmin.simulation import simulate

    data: dict[str, Any] = clean(simulate(EXAMPLE1).to_dict())
    return data


@pytest.fixture()
def client(tmp_path: Path) -> Iterator[Any]:
    """A TestClient on a fresh app with an empty database."""
    from fastapi.testclient import TestClient

    from critmin.web.app import create_app

    app = create_app(tmp_path / "scenarios.sqlite3")
    with TestClient(app) as c:
        yield c


@pytest.fixture(scope="session")
def live_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerThread]:
    """The app served on 127.0.0.1:<free port> for the whole session."""
    from critmin.web.app import create_app

    db = tmp_path_factory.mktemp("live") / "scenarios.sqlite3"
    server = ServerThread(create_app(db), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def chromium() -> Path:
    if not CHROMIUM.exists():
        pytest.skip("/usr/bin/chromium is absent: run 'make browser' (apt-get install chromium)")
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    return CHROMIUM


@pytest.fixture(scope="session")
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS


@pytest.fixture(scope="module")
def browser(chromium: Path) -> Iterator[Any]:
    """Debian's headless chromium under Playwright, started once per test module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(chromium), args=CHROMIUM_ARGS)
        yield b
        b.close()
