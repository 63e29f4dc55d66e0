"""critmin.cli.leave: the ``critmin`` process ends with the command's status and its complete
output, skipping only the interpreter's teardown (atexit handlers still run)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from critmin.cli import leave

SRC = Path(__file__).resolve().parents[2] / "src"


def run_leave(code: object, extra: str = "") -> subprocess.CompletedProcess[str]:
    script = (
        "import atexit, sys\n"
        "from critmin.cli import leave\n"
        "atexit.register(lambda: print('atexit ran'))\n"
        "sys.stdout.write('x' * 200000)\n"  # buffered, not yet flushed
        f"{extra}\n"
        f"leave(SystemExit({code!r}))\n"
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        timeout=120,
    )


@pytest.mark.parametrize("code", [0, 1, 2, 130, None])
def test_leave_keeps_the_status_the_output_and_the_atexit_handlers(code: int | None) -> None:
    done = run_leave(code)
    assert done.returncode == (code or 0)
    assert done.stdout == "x" * 200000 + "atexit ran\n"


def test_leave_exits_normally_while_another_thread_runs() -> None:
    extra = "import threading, time\nthreading.Thread(target=time.sleep, args=(0.5,)).start()"
    done = run_leave(3, extra)
    assert done.returncode == 3
    assert done.stdout.endswith("atexit ran\n")


def test_leave_raises_a_non_numeric_status() -> None:
    with pytest.raises(SystemExit) as info:
        leave(SystemExit("a message"))
    assert info.value.code == "a message"
