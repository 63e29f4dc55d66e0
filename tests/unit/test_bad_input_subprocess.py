"""A few bad inputs as real processes (test_bad_input.py runs the full table in-process): the
exit status, one message on stderr, no traceback, and nothing half-written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "01_lithium_floor_levy.toml"
MAIN = "from critmin.cli import main; main()"
# a bug planted in a real process: simulate raises a KeyError
BUG = (
    "import critmin.simulation as s\n"
    "def broken(*a, **k): raise KeyError('planted bug')\n"
    "s.simulate = broken\n" + MAIN
)


def critmin(
    *args: str, code: str = MAIN, state: Path | None = None
) -> subprocess.CompletedProcess[str]:
    env = os.environ | {"PYTHONPATH": str(REPO / "src"), "COLUMNS": "200"}
    env.pop("CRITMIN_DEBUG", None)
    if state is not None:
        env["XDG_STATE_HOME"] = str(state)
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize(
    ("args", "status", "words"),
    [
        (["simulate", str(EXAMPLE), "--out", "/tmp"], 2, "--out /tmp is a folder"),
        (["data", "check", "--source", "/nonexistent"], 2, "--source /nonexistent does not exist"),
        (["simulate", str(EXAMPLE), "--top", "-3"], 2, "--top"),
    ],
)
def test_bad_input_in_a_real_process(args: list[str], status: int, words: str) -> None:
    res = critmin(*args)
    assert res.returncode == status, res.stderr
    assert words in " ".join(res.stderr.split()), res.stderr
    assert "Traceback" not in res.stderr + res.stdout


def test_deeply_nested_toml_in_a_real_process(tmp_path: Path) -> None:
    path = tmp_path / "deep.toml"
    path.write_text('name = "x"\na = ' + "[" * 5000 + "]" * 5000 + "\n", encoding="utf-8")
    res = critmin("simulate", str(path))
    assert res.returncode == 2, res.stderr
    assert "nested too deeply" in res.stderr and "Traceback" not in res.stderr


def test_a_bug_in_a_real_process(tmp_path: Path) -> None:
    """One line on stderr naming the log; the traceback only in the log (and with --debug)."""
    res = critmin("simulate", str(EXAMPLE), code=BUG, state=tmp_path)
    assert res.returncode == 1, res.stderr
    assert "Traceback" not in res.stderr and "internal error" in res.stderr
    (log,) = (tmp_path / "critmin").glob("crash-*.log")
    assert str(log) in "".join(res.stderr.split())
    assert "KeyError: 'planted bug'" in log.read_text()
    debug = critmin("--debug", "simulate", str(EXAMPLE), code=BUG, state=tmp_path)
    assert debug.returncode == 1 and "Traceback" in debug.stderr
    assert "planted bug" in debug.stderr
