"""critmin.model.heap: freed arrays stay in glibc's heap, so repeated solves do not fault
their memory in again (the page-fault cost measured in docs/performance.md)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

from critmin.model import heap

SRC = Path(__file__).resolve().parents[2] / "src"

glibc = pytest.mark.skipif(
    not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc",
    reason="glibc's mallopt thresholds only",
)

# a solve's pattern in a fresh process: several arrays of a megabyte, all freed, ten times
ROUNDS = """
import resource
import numpy as np
import critmin.model

def one_round():
    arrays = [np.ones((1 << 20) // 8) for _ in range(6)]
    return sum(float(a.sum()) for a in arrays)

one_round()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(10):
    one_round()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def page_faults(keep: str) -> int:
    env = {  # glibc's defaults: no MALLOC_* or tunables from the caller's environment
        k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))
    }
    env |= {heap.KEEP_HEAP_ENV: keep, "PYTHONPATH": str(SRC)}
    out = subprocess.run(
        [sys.executable, "-c", ROUNDS], env=env, capture_output=True, text=True, check=True
    )
    return int(out.stdout.split()[-1])


@glibc
def test_the_thresholds_are_set_once_at_import_and_can_be_switched_off(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert heap.keep_freed_memory() is True  # cached: set when critmin.model was imported
    monkeypatch.setenv(heap.KEEP_HEAP_ENV, "0")
    assert heap.keep_freed_memory.__wrapped__() is False


@glibc
def test_arrays_freed_and_allocated_again_do_not_fault_their_pages_in_again() -> None:
    """Six 1 MiB arrays allocated, written and freed, ten times: with glibc's defaults the
    freed memory beyond twice the largest array goes back to the system and every round
    faults most of it in again (about a thousand pages a round); kept, no round faults."""
    assert page_faults("0") > 10 * 512
    assert page_faults("1") < 256
