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
