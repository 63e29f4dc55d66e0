"""The ahead-of-time compiled kernels (critmin.model.compiled, critmin.model.aot_build).

A current AOT build must give the same results as Numba's JIT bit for bit, must be ignored
when it is for other kernels (falling back to the JIT, never to wrong numbers), and the model
must not import Numba when it uses it. Tests that need a build skip without one (``make
setup`` or ``python -m critmin.model.aot_build`` builds it; it needs a C compiler).
"""

from __future__ import annotations

import ast
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import numba
import numpy as np
import pytest

from critmin.model import Market, Policy, aot_build, compiled, kernels
from critmin.model.core import stack

REPO = Path(__file__).resolve().parents[2]
EXAMPLES = [
    "01_lithium_floor_levy.toml",
    "02_china_bans_gallium_magnets.toml",
    "03_drc_cobalt_quota.toml",
    "04_full_zone_all_products.toml",
    "controls/ga_ge_licensing_2023.toml",
    "chains/rare_earths_ndpr_floor_china_ban.toml",
    "chains/gallium_china_ban_byproduct.toml",
]


def current_build() -> compiled.AotKernels:
    aot = compiled.load_aot(compiled.aot_dir(), compiled.build_key())
    if aot is None:
        pytest.skip(
            "no current AOT build of the kernels (make setup, or python -m "
            "critmin.model.aot_build; it needs a C compiler)"
        )
    return aot


def small_stack() -> tuple[Market, object]:
    n = 6
    rng = np.random.default_rng(7)
    V = rng.uniform(0.5, 2.0, (n, n)) * (rng.random((n, n)) < 0.7)
    np.fill_diagonal(V, 2.0)
    m = Market(V=V, t0=np.full((n, n), 0.02), sigma=4.0, eta=0.5, eps=np.full(n, 0.9))
    p = Policy(t1=np.full((n, n), 0.1)).resolve(m)
    return m, stack([m], [p])


def test_type_keys_distinguish_what_numba_typeof_distinguishes() -> None:
    m, st = small_stack()
    a = np.arange(12.0).reshape(3, 4)
    frozen = a.copy()
    frozen.flags.writeable = False
    values = [
        a,
        frozen,
        np.asfortranarray(a),
        a[:, ::2],
        a[0],
        np.zeros(3, dtype=np.bool_),
        np.zeros(3, dtype=np.intp),
        np.zeros((0, 3)),
        m.V,  # the model's inputs are read-only
        True,
        np.bool_(False),
        3,
        2.5,
        np.float64(1.0),
        np.int64(4),
        (1.0, 2.0),
        (a, 1, True),
        st.arrays,  # type: ignore[attr-defined]
    ]
    keys = [compiled.type_key(v) for v in values]
    for v, key in zip(values, keys, strict=True):
        assert key == aot_build.numba_type_key(numba.typeof(v)), type(v)
    # a different key exactly where Numba sees a different type
    types = [numba.typeof(v) for v in values]
    for i in range(len(values)):
        for j in range(len(values)):
            assert (keys[i] == keys[j]) == (types[i] == types[j]), (keys[i], keys[j])


def test_the_dispatch_signature_never_mixes_up_types() -> None:
    """The cheap signature that remembers an export (``compiled._signature``) is equal only
    where :func:`compiled.type_key` is equal: a remembered match is never used for other
    types (the arrays' flags, scalars' types, named tuples' classes and fields)."""
    _, st = small_stack()
    a = np.arange(12.0).reshape(3, 4)
    frozen = a.copy()
    frozen.flags.writeable = False
    arrays = st.arrays  # type: ignore[attr-defined]
    values = [
        a,
        frozen,
        np.asfortranarray(a),
        a[:, ::2],
        a[0],
        a.astype(np.float32),
        np.zeros(3, dtype=np.bool_),
        np.zeros(3, dtype=np.intp),
        np.zeros(3, dtype=np.int32),
        True,
        np.bool_(False),
        3,
        2**70,
        2.5,
        np.float64(1.0),
        (1.0, 2.0),
        (a, 1, True),
        arrays,
        arrays._replace(any_floor=1),
        arrays._replace(W=frozen),
        tuple(arrays),
    ]
    for x in values:
        for y in values:
            if compiled._signature((x,)) == compiled._signature((y,)):
                assert compiled.type_key((x,)) == compiled.type_key((y,)), (x, y)


