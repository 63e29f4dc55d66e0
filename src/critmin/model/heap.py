"""Keep freed memory in the process's heap (glibc), so that each solve does not fault it in again.

A solve allocates a few megabytes of arrays (the stacks, the Newton matrices, the levels) and
frees them when its solution is dropped. With glibc's defaults an array above 128 KiB is
mapped fresh from the kernel (``mmap``) and, after the first such array is freed, freed memory
at the top of the heap beyond twice the largest freed array is given back (``M_TRIM_THRESHOLD``):
either way the next solve touches new pages, and every 4 KiB page costs a page fault and its
zeroing. Measured on the development VM (2 vCPUs): one market of 200 countries took about 260
page faults and 0.26-0.3 ms more per solve (1.58-1.72 ms against 1.29-1.43 ms) in a process
that loaded the ahead-of-time kernels; a process that loaded Numba's JIT did not fault,
because freeing the compiler's large buffers had already raised glibc's dynamic thresholds to
their maximum.

:func:`keep_freed_memory` sets those thresholds once, at import of :mod:`critmin.model`, to the
values glibc's own dynamic rule reaches (``M_MMAP_THRESHOLD`` 32 MiB, its ceiling on 64-bit
Linux, and ``M_TRIM_THRESHOLD`` twice that), so every process behaves like the JIT one. The
cost: up to 64 MiB of freed memory stays with the process instead of going back to the
system. Nothing changes on other C libraries or platforms, or with ``CRITMIN_KEEP_HEAP=0``.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import sys
from functools import cache

log = logging.getLogger(__name__)

__all__ = ["KEEP_HEAP_ENV", "MMAP_THRESHOLD", "TRIM_THRESHOLD", "keep_freed_memory"]

KEEP_HEAP_ENV = "CRITMIN_KEEP_HEAP"
"""``CRITMIN_KEEP_HEAP=0`` leaves glibc's thresholds as they are."""
MMAP_THRESHOLD = 32 << 20
"""Arrays up to this size come from the heap (glibc's ceiling of its dynamic threshold)."""
TRIM_THRESHOLD = 2 * MMAP_THRESHOLD
"""Freed memory at the top of the heap up to this size stays (glibc's dynamic rule: twice
the mmap threshold)."""
_M_TRIM_THRESHOLD = -1  # glibc's malloc.h
_M_MMAP_THRESHOLD = -3


@cache
def keep_freed_memory() -> bool:
    """Set glibc's mmap and trim thresholds (:data:`MMAP_THRESHOLD`, :data:`TRIM_THRESHOLD`)
    once per process; True if they were set. A no-op off Linux, on another C library (musl
    has no ``mallopt`` thresholds) and with ``CRITMIN_KEEP_HEAP=0``."""
    if os.environ.get(KEEP_HEAP_ENV, "").strip() == "0" or not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.gnu_get_libc_version  # glibc only  # noqa: B018
        mallopt = libc.mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    done = bool(mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD)
    )
    log.debug("glibc heap thresholds %s", "set" if done else "refused")
    return done
