"""A burst of downloads (Excel workbooks, CSV tables, the HTML report) goes through the
simulation work queue like simulations: computed a few at a time, 503 with ``Retry-After``
beyond the queue, and the server keeps answering meanwhile. On the request threads, 60
workbooks of a 48-product result at once took 7 GB and held ``/api/health`` for minutes."""

from __future__ import annotations

import io
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from webutil import EXAMPLE1_DICT, ServerThread, free_port, saved_id

from critmin.web.services import Limits


def _get(url: str) -> tuple[int, dict[str, str], bytes]:
    try:
        with urllib.request.urlopen(url, timeout=60) as resp:
            return resp.status, {k.lower(): v for k, v in resp.headers.items()}, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, {k.lower(): v for k, v in err.headers.items()}, err.read()


@pytest.fixture()
def server(tmp_path: Path) -> Iterator[ServerThread]:
    from critmin.web.app import create_app

    limits = Limits(max_concurrent_simulations=1, max_queued_simulations=1)
    live = ServerThread(create_app(tmp_path / "scenarios.sqlite3", limits), free_port())
    live.start()
    try:
        yield live
    finally:
        live.stop()


def test_a_burst_of_downloads_is_bounded_by_the_work_queue(server: ServerThread) -> None:
    sid = saved_id(f"{server.url}/api/scenarios", EXAMPLE1_DICT)
    urls = [
        f"{server.url}/api/scenarios/{sid}/workbook.xlsx",
        f"{server.url}/api/scenarios/{sid}/tables/flows.csv",
        f"{server.url}/scenarios/{sid}/report.html",
    ]
    with ThreadPoolExecutor(12) as pool:
        answers = list(pool.map(lambda i: _get(urls[i % 3]), range(12)))
        start = time.monotonic()
        assert _get(f"{server.url}/api/health")[0] == 200
        assert time.monotonic() - start < 2.0
    codes = [a[0] for a in answers]
    assert set(codes) <= {200, 503} and 503 in codes and 200 in codes, codes
    for i, (status, headers, body) in enumerate(answers):
        if status == 503:
            assert int(headers["retry-after"]) >= 1
            continue
        if i % 3 == 0:
            assert zipfile.ZipFile(io.BytesIO(body)).namelist()  # a whole workbook
        elif i % 3 == 1:
            assert body.decode("utf-8").splitlines()[0].startswith("product id,")
        else:
            assert b"</html>" in body
