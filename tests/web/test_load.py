"""A short bounded load test on 127.0.0.1: ~200 health checks and ~20 simulations, no errors.

The server is the session's ``live_server`` (uvicorn in a thread). Latencies are recorded
(and printed with ``-s``) but not asserted: ``python benchmarks/bench_web.py`` measures them in
a separate server process and writes them to docs/web.md.
"""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

from webutil import REPO


def _bench() -> Any:
    spec = importlib.util.spec_from_file_location("bench_web", REPO / "benchmarks" / "bench_web.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_load_has_no_errors(live_server: Any) -> None:
    bench = _bench()
    figures = bench.run_load(live_server.url, n_health=200, n_simulate=20, workers=8, timeout=120)
    print(json.dumps(figures, indent=1))
    assert figures["health"]["requests"] == 200 and figures["simulate"]["requests"] == 20
    assert figures["health"]["errors"] == 0, figures["error_samples"]
    assert figures["simulate"]["errors"] == 0, figures["error_samples"]
    assert figures["health"]["p99_ms"] >= figures["health"]["p50_ms"] > 0


def test_bench_writes_its_section(tmp_path: Path) -> None:
    bench = _bench()
    doc = tmp_path / "web.md"
    doc.write_text(
        "# Web\n\nintro\n\n<!-- bench-web:start -->\nold\n<!-- bench-web:end -->\n\nend\n",
        encoding="utf-8",
    )
    row = {"requests": 1, "errors": 0, "p50_ms": 1.0, "p99_ms": 2.0, "max_ms": 2.0}
    bench.write_doc(
        {
            "date": "2026-01-01",
            "machine": "test",
            "workers": 1,
            "wall_s": 0.1,
            "health": row,
            "simulate": row,
        },
        doc,
    )
    text = doc.read_text(encoding="utf-8")
    assert "old" not in text and "| `GET /api/health` | 1 | 0 | 1.0 | 2.0 | 2.0 |" in text
    assert text.startswith("# Web\n\nintro") and text.endswith("\n\nend\n")


def _burst(url: str, n: int) -> list[Any]:
    """``n`` POST /api/simulate (example 1) released at the same instant from ``n`` threads."""
    import threading
    from concurrent.futures import ThreadPoolExecutor

    import httpx2
    from webutil import EXAMPLE1_DICT

    barrier = threading.Barrier(n)

    def one(_i: int) -> Any:
        with httpx2.Client(timeout=120) as client:
            barrier.wait()
            return client.post(f"{url}/api/simulate", json=EXAMPLE1_DICT)

    with ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_burst_of_20_simultaneous_simulations_is_all_served(live_server: Any) -> None:
    """The work queue is sized to the machine (one worker per core, 32 waiting per worker):
    20 simulations sent at once are all answered 200 with the full result."""
    answers = _burst(live_server.url, 20)
    assert [r.status_code for r in answers] == [200] * 20, [r.text[:200] for r in answers]
    assert all("lithium_carbonate" in r.json()["products"] for r in answers)


def test_beyond_the_queue_503_says_when_to_retry() -> None:
    """With a queue of 1 behind 1 worker, a burst of 12 gets 200s and 503s; every 503 has a
    Retry-After and says in words when to retry."""
    import tempfile
    from pathlib import Path

    from webutil import ServerThread, free_port

    from critmin.web.app import create_app
    from critmin.web.services import Limits

    with tempfile.TemporaryDirectory() as tmp:
        limits = Limits(max_concurrent_simulations=1, max_queued_simulations=1)
        server = ServerThread(create_app(Path(tmp) / "db.sqlite3", limits), free_port())
        server.start()
        try:
            answers = _burst(server.url, 12)
        finally:
            server.stop()
    codes = [r.status_code for r in answers]
    assert set(codes) <= {200, 503} and codes.count(200) >= 1, codes
    for r in answers:
        if r.status_code == 503:
            seconds = int(r.headers["retry-after"])
            assert 1 <= seconds <= 60
            assert f"retry in {seconds} s" in r.json()["error"]
