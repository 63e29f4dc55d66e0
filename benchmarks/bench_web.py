"""A short, bounded load test of the web API on 127.0.0.1; writes the figures to docs/web.md.

    python benchmarks/bench_web.py                 # ~200 /api/health + ~20 /api/simulate
    python benchmarks/bench_web.py --health 1000 --simulate 50 --no-write

It starts ``critmin serve`` in a subprocess on a free port with a temporary database, waits
until ``/api/health`` says the warm-up is done, fires the requests from a pool of client
threads (httpx2), records each request's latency and whether it failed (an exception or a
status other than 200), stops the server and writes p50 / p99 / max latency and the error count into the section of
``docs/web.md`` between ``<!-- bench-web:start -->`` and ``<!-- bench-web:end -->``.
``tests/web/test_load.py`` calls :func:`run_load` against a server it starts itself.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
DOC = REPO / "docs" / "web.md"
START, END = "<!-- bench-web:start -->", "<!-- bench-web:end -->"
EXAMPLE1 = {
    "name": "Zone core: lithium carbonate floor by variable levy",
    "zone": {"members": ["USA", "CAN", "AUS", "JPN", "KOR", "EU27"], "watch": ["CHN"]},
    "product": [{"id": "lithium_carbonate"}],
    "policy": [{"type": "price_floor", "mechanism": "variable_levy", "price_usd_per_t": 15000}],
}


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) by linear interpolation between closest ranks."""
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def _summary(latencies: list[float], errors: int, n: int) -> dict[str, Any]:
    ms = [1000 * x for x in latencies]
    return {
        "requests": n,
        "errors": errors,
        "p50_ms": round(percentile(ms, 50), 1),
        "p99_ms": round(percentile(ms, 99), 1),
        "max_ms": round(max(ms), 1) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
    }


def run_load(
    base_url: str,
    n_health: int = 200,
    n_simulate: int = 20,
    workers: int = 8,
    timeout: float = 120.0,
) -> dict[str, Any]:
    """Fire ``n_health`` GET /api/health and ``n_simulate`` POST /api/simulate (example 1)
    requests, interleaved, from ``workers`` threads; return latency figures and error counts."""
    import httpx2

    # exactly n_simulate simulate jobs, spread evenly through the run
    jobs = ["health"] * (n_health + n_simulate)
    for i in range(n_simulate):
        jobs[(i * (n_health + n_simulate)) // max(1, n_simulate)] = "simulate"
    results: dict[str, list[float]] = {"health": [], "simulate": []}
    errors: dict[str, list[str]] = {"health": [], "simulate": []}

    def one(kind: str, client: Any) -> None:
        t = time.perf_counter()
        try:
            if kind == "health":
                r = client.get(f"{base_url}/api/health")
            else:
                r = client.post(f"{base_url}/api/simulate", json=EXAMPLE1)
            ok = r.status_code == 200 and (kind == "health" or "products" in r.json())
            if not ok:
                errors[kind].append(f"HTTP {r.status_code}: {r.text[:200]}")
        except Exception as err:  # a failed request is an error, whatever the cause
            errors[kind].append(f"{type(err).__name__}: {err}")
        results[kind].append(time.perf_counter() - t)

    t0 = time.perf_counter()
    with httpx2.Client(timeout=timeout) as client, ThreadPoolExecutor(workers) as pool:
        list(pool.map(lambda kind: one(kind, client), jobs))
    wall = time.perf_counter() - t0
    return {
        "base_url": base_url,
        "workers": workers,
        "wall_s": round(wall, 2),
        "health": _summary(results["health"], len(errors["health"]), n_health),
        "simulate": _summary(results["simulate"], len(errors["simulate"]), n_simulate),
        "error_samples": (errors["health"] + errors["simulate"])[:5],
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_for(url: str, proc: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    import httpx2

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server exited with status {proc.returncode}")
        try:
            r = httpx2.get(url, timeout=2)
            if r.status_code == 200 and r.json().get("ready", True):  # warm-up finished
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"the server did not answer {url} within {timeout:.0f} s")


def markdown(figures: dict[str, Any]) -> str:
    h, s = figures["health"], figures["simulate"]
    return "\n".join(
        [
            START,
            f"Measured {figures['date']} on {figures['machine']} with `python benchmarks/bench_web.py` "
            f"({figures['workers']} client threads, server and client on the same machine, "
            f"wall time {figures['wall_s']} s):",
            "",
            "| endpoint | requests | errors | p50 (ms) | p99 (ms) | max (ms) |",
            "|---|---:|---:|---:|---:|---:|",
            f"| `GET /api/health` | {h['requests']} | {h['errors']} | {h['p50_ms']} | {h['p99_ms']} "
            f"| {h['max_ms']} |",
            f"| `POST /api/simulate` (example 1) | {s['requests']} | {s['errors']} | {s['p50_ms']} "
            f"| {s['p99_ms']} | {s['max_ms']} |",
            "",
            "The health checks run while simulations occupy the two simulation workers, so their "
            "tail latency includes waiting for the CPU.",
            END,
        ]
    )


def write_doc(figures: dict[str, Any], path: Path = DOC) -> None:
    text = path.read_text(encoding="utf-8") if path.exists() else f"{START}\n{END}\n"
    if START not in text or END not in text:
        text = text.rstrip() + f"\n\n{START}\n{END}\n"
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    path.write_text(head + markdown(figures) + tail, encoding="utf-8")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--health", type=int, default=200)
    parser.add_argument("--simulate", type=int, default=20)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--no-write", action="store_true", help="Do not update docs/web.md.")
    args = parser.parse_args()
    port = _free_port()
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [
            sys.executable,
            "-m",
            "critmin.cli",
            "serve",
            "--port",
            str(port),
            "--db",
            os.path.join(tmp, "bench.sqlite3"),
        ]
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            base = f"http://127.0.0.1:{port}"
            _wait_for(f"{base}/api/health", proc)
            run_load(base, n_health=5, n_simulate=1, workers=2)  # warm the caches
            figures = run_load(base, args.health, args.simulate, args.workers)
        finally:
            proc.terminate()
            try:
                proc.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.communicate()
    figures["date"] = dt.date.today().isoformat()
    figures["machine"] = (
        f"{os.cpu_count()} CPU cores, {platform.system()} "
        f"{platform.machine()}, Python {platform.python_version()}"
    )
    print(json.dumps(figures, indent=1))
    if not args.no_write:
        write_doc(figures)
        print(f"wrote the figures into {DOC.relative_to(REPO)}")
    errors = figures["health"]["errors"] + figures["simulate"]["errors"]
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
