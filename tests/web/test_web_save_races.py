"""Saves racing each other on a live server (127.0.0.1): the same ``Idempotency-Key`` sent
at once by several clients gives one scenario and every copy after the first says it is a
replay; saves racing for the last places of a nearly full store never go past the limit."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from webutil import EXAMPLE1_DICT, ServerThread, free_port

from critmin.web.services import Limits
from critmin.web.store import ScenarioStore


def _save(url: str, body: dict[str, Any], key: str | None) -> tuple[int, dict[str, str], Any]:
    headers = {"Content-Type": "application/json"} | ({"Idempotency-Key": key} if key else {})
    request = urllib.request.Request(url, json.dumps(body).encode(), headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return (
                resp.status,
                {k.lower(): v for k, v in resp.headers.items()},
                json.loads(resp.read()),
            )
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, json.loads(err.read())


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[tuple[ServerThread, Path]]:
    from critmin.web.app import create_app

    db = tmp_path / "scenarios.sqlite3"
    live = ServerThread(create_app(db, Limits(max_saved_scenarios=3)), free_port())
    live.start()
    try:
        yield live, db
    finally:
        live.stop()


def test_concurrent_retries_with_one_key_are_one_save_and_say_so(
    server: tuple[ServerThread, Path],
) -> None:
    live, db = server
    body = EXAMPLE1_DICT | {"name": "retried"}
    with ThreadPoolExecutor(8) as pool:
        answers = list(
            pool.map(lambda _: _save(f"{live.url}/api/scenarios", body, "retry-1"), range(8))
        )
    assert [a[0] for a in answers] == [201] * 8
    assert len({a[2]["id"] for a in answers}) == 1
    assert ScenarioStore(db).count() == 1
    replayed = [a[1].get("idempotent-replayed") == "true" for a in answers]
    assert replayed.count(False) == 1, "every answer after the first save is a replay"


def test_saves_racing_for_the_last_place_stop_at_the_limit(
    server: tuple[ServerThread, Path],
) -> None:
    live, db = server
    assert _save(f"{live.url}/api/scenarios?run=false", EXAMPLE1_DICT, None)[0] == 201
    assert _save(f"{live.url}/api/scenarios?run=false", EXAMPLE1_DICT, None)[0] == 201
    with ThreadPoolExecutor(8) as pool:  # one place left, eight saves
        answers = list(
            pool.map(lambda _: _save(f"{live.url}/api/scenarios", EXAMPLE1_DICT, None), range(8))
        )
    codes = sorted(a[0] for a in answers)
    assert codes == [201] + [409] * 7, codes
    assert ScenarioStore(db).count() == 3
