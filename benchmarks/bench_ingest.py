"""Benchmark: ingesting a full BACI year (``critmin data build --baci``) vs pandas ``read_csv``.

Run ``python benchmarks/bench_ingest.py`` (options: ``--rows 11000000 --repeats 3 --tmp /tmp``).
It writes a format-faithful synthetic BACI release (one year file of ``--rows`` rows with
header ``t,i,j,k,v,q``, HS codes written as integers, ``q`` blank or space-padded ``NA`` in
8 % of rows; 5,000 HS6 codes of which the catalog's ~50 are kept, as in a real release) to
``--tmp`` (reused when present; never into the repository), then, in alternating rounds in
fresh subprocesses, times

* critmin: ``build_from_baci`` on the release folder -> a complete dataset (DuckDB, streaming);
* pandas: ``pd.read_csv`` of the same year file with BACI's dtypes (the baseline: only the
  reading, not the filtering and writing critmin does too).

It prints the median wall-clock time and the peak resident memory (``VmHWM`` of the
subprocess) of each. Goal: under 20 s and 2 GB on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

PEAK = """
def peak_mb():
    # VmHWM: this process's peak resident set (ru_maxrss would carry the parent's over exec)
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

CRITMIN = (
    PEAK
    + """
import json, sys, time
from pathlib import Path
from critmin.data.ingest import build_from_baci
t = time.perf_counter()
build_from_baci(Path(sys.argv[1]), Path(sys.argv[2]), log=lambda m: None)
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "rss_mb": peak_mb()}))
"""
)

PANDAS = (
    PEAK
    + """
import json, sys, time
import pandas as pd
t = time.perf_counter()
df = pd.read_csv(sys.argv[1], dtype={"t": "int64", "i": "int64", "j": "int64", "k": "str",
                                     "v": "float64", "q": "str"})
wall = time.perf_counter() - t
print(json.dumps({"wall": wall, "rss_mb": peak_mb(), "rows": len(df)}))
"""
)


def make_release(folder: Path, rows: int) -> Path:
    """Write (or reuse) the synthetic release in ``folder``."""
    import numpy as np

    from critmin.data.dataset import read_table
    from critmin.sources.baci_release import write_synthetic_release

    year_file = folder / "BACI_HS17_Y2023_V202601.csv"
    stamp = folder / "rows.txt"
    if year_file.exists() and stamp.exists() and stamp.read_text() == str(rows):
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    catalog = list(read_table("products")["hs6"])
    rng = np.random.default_rng(1)
    others = {f"{c:06d}" for c in rng.integers(10_000, 970_000, 6_000)} - set(catalog)
    codes = tuple(catalog + sorted(others)[: 5_000 - len(catalog)])
    print(f"writing a synthetic BACI year of {rows:,} rows to {folder} ...", flush=True)
    write_synthetic_release(folder, (2023,), rows, codes, seed=2)
    stamp.write_text(str(rows))
    return folder


def run(script: str, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, "-c", script, *args], check=True, capture_output=True, text=True
    )
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=11_000_000)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--tmp", type=Path, default=Path("/tmp"))
    args = parser.parse_args()
    release = make_release(args.tmp / "critmin_bench_baci_release", args.rows)
    year_file = release / "BACI_HS17_Y2023_V202601.csv"
    out = args.tmp / "critmin_bench_baci_dataset"
    size = year_file.stat().st_size / 1e6
    print(f"year file: {size:,.0f} MB, {args.rows:,} rows; {args.repeats} alternating rounds")
    ours: list[dict[str, float]] = []
    base: list[dict[str, float]] = []
    for _ in range(args.repeats):
        ours.append(run(CRITMIN, str(release), str(out)))
        base.append(run(PANDAS, str(year_file)))
    shutil.rmtree(out, ignore_errors=True)
    for name, runs in (("critmin build --baci (DuckDB)", ours), ("pandas read_csv", base)):
        wall = statistics.median(r["wall"] for r in runs)
        rss = max(r["rss_mb"] for r in runs)
        print(f"{name:32s} median {wall:6.2f} s   peak RSS {rss:7,.0f} MB")
    ratio = statistics.median(r["wall"] for r in base) / statistics.median(r["wall"] for r in ours)
    print(f"critmin's whole build vs pandas' read alone: {ratio:.2f}x the speed")
    print("goal: under 20 s and 2,048 MB on 2 cores")


if __name__ == "__main__":
    main()
