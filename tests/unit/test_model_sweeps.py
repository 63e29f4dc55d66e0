"""The first steps of the Newton iteration (kernels._sweep_direction, kernels.SWEEPS): a Jacobi
step on the producer prices corrected along the price level, against the same step written
plainly with NumPy and the dense Jacobian (critmin.model.core.jacobian). (That the iteration's
answers solve the equations is tests/unit/test_model_reference.py's and
test_model_solver.py's; that they do not depend on the path, the golden files'.)"""

from __future__ import annotations

import numpy as np
import pytest
from test_model_eval_exact import CASES, zone_market  # the same zone markets

from critmin.model import kernels as K
from critmin.model import solve
from critmin.model.core import evaluate, jacobian, stack


def plain_sweep(st, ev, cap: float) -> tuple[np.ndarray, float]:
    """The step and the predicted residual norm, from the dense Jacobian ``J`` at the point:
    ``d_J = -F_s / J_ss`` on the active producer slots, ``c`` minimising ``|r + c g|`` with
    ``r = F + J d_J`` and ``g_s = (sigma - eta) - sigma Q^K_s / Q_s - dS_s`` (``Q^K``: sales
    on the pairs whose floor does not bind), ``d = d_J + c`` there, capped."""
    a = st.arrays
    ns, N = st.ns, st.N
    buf = K.row(ev.buf, 0)
    F = np.asarray(buf.F, dtype=float)
    J = jacobian(st, ev)[0]
    act = np.asarray(a.uact[0, :ns], dtype=bool)
    L = int(a.nvalid[0])
    ps = np.asarray(a.ps[0, :L])
    q = np.asarray(buf.q[:L]) * np.asarray(buf.K[:L])
    free = np.bincount(ps, weights=q, minlength=ns + 1)[:ns]
    Q = np.asarray(buf.Q[:ns])
    Qs = np.where(np.asarray(a.check[0, :ns], dtype=bool) & (Q > 0), Q, 1.0)
    sig, eta = float(a.sigma[0]), float(a.eta[0])
    lam = sig * free / Qs + np.asarray(buf.dS[:ns])
    diag = np.diag(J)[:ns]
    dJ = np.where(act & (diag != 0), -F[:ns] / np.where(diag != 0, diag, 1.0), 0.0)
    r = F[:ns] + J[:ns, :ns] @ dJ
    g = (sig - eta) - lam
    c = -(r[act] @ g[act]) / (g[act] @ g[act])
    d = np.zeros(N)
    d[:ns] = np.where(act, dJ + c, 0.0)
    predicted = np.sqrt(np.sum(np.where(act, r + c * g, F[:ns]) ** 2) + np.sum(F[ns:] ** 2))
    big = np.abs(d).max()
    return d * min(1.0, cap / big), float(predicted)


@pytest.mark.parametrize(
    "case", CASES, ids=lambda c: "-".join(k for k, v in c.items() if v) or "plain"
)
@pytest.mark.parametrize("scale", [0.0, 0.05])
def test_sweep_direction_equals_the_plain_step(case: dict[str, bool], scale: float) -> None:
    """The kernel's step (two passes over the pairs, no matrix) and its prediction equal the
    plain step with the dense Jacobian, with and without floors, quotas and bans, at the
    baseline prices and near them; and the cap applies."""
    for seed, n in ((4, 30), (5, 12)):
        m, p = zone_market(seed, n, **case)
        st = stack([m], [p.resolve(m)])
        z = np.random.default_rng(seed).normal(0.0, scale, (1, st.N))
        z[:, st.ns :] = np.abs(z[:, st.ns :])
        ev = evaluate(st, z)
        for cap in (K.MAX_STEP, 1e-3):
            d, predicted = K._sweep_direction(st.arrays, 0, K.row(ev.buf, 0), cap)
            want, want_predicted = plain_sweep(st, ev, cap)
            np.testing.assert_allclose(d, want, rtol=1e-9, atol=1e-13)
            assert predicted == pytest.approx(want_predicted, rel=1e-9)
            assert np.abs(d).max() <= cap * (1 + 1e-12)
            assert not d[st.ns :].any(), "the quota unknowns stay"


def test_price_level_term_is_the_jacobian_times_one_without_floors() -> None:
    """Without floors every share counts, and ``g`` is exactly the Jacobian's row sums over
    the active slots (the slow mode the correction is for)."""
    m, p = zone_market(6, 25, floors=False, quotas=False, ban=True)
    st = stack([m], [p.resolve(m)])
    ev = evaluate(st, np.zeros((1, st.N)))
    J = jacobian(st, ev)[0]
    a = st.arrays
    act = np.asarray(a.uact[0, : st.ns], dtype=bool)
    buf = K.row(ev.buf, 0)
    sig, eta = float(a.sigma[0]), float(a.eta[0])
    Q = np.asarray(buf.Q[: st.ns])
    g = (sig - eta) - (sig + np.asarray(buf.dS[: st.ns]))  # Q^K = Q: no pair at a floor
    np.testing.assert_allclose((J[: st.ns, : st.ns] @ act)[act], g[act], rtol=1e-12, atol=1e-12)
    assert (Q[act] > 0).all()


def test_first_steps_cut_the_residual_and_the_solution_is_the_same() -> None:
    """On a 60-country zone market with a ban the first step is taken (the linear model and
    the evaluation agree that it halves the residual norm) and the iteration still ends at
    the solution the full-step Newton iteration (pure: no such steps) finds."""
    m, p = zone_market(7, 60, floors=True, quotas=False, ban=True)
    st = stack([m], [p.resolve(m)])
    ev = evaluate(st, np.zeros((1, st.N)))
    F0 = np.linalg.norm(np.asarray(K.row(ev.buf, 0).F))
    d, predicted = K._sweep_direction(st.arrays, 0, K.row(ev.buf, 0), K.MAX_STEP)
    assert F0 > K.BROYDEN_BELOW and predicted < K.SWEEP_CONTRACTION * F0
    after = np.linalg.norm(evaluate(st, d[None, :]).F[0])
    assert after < K.SWEEP_CONTRACTION * F0
    sol = solve(m, p)
    assert sol.converged
    zp = np.zeros(st.N)
    out = st.new_evaluation()
    _, status = K._newton_one(st.arrays, 0, zp, K.row(out, 0), 1e-12, 100, True, True)
    assert status == 1
    act = np.asarray(st.arrays.uact[0, : st.ns], dtype=bool)
    got = np.log(sol.pi[np.asarray(st.arrays.slot_country[0, : st.ns])])
    np.testing.assert_allclose(got[act], zp[: st.ns][act], rtol=0, atol=1e-10)
