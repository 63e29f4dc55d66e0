"""critmin.model.lapack_loader: the compiled solver runs on scipy's Cython BLAS/LAPACK without
importing the scipy.linalg package, and scipy.linalg still works afterwards with the same
modules."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

SRC = Path(__file__).resolve().parents[2] / "src"

SCRIPT = textwrap.dedent(
    """
    import sys
    import numpy as np
    from critmin.model import Market, Policy, solve

    market = Market(V=np.array([[4.0, 1.0, 0.5], [1.0, 3.0, 0.2], [0.5, 0.7, 2.0]]),
                    t0=np.zeros((3, 3)), sigma=4.0, eta=0.6, eps=np.ones(3))
    sol = solve(market, Policy(t1=np.full((3, 3), 0.2)))
    assert sol.converged, sol.message
    assert "scipy.linalg" not in sys.modules, "the solver imported the scipy.linalg package"
    blas = sys.modules["scipy.linalg.cython_blas"]
    lapack = sys.modules["scipy.linalg.cython_lapack"]
    assert "sgetrf" in lapack.__pyx_capi__ and "sgemm" in blas.__pyx_capi__

    import scipy.linalg
    from scipy.linalg import cython_lapack

    assert cython_lapack is lapack and sys.modules["scipy.linalg.cython_blas"] is blas
    a = np.array([[4.0, 3.0], [6.0, 3.0]])
    lu, piv = scipy.linalg.lu_factor(a)
    assert np.allclose(scipy.linalg.lu_solve((lu, piv), a @ np.ones(2)), np.ones(2))
    print("ok")
    """
)


def test_solver_runs_without_the_scipy_linalg_package_and_scipy_linalg_still_works() -> None:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": str(SRC)},
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip() == "ok"


def test_loader_is_a_no_op_once_scipy_linalg_is_imported() -> None:
    import scipy.linalg  # noqa: F401

    from critmin.model.lapack_loader import load_cython_lapack

    assert load_cython_lapack() is False
