"""``python -m critmin`` is the ``critmin`` command: the same help, exit codes and messages."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"


def run_module(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "critmin", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC), "COLUMNS": "100"},
        timeout=120,
    )


def test_python_m_critmin_shows_the_commands() -> None:
    done = run_module("--help")
    assert done.returncode == 0, done.stderr
    assert "python -m critmin" in done.stdout
    for command in ("simulate", "assess", "coalition", "paths", "data"):
        assert command in done.stdout


def test_python_m_critmin_refuses_a_missing_file_in_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nothere.toml"
    done = run_module("simulate", str(missing))
    assert done.returncode == 2
    message = " ".join(line.strip() for line in done.stderr.strip().splitlines())  # wrapped
    assert message == f"error: scenario file {missing} does not exist"
    assert "Traceback" not in done.stderr
