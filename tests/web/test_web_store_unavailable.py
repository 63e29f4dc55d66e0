"""The scenario database locked by another program, read-only or full: a 503 with
``Retry-After`` and one sentence, never a 500 "this is a bug" with a traceback in the
terminal; and a save waiting for the database never stalls the other requests (the store's
calls run off the event loop)."""

from __future__ import annotations

import json
import sqlite3
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webutil import DESIGNER_FORM, EXAMPLE1_DICT, ServerThread, free_port

from critmin.web import store as store_module


def _post(url: str, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
    request = urllib.request.Request(
        url, json.dumps(body).encode(), {"Content-Type": "application/json"}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as resp:
            return resp.status, dict(resp.headers), json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), json.loads(err.read())


@pytest.fixture()
def server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[ServerThread, Path]]:
    from critmin.web.app import create_app

    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 1.5, raising=False)
    db = tmp_path / "scenarios.sqlite3"
    live = ServerThread(create_app(db), free_port())
    live.start()
    try:
        yield live, db
    finally:
        live.stop()


def test_a_locked_database_is_a_503_and_the_server_keeps_answering(
    server: tuple[ServerThread, Path], caplog: pytest.LogCaptureFixture
) -> None:
    live, db = server
    status, _, first = _post(f"{live.url}/api/scenarios?run=false", EXAMPLE1_DICT)
    assert status == 201
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")  # another program holds the write lock
    answers: dict[str, Any] = {}

    def save() -> None:
        answers["save"] = _post(f"{live.url}/api/scenarios?run=false", EXAMPLE1_DICT)

    try:
        saver = threading.Thread(target=save)
        saver.start()
        time.sleep(0.3)  # the save is waiting for the lock
        start = time.monotonic()
        with urllib.request.urlopen(f"{live.url}/api/health", timeout=30) as resp:
            assert resp.status == 200
        assert time.monotonic() - start < 1.0, "a waiting save stalled every other request"
        saver.join(30)
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    status, headers, body = answers["save"]
    assert status == 503, body
    assert int(headers["retry-after"]) > 0
    assert "locked" in body["error"] and "bug" not in body["error"]
    assert "Traceback" not in caplog.text
    # nothing saved lost: the first save is there, and a retry now works
    assert _post(f"{live.url}/api/scenarios?run=false", EXAMPLE1_DICT)[0] == 201
    assert store_module.ScenarioStore(db).get(first["id"])[0].name == EXAMPLE1_DICT["name"]


def test_a_burst_of_saves_on_a_locked_database_does_not_stall_other_requests(
    server: tuple[ServerThread, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """45 saves waiting on a database another program holds took every one of the server's
    40 worker threads, and ``/api/health`` answered after 8.7 s. At most
    ``MAX_WAITING_WRITES`` saves now wait for the database; the others are answered 503
    (Retry-After) within ``WRITE_QUEUE_S``, and the server keeps answering."""
    live, db = server
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_S", 8.0, raising=False)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    answers: list[tuple[int, dict[str, str], Any]] = []

    def save() -> None:
        answers.append(_post(f"{live.url}/api/scenarios?run=false", EXAMPLE1_DICT))

    savers = [threading.Thread(target=save) for _ in range(45)]
    try:
        for t in savers:
            t.start()
        time.sleep(0.5)  # every save has reached the database or its queue
        start = time.monotonic()
        with urllib.request.urlopen(f"{live.url}/api/health", timeout=30) as resp:
            assert resp.status == 200
        waited = time.monotonic() - start
    finally:
        holder.execute("ROLLBACK")
        holder.close()
        for t in savers:
            t.join(30)
    assert waited < 3.0, f"/api/health waited {waited:.1f} s behind the saves"
    codes = sorted(code for code, _, _ in answers)
    assert len(codes) == 45 and set(codes) <= {201, 503}, codes
    busy = [body for code, _, body in answers if code == 503]
    assert busy and all("retry in 5 s" in b["error"] for b in busy)
    assert codes.count(201) >= 1  # those that waited were saved once the lock was gone


def _read_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every new connection refuses writes as a read-only file does ("attempt to write a
    readonly database")."""
    real = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> sqlite3.Connection:
        conn = real(*args, **kwargs)
        conn.execute("PRAGMA query_only=ON")
        return conn

    monkeypatch.setattr(store_module.sqlite3, "connect", connect)


def test_a_read_only_database_is_a_503_naming_it(tmp_path: Path, monkeypatch: Any) -> None:
    from fastapi.testclient import TestClient

    from critmin.web.app import create_app

    app = create_app(tmp_path / "scenarios.sqlite3")
    _read_only(monkeypatch)
    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT)
        assert r.status_code == 503, r.text
        assert "read-only" in r.json()["error"] and "nothing was saved" in r.json()["error"]
        assert int(r.headers["retry-after"]) > 0
        # the designer's run keeps the form and says why, as when the server is busy
        form = DESIGNER_FORM | {"action": "run"}
        page = client.post("/designer", data=form)
        assert page.status_code == 503, page.text[:300]
        assert "read-only" in page.text and 'value="From the form"' in page.text


@pytest.mark.parametrize("gone", ["folder", "file"])
def test_a_database_deleted_while_serving_is_a_503_and_nothing_is_lost(
    tmp_path: Path, gone: str, caplog: pytest.LogCaptureFixture
) -> None:
    """The database's folder (or the file, with its -wal and -shm) moved away while the server
    ran: the folder gave a 400 "cannot open the scenario database" on every request, health
    included (the client's fault, no Retry-After, not logged); the file was silently re-created
    empty, answered 503 "cannot be written: no such table: scenarios" to every read too."""
    from fastapi.testclient import TestClient

    from critmin.web.app import create_app

    folder = tmp_path / "store"
    db = folder / "scenarios.sqlite3"
    with TestClient(create_app(db), raise_server_exceptions=False) as client:
        first = client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT)
        assert first.status_code == 201
        away = tmp_path / "away"
        away.mkdir()
        if gone == "folder":
            folder.rename(away / "store")
            moved = [(away / "store", folder)]
        else:
            moved = [
                (db.with_name(db.name + tail), away / (db.name + tail))
                for tail in ("", "-wal", "-shm")
                if db.with_name(db.name + tail).exists()
            ]
            for src, dst in moved:
                src.rename(dst)
            moved = [(dst, src) for src, dst in moved]
        for method, path in (("GET", "/api/scenarios"), ("GET", "/api/health"), ("POST", "")):
            if method == "POST":
                r = client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT)
            else:
                r = client.get(path)
            assert r.status_code == 503, (path, r.status_code, r.text)
            assert "missing" in r.json()["error"] and str(db) in r.json()["error"]
            assert int(r.headers["retry-after"]) > 0
        assert not db.exists(), "an empty database was created in place of the missing one"
        assert "Traceback" not in caplog.text
        for src, dst in moved:  # put back: every earlier save is there
            src.rename(dst)
        listed = client.get("/api/scenarios").json()
        assert [e["id"] for e in listed] == [first.json()["id"]]
