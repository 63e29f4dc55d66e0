"""The Newton iteration's quasi-Newton steps (kernels._broyden_step) against Broyden's method
written out with explicit matrices. (That the iteration's answers solve the equations is
tests/unit/test_model_reference.py's and test_model_solver.py's.)"""

from __future__ import annotations

import numpy as np
import pytest

from critmin.model import kernels as K


def factored(J: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """float32 LU factors as the Newton iteration keeps them, and the matrix ``B0 = P L U``
    they represent (in float64: the steps are exact for this matrix)."""
    N = J.shape[0]
    lu = np.empty((N, N), dtype=np.float32).T
    ipiv = np.empty(N, dtype=K._LAPACK_INT)
    assert K.lu_factor_single(np.asfortranarray(J), lu, ipiv)
    L = np.tril(lu.astype(np.float64), -1) + np.eye(N)
    U = np.triu(lu.astype(np.float64))
    A = L @ U
    for k in range(N - 1, -1, -1):  # undo the row swaps, last first
        p = ipiv[k] - 1
        if p != k:
            A[[k, p]] = A[[p, k]]
    return lu, ipiv, A


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_broyden_steps_equal_the_explicit_good_broyden_update(seed: int) -> None:
    """From a full step ``s_0 = -B_0^-1 F(x_0)``, each step ``-B_k^-1 F(x_k)`` with
    ``B_(k+1) = B_k + (y_k - B_k s_k) s_k^T / (s_k^T s_k)``, ``y_k = F(x_(k+1)) - F(x_k)``
    (Broyden 1965), solved with NumPy; the kernel's form uses only the steps and the LU."""
    rng = np.random.default_rng(seed)
    N = 12
    A = rng.normal(size=(N, N)) + 6.0 * np.eye(N)
    c = rng.normal(size=N)

    def F(x: np.ndarray) -> np.ndarray:
        return A @ x + 0.3 * np.sin(x) + 0.05 * x**3 - c

    x = np.zeros(N)
    J0 = A + 0.3 * np.eye(N)  # the Jacobian at 0
    lu, ipiv, B = factored(J0)
    steps = np.empty((K.BROYDEN_MEMORY, N))
    sq = np.empty(K.BROYDEN_MEMORY)
    s = K.lu_step(lu, ipiv, F(x))
    np.testing.assert_allclose(s, np.linalg.solve(B, -F(x)), rtol=1e-9, atol=1e-12)
    K._keep_step(s, steps, sq, 0)
    nb = 1
    x_new = x + s
    start = np.linalg.norm(F(x))
    for _ in range(6):
        y = F(x_new) - F(x)
        B = B + np.outer(y - B @ s, s) / (s @ s)
        x = x_new
        want = np.linalg.solve(B, -F(x))
        got = K._broyden_step(lu, ipiv, F(x), steps, sq, nb)
        np.testing.assert_allclose(got, want, rtol=1e-8, atol=1e-13)
        s = got
        K._keep_step(s, steps, sq, nb)
        nb += 1
        x_new = x + s
    assert np.linalg.norm(F(x_new)) < 1e-6 * start  # and the method converges


def test_a_degenerate_update_gives_no_step() -> None:
    """``s_k . w = |s_k|^2`` (the updated matrix is singular): NaN, so the iteration takes a
    Newton step instead."""
    N = 3
    lu, ipiv, _ = factored(np.eye(N))
    steps = np.zeros((K.BROYDEN_MEMORY, N))
    sq = np.zeros(K.BROYDEN_MEMORY)
    K._keep_step(np.array([-1.0, 0.0, 0.0]), steps, sq, 0)
    # w = -B0^-1 F = -F; s_0 . w = |s_0|^2 = 1 when F = (1, 0, 0)
    assert np.isnan(K._broyden_step(lu, ipiv, np.array([1.0, 0.0, 0.0]), steps, sq, 1)).all()
