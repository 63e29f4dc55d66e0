"""What ``critmin simulate --json`` loads: no pyarrow, pandas, Rich or click, no chain model for
a scenario without chains, and the cycle collector off only while the command runs. (Timings are
measured by benchmarks/bench_cli.py, never asserted here.)"""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path

from critmin.cli.app import without_cycle_collection

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "01_lithium_floor_levy.toml"
HEAVY = ("pyarrow", "pandas", "rich", "click", "critmin.model.chain", "critmin.chain_results")

# run the command as the console script does, and list at exit (critmin.cli.leave runs the
# atexit handlers before it ends the process) which of the heavy modules were imported
PROBE = """
import atexit, json, sys
heavy = {heavy!r}
atexit.register(lambda: sys.stderr.write(
    "LOADED " + json.dumps(sorted(m for m in sys.modules if m in heavy)) + "\\n"))
sys.argv = ["critmin", "simulate", {example!r}, "--json"]
from critmin.cli import main
main()
"""


def test_simulate_json_imports_no_pyarrow_pandas_rich_or_chain_model(tmp_path: Path) -> None:
    env = {**os.environ, "CRITMIN_CACHE_DIR": str(tmp_path / "cache")}
    for run in ("cache written", "cache read"):
        proc = subprocess.run(
            [sys.executable, "-c", PROBE.format(heavy=HEAVY, example=str(EXAMPLE))],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
            timeout=600,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
        assert json.loads(proc.stdout)["products"]["lithium_carbonate"]["converged"]
        line = next(x for x in proc.stderr.splitlines() if x.startswith("LOADED "))
        loaded = json.loads(line.removeprefix("LOADED "))
        if run == "cache written":  # the first run reads the Parquet files with pyarrow
            loaded = [m for m in loaded if m != "pyarrow"]
        assert loaded == [], f"{run}: {loaded}"
    assert list((tmp_path / "cache" / "tables").glob("flows-*.cols"))


def test_the_cycle_collector_is_off_during_the_command_and_restored_after() -> None:
    @without_cycle_collection
    def command() -> bool:
        return gc.isenabled()

    assert gc.isenabled()
    assert command() is False
    assert gc.isenabled()
    gc.disable()
    try:
        assert command() is False
        assert not gc.isenabled()  # left as it was
    finally:
        gc.enable()
