"""A client that goes away while sending its body (a closed laptop, a killed script, a
timeout on its side) on a live server (127.0.0.1): nothing is saved, its key is not taken,
the server keeps answering, and nothing is logged as a bug (it was "internal error ... this
is a bug in critmin" with two tracebacks per request)."""

from __future__ import annotations

import json
import logging
import socket
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from webutil import EXAMPLE1_DICT, ServerThread, free_port


@pytest.fixture()
def live(tmp_path: Path) -> Iterator[ServerThread]:
    from critmin.web.app import create_app

    server = ServerThread(create_app(tmp_path / "scenarios.sqlite3"), free_port())
    server.start()
    try:
        yield server
    finally:
        server.stop()


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=30) as resp:
        return json.loads(resp.read())


def _cut_off(port: int, head: bytes, part: bytes) -> None:
    """Send a request's head and part of its body, then close the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head + part)
        time.sleep(0.3)


def test_a_client_gone_mid_body_saves_nothing_and_is_not_logged_as_a_bug(
    live: ServerThread, caplog: pytest.LogCaptureFixture
) -> None:
    port = int(live.url.rsplit(":", 1)[1])
    body = json.dumps(EXAMPLE1_DICT).encode()
    caplog.set_level(logging.INFO)
    _cut_off(
        port,
        b"POST /api/scenarios HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Idempotency-Key: gone-1\r\nContent-Length: %d\r\n\r\n" % len(body),
        body[:20],
    )
    _cut_off(
        port,
        b"POST /api/simulate HTTP/1.1\r\nHost: t\r\nContent-Type: application/json\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n",
        b"14\r\n" + body[:20] + b"\r\n",
    )
    time.sleep(0.5)
    assert _get(f"{live.url}/api/health")["status"] == "ok"
    assert _get(f"{live.url}/api/scenarios") == []
    bugs = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert not bugs, [r.getMessage() for r in bugs]
    # the key was not taken: the retry saves the scenario, once
    request = urllib.request.Request(
        f"{live.url}/api/scenarios?run=false",
        body,
        {"Content-Type": "application/json", "Idempotency-Key": "gone-1"},
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        assert resp.status == 201 and "Idempotent-Replayed" not in resp.headers
    assert len(_get(f"{live.url}/api/scenarios")) == 1
