"""Ctrl-C and SIGTERM while Monte Carlo requests run: ``critmin serve`` exits within seconds
(it waited for every request in flight, a Monte Carlo run for up to its 60 s time limit), the
requests get a 503 that says to retry, nothing reaches the terminal as a traceback, and the
database keeps every save."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
import tomllib
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from webutil import EXAMPLE1_DICT, EXAMPLES, REPO, free_port, saved_id


def _call(url: str, body: dict[str, Any] | None = None) -> int:
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(
        url,
        data,
        {"Content-Type": "application/json"},
        method="POST" if body is not None else "GET",
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as resp:
            return int(resp.status)
    except urllib.error.HTTPError as err:
        return int(err.code)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_serve_exits_promptly_while_monte_carlo_runs(tmp_path: Path, sig: int) -> None:
    db = tmp_path / "scenarios.sqlite3"
    port = free_port()
    env = os.environ | {"PYTHONPATH": str(REPO / "src")}
    server = subprocess.Popen(
        [sys.executable, "-m", "critmin", "serve", "--port", str(port), "--db", str(db)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/health", timeout=5) as resp:
                    if json.loads(resp.read())["ready"]:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline and server.poll() is None, "did not start"
            time.sleep(0.2)
        big = tomllib.loads((EXAMPLES / "04_full_zone_all_products.toml").read_text())
        big_id = saved_id(f"{base}/api/scenarios?run=false", big)
        assert _call(f"{base}/api/scenarios", EXAMPLE1_DICT) == 201
        statuses: list[int] = []
        clients = [
            threading.Thread(
                target=lambda: statuses.append(
                    _call(f"{base}/api/scenarios/{big_id}/uncertainty?draws=2000", {})
                )
            )
            for _ in range(4)
        ]
        for client in clients:
            client.start()
        time.sleep(1.5)  # the draws are being solved
        assert server.poll() is None
        start = time.monotonic()
        server.send_signal(sig)
        _out, err = server.communicate(timeout=30)
        took = time.monotonic() - start
        for client in clients:
            client.join(30)
    finally:
        if server.poll() is None:
            server.kill()
            server.communicate()
    assert took < 8, f"the server took {took:.1f} s to exit"
    assert server.returncode == (130 if sig == signal.SIGINT else 143), err[-2000:]
    assert "Traceback" not in err, err[-2000:]
    assert statuses and set(statuses) <= {200, 503}, statuses
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        names = {row[0] for row in conn.execute("SELECT name FROM scenarios")}
    assert EXAMPLE1_DICT["name"] in names and big["name"] in names
