"""Ctrl-C stops `critmin uncertainty` promptly and cleanly: status 130, one line, no traceback,
no process left behind, no partial output file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE1 = REPO / "examples" / "01_lithium_floor_levy.toml"
CRITMIN = Path(sys.executable).parent / "critmin"


def _descendants(pid: int) -> set[int]:
    """Processes whose parent chain leads to ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("workers", [1, 2])
def test_sigint_stops_uncertainty_within_two_seconds(tmp_path: Path, workers: int) -> None:
    out = tmp_path / "u.json"
    draws = tmp_path / "draws.csv"
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    cmd = [str(CRITMIN), "uncertainty", str(EXAMPLE1), "-n", "400000", "--workers", str(workers)]
    cmd += ["--out", str(out), "--draws-out", str(draws), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    try:
        time.sleep(4.0)  # data loaded, solver loaded, draws being solved
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        helpers = _descendants(proc.pid)
        t = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        elapsed = time.monotonic() - t
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    text = err.decode()
    assert proc.returncode == 130, text
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert "Traceback" not in text
    assert text.strip().splitlines()[-1] == "critmin: interrupted"
    assert len(text.strip().splitlines()) == 1, text
    assert not out.exists() and not draws.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either
    alive = [p for p in helpers if Path(f"/proc/{p}").exists()]
    assert alive == []
