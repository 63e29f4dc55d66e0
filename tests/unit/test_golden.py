"""Behaviour is unchanged across refactors: every example's results contract equals the golden
file recorded before the layers were moved (``tests/golden/*.json.gz``), timing fields aside.

Equal means: the same keys, strings, integers and booleans, and floats within rounding
(:func:`close`). Bit for bit the numbers depend on the CPU they are computed on: the C
library's ``exp`` and ``log``, NumPy's SIMD loops and the code Numba generates differ
between, say, an AVX2 and an AVX-512 machine in the last bit, and a last bit in a price
becomes 2e-14 in a percentage change of 0, or 1e-8 USD in a surplus of millions, after the
subtractions that turn levels into changes. The files were recorded on one machine and are
checked on any, so the comparison allows that much and no more: any change of the model, the
data or the resolution moves some number far beyond it. Bit for bit comparisons stay where
both sides are computed on the same machine (the AOT build against the JIT,
``test_model_aot.py``; reruns with one seed).

Regenerate (only when a change of results is intended, and say why in the commit)::

    for f in examples/*.toml; do critmin simulate $f --json | gzip -9 > tests/golden/$(basename $f .toml).json.gz; done
"""

from __future__ import annotations

import gzip
import json
import math
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import critmin

REPO = Path(__file__).resolve().parents[2]
GOLDEN = REPO / "tests" / "golden"
EXAMPLES = sorted((REPO / "examples").glob("*.toml"))
TIMING_FIELDS = frozenset({"solve_seconds"})


def strip_timing(obj: Any) -> Any:
    """The results without the fields that measure time (they differ on every run)."""
    if isinstance(obj, dict):
        return {k: strip_timing(v) for k, v in obj.items() if k not in TIMING_FIELDS}
    if isinstance(obj, list):
        return [strip_timing(v) for v in obj]
    return obj


def first_difference(
    a: Any, b: Any, path: str = "$", *, equal: Callable[[str, Any, Any], bool] | None = None
) -> str | None:
    """Where two JSON documents first differ (for a readable failure). Leaves are compared
    with ``==``, or with ``equal(key, a, b)`` where given (``key``: the leaf's name)."""
    if type(a) is not type(b) and not (
        equal is not None and {type(a), type(b)} <= {int, float} and type(a) is not bool
    ):
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return f"{path}: keys {sorted(a.keys() ^ b.keys())} differ"
        for k in a:
            if (d := first_difference(a[k], b[k], f"{path}.{k}", equal=equal)) is not None:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if (d := first_difference(x, y, f"{path}[{i}]", equal=equal)) is not None:
                return d
        return None
    key = path.rsplit(".", 1)[-1]
    same = a == b if equal is None else equal(key, a, b)
    return None if same else f"{path}: {a!r} != {b!r}"


REL_TOL = 1e-9
"""Floats of the golden files agree to this relative difference, or to an absolute one:"""
ABS_TOL = 1e-9
"""... this one for percentages, prices and quantities: a change that is 0 in exact
arithmetic comes out as +-2e-14 percent, with a sign that depends on the last bit of the
levels;"""
ABS_TOL_USD = 1e-5
"""... and this one for amounts in USD (``*_usd``), differences of sums of millions: a zero
surplus change comes out as up to +-1e-7 USD (the largest seen between two machines)."""
RESIDUAL_TOL = 1e-11
"""A largest residual is the rounding noise of the converged solution (the solver stops at
1e-12): two residuals agree where both are below this."""
_RESIDUAL_IN_TEXT = re.compile(r"max residual [-+.e0-9]+")


def close(key: str, a: Any, b: Any) -> bool:
    """Whether two leaves of a results contract agree up to the rounding of the machine they
    were computed on (see the module's docstring): floats within :data:`REL_TOL` or
    :data:`ABS_TOL` (:data:`ABS_TOL_USD` for USD), largest residuals both below :data:`RESIDUAL_TOL`, messages equal once
    the residual they quote is set aside; anything else exactly equal."""
    if isinstance(a, float | int) and isinstance(b, float | int) and not isinstance(a, bool):
        if key == "max_residual":
            both_converged = abs(a) <= RESIDUAL_TOL and abs(b) <= RESIDUAL_TOL
            return both_converged or math.isclose(a, b, rel_tol=REL_TOL)
        slack = ABS_TOL_USD if key.endswith("_usd") else ABS_TOL
        return math.isclose(a, b, rel_tol=REL_TOL, abs_tol=slack)
    if isinstance(a, str) and isinstance(b, str):
        return _RESIDUAL_IN_TEXT.sub("max residual", a) == _RESIDUAL_IN_TEXT.sub("max residual", b)
    return bool(a == b)


def test_every_example_has_a_golden_file() -> None:
    assert EXAMPLES, "no examples/*.toml"
    missing = [p.stem for p in EXAMPLES if not (GOLDEN / f"{p.stem}.json.gz").is_file()]
    assert not missing, f"no golden results for {missing}"


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.stem)
def test_results_equal_the_golden_file(example: Path) -> None:
    golden_path = GOLDEN / f"{example.stem}.json.gz"
    if not golden_path.is_file():
        pytest.skip(f"no golden file for {example.stem}")
    golden = json.loads(gzip.decompress(golden_path.read_bytes()))
    # the same serialisation as `critmin simulate --json` (NaN is never written)
    now = json.loads(json.dumps(critmin.simulate(example).to_dict(), allow_nan=False))
    difference = first_difference(strip_timing(golden), strip_timing(now), equal=close)
    assert difference is None, f"{example.name}: results changed at {difference}"


def test_the_comparison_allows_rounding_and_nothing_more() -> None:
    """The tolerances of :func:`close` pass what a CPU's last bits change and fail what a
    change of the model, the data or the solve would change."""
    golden = json.loads(gzip.decompress((GOLDEN / "01_lithium_floor_levy.json.gz").read_bytes()))
    product = next(iter(golden["products"].values()))
    country, row = max(
        product["countries"].items(), key=lambda cr: abs(cr[1]["supply_change_pct"] or 0.0)
    )
    assert abs(row["supply_change_pct"]) > 1.0

    def changed(edit: Callable[[dict[str, Any]], None]) -> str | None:
        other = json.loads(json.dumps(golden))
        edit(next(iter(other["products"].values())))
        return first_difference(golden, other, equal=close)

    def scaled(factor: float) -> Callable[[dict[str, Any]], None]:
        def edit(p: dict[str, Any]) -> None:
            p["countries"][country]["supply_change_pct"] = row["supply_change_pct"] * factor

        return edit

    def at_noise(p: dict[str, Any]) -> None:  # a zero change computed as +-2e-14 percent
        for r in p["countries"].values():
            if r["supply_change_pct"] == 0.0:
                r["supply_change_pct"] = 2.220446049250313e-14
                return
        raise AssertionError("no country without a supply change")

    def other_residual(p: dict[str, Any]) -> None:
        p["max_residual"] = 2.0539125955565396e-15
        p["message"] = p["message"].replace(f"{p['message'].split()[-1]}", "2.1e-15)")

    def one_more_iteration(p: dict[str, Any]) -> None:
        p["message"] = p["message"].replace(" in ", " in 1")

    assert changed(scaled(1.0 + 1e-12)) is None
    assert changed(at_noise) is None
    assert changed(other_residual) is None
    assert changed(scaled(1.0 + 1e-8)) is not None  # a real change: 1e-8 relative
    assert changed(one_more_iteration) is not None
    assert changed(lambda p: p.update(max_residual=1e-9)) is not None  # not converged as well
    assert changed(lambda p: p.update(converged=not p["converged"])) is not None