def test_the_dispatch_falls_back_to_numba_for_other_argument_types(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An export is called only with the argument types it was built for, also after a
    match was remembered; other types (non-contiguous, read-only, another dtype, a named
    tuple with a changed field) run through Numba's dispatcher, with the same numbers."""
    calls: list[str] = []

    def export(*args: object) -> object:
        calls.append("export")
        return kernels.consumer_surplus_change(*args)

    E = np.linspace(1.0, 2.0, 5)
    P = np.linspace(0.9, 1.3, 5)
    key = compiled.type_key((E, P, 0.7))
    fn = compiled._AotFunction(
        "consumer_surplus_change", {key: (export, None)}, compiled.tuple_classes()
    )
    expected = kernels.consumer_surplus_change(E, P, 0.7)
    for _ in range(2):  # the second call through the remembered match
        assert np.array_equal(fn(E, P, 0.7), expected)
    assert calls == ["export", "export"]
    caplog.set_level(logging.DEBUG, logger="critmin.model.compiled")
    frozen = E.copy()
    frozen.flags.writeable = False
    wide = np.linspace(1.0, 2.0, 10)
    for args in ((wide[::2], P, 0.7), (frozen, P, 0.7), (E.astype(np.float32), P, 0.7)):
        assert np.array_equal(fn(*args), kernels.consumer_surplus_change(*args))
    assert calls == ["export", "export"]
    assert caplog.text.count("no consumer_surplus_change export") == 3
    # the same array object, made read-only after its match was remembered
    E2 = E.copy()
    assert np.array_equal(fn(E2, P, 0.7), expected) and len(calls) == 3
    E2.flags.writeable = False
    assert np.array_equal(fn(E2, P, 0.7), expected) and len(calls) == 3
    # a named tuple's field
    _, st = small_stack()
    arrays = st.arrays  # type: ignore[attr-defined]
    names = compiled._AotFunction("newton_batch", {}, compiled.tuple_classes())
    names.exports[compiled.type_key((arrays, 1e-12, 100, False, True))] = ("match", None)
    assert names.export_for((arrays, 1e-12, 100, False, True)) == ("match", None)
    other = arrays._replace(sigma=arrays.sigma.astype(np.float32))
    assert names.export_for((other, 1e-12, 100, False, True)) is None


def test_the_model_takes_its_kernels_from_one_place() -> None:
    """core, solver, threads and welfare use compiled's callables (the AOT module or
    Numba's)."""
    from critmin.model import core, solver, threads, welfare

    for module, names in (
        (core, ("market_sizes", "market_fill", "evaluate_batch", "alloc_eval")),
        (solver, ("newton_batch", "solve_step", "levels_batch")),
        (threads, ("newton_markets", "levels_batch")),
        (welfare, ("buyer_revenue", "consumer_surplus_change", "producer_surplus_change")),
    ):
        for name in names:
            assert getattr(module, name) is getattr(compiled, name), (module.__name__, name)
    if not compiled.USING_AOT:
        assert compiled.newton_batch is kernels.newton_batch


# the modules that may import critmin.model.kernels or critmin.model.chain_kernels (and with
# them Numba) directly: the dispatch itself and the build
KERNEL_IMPORTERS = {"compiled.py", "aot_build.py"}
JIT_MODULES = ("kernels", "chain_kernels")


def test_only_the_dispatch_imports_the_jit_kernels() -> None:
    """A model module that imported critmin.model.kernels or critmin.model.chain_kernels would
    bring Numba back into every process that uses it: new kernels the model calls go into
    compiled.ENTRY_POINTS (or CHAIN_ENTRY_POINTS) instead."""
    offenders = []
    for path in sorted((REPO / "src" / "critmin" / "model").glob("*.py")):
        if path.stem in JIT_MODULES:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (
                node.module in {f"critmin.model.{m}" for m in JIT_MODULES}
                or (
                    node.module == "critmin.model"
                    and any(a.name in JIT_MODULES for a in node.names)
                )
            ):
                offenders.append(path.name)
    assert set(offenders) <= KERNEL_IMPORTERS, sorted(set(offenders) - KERNEL_IMPORTERS)


def test_the_chain_model_takes_its_kernels_from_one_place() -> None:
    """The chain solver calls compiled's callables (the AOT build's, or Numba's)."""
    from critmin.model import chain_solver

    for name in ("newton_chain_flat", "buyer_revenue"):
        assert getattr(chain_solver, name) is getattr(compiled, name), name


def test_a_build_for_other_kernels_is_ignored(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    aot = current_build()
    key = compiled.build_key()
    name = compiled.module_name(key)
    shutil.copy(aot.path, tmp_path / aot.path.name)
    manifest = json.loads((aot.path.parent / f"{name}.json").read_text())
    (tmp_path / f"{name}.json").write_text(json.dumps(manifest))
    assert compiled.load_aot(tmp_path, key) is not None  # the copy itself loads

    caplog.set_level(logging.DEBUG, logger="critmin.model.compiled")
    # other kernels (a different key): not even looked at
    assert compiled.load_aot(tmp_path, "0" * 64) is None
    assert "for other kernels or another machine" in caplog.text
    # a manifest that says other kernels under this key's name
    caplog.clear()
    (tmp_path / f"{name}.json").write_text(json.dumps(manifest | {"key": "f" * 64}))
    assert compiled.load_aot(tmp_path, key) is None
    assert "does not match these kernels" in caplog.text
    # an export that returns a named tuple this side cannot rebuild without Numba
    caplog.clear()
    foreign = [e | {"returns": ["Foreign", ["x"]]} for e in manifest["exports"]]
    (tmp_path / f"{name}.json").write_text(json.dumps(manifest | {"exports": foreign}))
    assert compiled.load_aot(tmp_path, key) is None
    assert "does not match these kernels" in caplog.text
    # a module file missing
    caplog.clear()
    (tmp_path / f"{name}.json").write_text(json.dumps(manifest))
    (tmp_path / aot.path.name).unlink()
    assert compiled.load_aot(tmp_path, key) is None
    assert "without its module" in caplog.text
    # the selection then takes Numba's kernels
    monkeypatch.setenv(compiled.DIR_ENV, str(tmp_path))
    chosen, bindings = compiled._select()
    assert chosen is None
    assert bindings["newton_batch"] is kernels.newton_batch


def test_the_key_follows_the_kernels_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = compiled.build_key()
    for name in compiled.SOURCES:
        shutil.copy(compiled.HERE / name, tmp_path / name)
    monkeypatch.setattr(compiled, "HERE", tmp_path)
    assert compiled.build_key() == before
    with (tmp_path / "kernels.py").open("a") as f:
        f.write("\n# an edit\n")
    assert compiled.build_key() != before


def test_unexported_argument_types_run_through_numba(caplog: pytest.LogCaptureFixture) -> None:
    aot = current_build()
    E = np.linspace(1.0, 2.0, 10)[::2]  # not contiguous: no export takes it
    P = np.linspace(0.9, 1.3, 10)[::2]
    caplog.set_level(logging.DEBUG, logger="critmin.model.compiled")
    got = aot.functions["consumer_surplus_change"](E, P, 0.7)
    assert "no consumer_surplus_change export" in caplog.text
    assert np.array_equal(got, kernels.consumer_surplus_change(E, P, 0.7))
    # the exported types run in the AOT module, with the same numbers
    caplog.clear()
    Ec, Pc = np.ascontiguousarray(E), np.ascontiguousarray(P)
    assert np.array_equal(aot.functions["consumer_surplus_change"](Ec, Pc, 0.7), got)
    assert caplog.text == ""


def test_every_entry_point_has_an_export() -> None:
    """The build exports every kernel the model calls from Python (a kernel missing from the
    representative solves would run through Numba's JIT instead, importing and compiling)."""
    aot = current_build()
    every = (*compiled.ENTRY_POINTS, *compiled.CHAIN_ENTRY_POINTS)
    assert [name for name in every if not aot.functions[name].exports] == []
    constants = aot.manifest["constants"]
    assert all(constants[c] == compiled.jit_function(c) for c in compiled.CHAIN_CONSTANTS)


def test_aot_results_rebuild_the_kernels_named_tuples() -> None:
    aot = current_build()
    _, st = small_stack()
    z, buf, iterations, status = aot.functions["newton_batch"](st.arrays, 1e-12, 100, False, True)  # type: ignore[attr-defined]
    jz, jbuf, jit_iterations, jit_status = kernels.newton_batch(st.arrays, 1e-12, 100, False, True)  # type: ignore[attr-defined]
    assert type(buf) is type(jbuf)
    assert np.array_equal(z, jz) and np.array_equal(iterations, jit_iterations)
    assert np.array_equal(status, jit_status)
    for field in ("lnP", "q", "Q", "X", "nu", "F", "S"):
        assert np.array_equal(getattr(buf, field), getattr(jbuf, field)), field


def run_python(script: str, *args: str, jit: bool = False) -> subprocess.CompletedProcess[str]:
    """``python -c script args`` on these sources, from the repository's root, with the AOT
    build (``jit=False``) or Numba's JIT (``CRITMIN_JIT=1``); it must succeed."""
    env = dict(os.environ, PYTHONPATH=str(REPO / "src"))
    env[compiled.JIT_ENV] = "1" if jit else "0"
    proc = subprocess.run(
        [sys.executable, "-c", script, *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc


SIMULATE = """
import json, logging, sys
logging.basicConfig(level=logging.WARNING)
logging.getLogger("critmin.model.compiled").setLevel(logging.DEBUG)
import critmin
from critmin.model import compiled
out = {"aot": compiled.USING_AOT, "results": {}}
for ex in sys.argv[1:]:
    out["results"][ex] = json.loads(json.dumps(critmin.simulate("examples/" + ex).to_dict()))
out["numba"] = sorted(k for k in sys.modules if k.split(".")[0] in ("numba", "llvmlite"))
out["chain_solver"] = "critmin.model.chain_solver" in sys.modules
print(json.dumps(out))
"""


def test_aot_and_jit_give_the_same_results_bit_for_bit() -> None:
    """A handful of examples (every instrument, destination quotas, the 30-product zone) in
    one process per path; the results contracts must be equal, timings aside."""
    current_build()
    from test_golden import first_difference, strip_timing

    aot_run = run_python(SIMULATE, *EXAMPLES)
    aot = json.loads(aot_run.stdout)
    jit = json.loads(run_python(SIMULATE, *EXAMPLES, jit=True).stdout)
    assert aot["aot"] and not jit["aot"]
    assert "using Numba" not in aot_run.stderr, f"a kernel ran through Numba: {aot_run.stderr}"
    for ex in EXAMPLES:
        difference = first_difference(
            strip_timing(jit["results"][ex]), strip_timing(aot["results"][ex])
        )
        assert difference is None, f"{ex}: AOT and JIT differ at {difference}"


def test_simulate_does_not_import_numba_with_the_aot_build() -> None:
    current_build()
    out = json.loads(run_python(SIMULATE, EXAMPLES[0]).stdout)
    assert out["aot"]
    if out["chain_solver"]:
        pytest.skip("critmin.simulation imports the chain solver (and Numba) at start-up")
    assert out["numba"] == [], "critmin simulate imported Numba with a current AOT build"


def test_the_model_does_not_import_numba_with_the_aot_build() -> None:
    current_build()
    script = (
        "import sys\n"
        "import numpy as np\n"
        "from critmin.model import Market, Policy, compiled, solve, warm_up\n"
        "from critmin.model.quota_groups import QuotaGroup\n"
        "import critmin.scenario.resolution, critmin.scenario.chains\n"
        "assert compiled.USING_AOT\n"
        "warm_up()\n"
        "n = 4\n"
        "m = Market(V=np.eye(n) + 0.5, t0=np.zeros((n, n)), sigma=3.0, eta=0.5, eps=np.ones(n))\n"
        "dest = np.array([False, False, True, True])\n"
        "s = solve(m, Policy(quota_groups=(QuotaGroup(0, dest, 0.5, 'g'),)))\n"
        "assert s.converged, s.message\n"
        "print(sorted(k for k in sys.modules if k.split('.')[0] in ('numba', 'llvmlite')))\n"
    )
    assert run_python(script).stdout.strip() == "[]"


def test_a_chain_does_not_import_numba_with_the_aot_build() -> None:
    """Chains run on the build too (critmin.model.compiled.CHAIN_ENTRY_POINTS): a chain
    scenario's simulate, with its by-product link, rules of origin and export controls, loads
    no Numba, and every kernel it calls has an export."""
    current_build()
    run = run_python(SIMULATE, "chains/rare_earths_ndpr_floor_china_ban.toml")
    out = json.loads(run.stdout)
    assert out["aot"] and out["chain_solver"]
    assert out["numba"] == [], "a chain's simulate imported Numba with a current AOT build"
    assert "using Numba" not in run.stderr, run.stderr


def test_without_a_c_compiler_the_build_says_so_and_succeeds(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CC", "/nonexistent/cc")
    assert aot_build.c_compiler() is None
    monkeypatch.setattr(compiled, "load_aot", lambda *args: None)
    monkeypatch.setattr(compiled, "USING_AOT", False)
    assert aot_build.main([]) == 0
    out = capsys.readouterr().out.strip().splitlines()
    assert len(out) == 1 and "no C compiler" in out[0]


def test_aot_kernels_release_the_gil_as_the_nogil_dispatchers_do() -> None:
    """While a Newton solve runs in the AOT module on one thread, another keeps running
    Python (a kernel that held the GIL would stop it for the whole solve)."""
    aot = current_build()
    n = 120
    rng = np.random.default_rng(0)
    V = rng.random((n, n)) * (rng.random((n, n)) < 0.5)
    np.fill_diagonal(V, 1.0)
    m = Market(V=V, t0=np.zeros((n, n)), sigma=4.0, eta=0.7, eps=np.full(n, 0.8))
    p = Policy(t1=np.where(np.arange(n)[:, None] < 20, 0.25, 0.0) * np.ones((n, n))).resolve(m)
    arrays = stack([m] * 64, [p] * 64).arrays  # type: ignore[attr-defined]  # ~0.06 s
    done = threading.Event()

    def solve() -> None:
        aot.functions["newton_batch"](arrays, 1e-12, 100, False, True)
        done.set()

    switch = sys.getswitchinterval()
    sys.setswitchinterval(0.0005)
    try:
        # the main thread's loop turns per second alone, measured now (the machine's load
        # included), so the bound below does not depend on how fast this machine is
        start = time.perf_counter()
        alone = 0
        while time.perf_counter() - start < 0.02:
            alone += 1
        rate = alone / (time.perf_counter() - start)
        worker = threading.Thread(target=solve)
        start = time.perf_counter()
        worker.start()
        ticks = 0
        while not done.is_set():
            ticks += 1
        worker.join()
        took = time.perf_counter() - start
    finally:
        sys.setswitchinterval(switch)
    # held, the GIL would let the main thread run only until the kernel starts and then not
    # at all (a few switch intervals of 0.5 ms); released, it runs through the whole solve
    assert took > 0.03, f"the solve took {took:.3f} s: too short to tell"
    held = rate * 0.005  # ten switch intervals of turns
    assert ticks > 2 * held, (
        f"the main thread ran only {ticks} loop turns during a {took:.3f} s solve "
        f"({rate:.0f} turns/s alone)"
    )


UNPICKLES = """
import json, pickle
calls = []
original = pickle.loads
def counted(data, *args, **kwargs):
    calls.append(bytes(data))
    return original(data, *args, **kwargs)
pickle.loads = counted  # before the AOT module loads: its numba_unpickle keeps this function
import numpy as np
from critmin.model import Market, Policy, compiled
m = Market(V=np.array([[2.0, 1.0], [1.0, 2.0]]), t0=np.zeros((2, 2)), sigma=3.0, eta=0.5,
           eps=np.ones(2))
rp = Policy(t1=np.full((2, 2), 0.1)).resolve(m)
args = (m.V, m.t0, rp.t1, rp.banned, rp.export_cap, rp.levy_floor, rp.subsidy_floor, m.eps,
        m.sigma, m.eta, 1e-12, 100, 700.0, np.zeros(0))
export, _ = compiled.market_solve.export_for(args)
first = len(calls)
out = export(*args)
second = len(calls)
export(*args)
print(json.dumps({"aot": compiled.USING_AOT, "arrays": sum(isinstance(x, np.ndarray) for x in out),
                  "first_call": second - first, "second_call": len(calls) - second}))
"""


def test_aot_exports_box_arrays_without_unpickling_their_class_each_time() -> None:
    """A ``numba.pycc`` wrapper unpickles ``numpy.ndarray`` for every array it returns (Numba's
    JIT keeps it; pycc's ``numba_unpickle`` calls ``pickle.loads`` each time): 57 times per
    ``market_solve`` call, half of that call's overhead. The build keeps it per module
    (``aot_build._boxing_with_a_cached_class``): ``pickle.loads`` runs on the first call of
    an export and never again."""
    current_build()
    result = json.loads(run_python(UNPICKLES).stdout)
    assert result["aot"]
    assert result["arrays"] > 50
    assert result["second_call"] == 0, result


DRAWS = """
import json, logging, sys
logging.basicConfig(level=logging.WARNING)
logging.getLogger("critmin.model.compiled").setLevel(logging.DEBUG)
from critmin.model import compiled
from critmin.uncertainty import run_uncertainty
r = run_uncertainty(sys.argv[1], draws=120, seed=3, workers=2, chunk_size=25)
print(json.dumps({"aot": compiled.USING_AOT, "draws": int(r.to_dict()["draws"]),
                  "numba": sorted(k for k in sys.modules if k.split(".")[0] == "numba")}))
"""


@pytest.mark.parametrize(
    "example",
    ["examples/01_lithium_floor_levy.toml", "examples/02_china_bans_gallium_magnets.toml"],
)
def test_monte_carlo_draws_run_on_the_aot_build(example: str) -> None:
    """``critmin.uncertainty`` takes its draws kernels (``solve_draws``, ``outputs_at``) from
    the build: draws on two threads load no Numba and every call has an export (an argument
    of another type, e.g. a read-only array, would run through Numba and log it)."""
    current_build()
    run = run_python(DRAWS, example)
    out = json.loads(run.stdout)
    assert out["aot"] and out["draws"] == 120
    assert out["numba"] == [], out
    assert "using Numba" not in run.stderr, run.stderr


def test_the_hot_evaluations_count_no_references() -> None:
    """eval_factored, eval_residual and place_eval are compiled without Numba's reference
    counting (kernels.WITHOUT_REFCOUNTS): a call of a function that takes the named tuples
    otherwise counts an atomic reference per array on entry and exit (65,000 per batch of
    bench_solver's case (d) against 26,000). Checked on the code Numba generates for
    eval_residual, compiled afresh with the option and, so that the check can fail, without
    it: only the second calls NRT_incref."""
    for kernel in (kernels.eval_factored, kernels.eval_residual, kernels.place_eval):
        assert kernel.targetoptions.get("_nrt") is False, kernel.py_func.__name__
    rng = np.random.default_rng(3)
    n = 6
    V = rng.uniform(1.0, 2.0, (n, n))
    m = Market(V=V, t0=np.zeros((n, n)), sigma=4.0, eta=0.5, eps=np.full(n, 0.5))
    st = stack([m], [Policy(levy_floor=np.full((n, n), 1.2)).resolve(m)])
    a = st.arrays
    z = np.zeros(st.N)
    e = kernels.row(kernels.alloc_eval(1, st.L, st.n + 1, st.ns, st.nq), 0)
    fac = kernels.pair_factors(a, 0)
    calls = {}
    for counted in (False, True):
        options = {} if counted else kernels.WITHOUT_REFCOUNTS
        fresh = numba.njit(nogil=True, error_model="numpy", **options)(
            kernels.eval_residual.py_func
        )
        assert fresh(a, 0, z, e, fac)
        calls[counted] = fresh.inspect_llvm(fresh.signatures[0]).count("@NRT_incref")
    assert calls[False] == 0 and calls[True] > 0, calls
