"""Where batches of solves run: a Dask cluster, and worker processes with one BLAS thread.

Shared by the analyses that solve many markets (:mod:`critmin.uncertainty`,
:mod:`critmin.coalition`):

* :func:`dask_client`: a ``distributed.Client`` for a scheduler address (connected with a
  timeout, closed on exit; an address that cannot be reached is a :class:`CritminError`), or the
  client the caller passed, left open;
* :func:`environment` / :func:`one_blas_thread`: environment variables set for a block, e.g. one
  BLAS thread in the worker processes a pool spawns (small batched solves are fastest that way,
  and the result is then the same on every machine configuration).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from critmin.errors import CritminError

__all__ = ["BLAS_ENV", "CONNECT_TIMEOUT", "dask_client", "environment", "one_blas_thread"]

BLAS_ENV = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
CONNECT_TIMEOUT = "15s"
"""How long to try to reach a Dask scheduler given by address."""


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """Set environment variables for the block, then restore the old values."""
    old = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def one_blas_thread() -> contextlib.AbstractContextManager[None]:
    """One BLAS thread in the processes started within the block."""
    return environment(dict.fromkeys(BLAS_ENV, "1"))


@contextlib.contextmanager
def dask_client(scheduler: Any, timeout: str = CONNECT_TIMEOUT) -> Iterator[Any]:
    """A Dask client: connected to ``scheduler`` if it is an address (and closed on exit), else
    ``scheduler`` itself (a ``distributed.Client``, left open)."""
    try:
        from distributed import Client
    except ImportError as exc:  # pragma: no cover - distributed is a dependency
        raise CritminError(
            "--scheduler needs dask[distributed]: pip install 'dask[distributed]'"
        ) from exc
    if not isinstance(scheduler, str):
        yield scheduler
        return
    try:
        client = Client(scheduler, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError, ValueError) as exc:
        raise CritminError(f"cannot connect to the Dask scheduler at {scheduler}: {exc}") from None
    try:
        yield client
    finally:
        client.close()
