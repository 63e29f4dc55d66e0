"""Build the solver's kernels ahead of time: ``python -m critmin.model.aot_build``.

Compiles the entry points of :data:`critmin.model.compiled.ENTRY_POINTS` with
``numba.pycc`` (deprecated upstream, still in Numba 0.68) into one C extension module that
:mod:`critmin.model.compiled` loads without importing Numba. ``make setup`` runs it after
Numba's warm-up; it takes about a minute on a 2-core VM.

1. A representative solve (:func:`representative_solves`: every policy instrument, the
   fallbacks, the helpers) runs through Numba's JIT. The argument types each entry point
   was called with are then read from its dispatcher (``nopython_signatures``), so a
   kernel whose signature changes is exported with its new types on the next build, with
   no list to edit here.
2. Each signature becomes one export. A kernel that returns named tuples is exported
   through a small generated wrapper that returns them flattened into one plain tuple
   (boxing a named tuple in an AOT module unpickles its class at every call); the manifest
   records the nesting for :mod:`critmin.model.compiled` to rebuild them with the classes of
   :mod:`critmin.model.kernel_tuples`. Each array returned is boxed with its class
   unpickled once per module, not once per array (:func:`_boxing_with_a_cached_class`).
3. The code is generated for this CPU with the features Numba's JIT uses
   (``numba.core.codegen.JITCPUCodegen``): the same machine code, the same numbers; the
   exports release the GIL while they run, as the ``nogil`` dispatchers do.
4. Before the build is installed, it is checked against the JIT on the representative
   solves, bit for bit; if anything differs nothing is installed.

Without a C compiler (or without ``numba.pycc``) it prints one line and exits 0: the
solver then runs through Numba's JIT as before.
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np

from critmin.model import compiled

__all__ = ["build", "main", "numba_type_key", "representative_solves"]


# --------------------------------------------------------------------------------------------
# 1. what the model calls


def representative_solves() -> None:
    """Call every entry point the way the single-market model does: solves under each
    policy instrument (tariffs, bans, levy and subsidy floors, export caps, destination
    quotas with trade costs, demand and supply shifts), markets of several sizes in one
    batch, and the Python-level helpers (evaluation, Jacobian, Newton system,
    Levenberg-Marquardt, welfare)."""
    from critmin.model.core import Market, Policy, evaluate, jacobian, newton_system, stack
    from critmin.model.quota_groups import QuotaGroup
    from critmin.model.solver import _levenberg_marquardt, solve, solve_batch, warm_up
    from critmin.model.welfare import compute_welfare

    warm_up()
    markets, policies = [], []
    for n, seed in ((3, 1), (7, 2), (12, 3)):
        rng = np.random.default_rng(seed)
        V = rng.uniform(0.5, 2.0, (n, n)) * (rng.random((n, n)) < 0.7)
        np.fill_diagonal(V, rng.uniform(1.0, 3.0, n))
        m = Market(V=V, t0=np.full((n, n), 0.02), sigma=4.0, eta=0.6, eps=np.full(n, 0.8))
        markets += [m] * 5
        t1 = np.where(np.arange(n)[:, None] == 0, 0.3, 0.02) * np.ones((n, n))
        banned = np.zeros((n, n), dtype=bool)
        banned[1, 0] = True
        policies += [
            Policy(t1=t1),
            Policy(banned=banned, levy_floor=np.full((n, n), 1.05)),
            Policy(
                subsidy_floor=np.r_[1.1, np.zeros(n - 1)],
                export_cap=np.r_[0.8, np.full(n - 1, np.inf)],
            ),
            Policy(demand_shift=np.full(n, 1.1), supply_shift=np.r_[0.9, np.ones(n - 1)]),
            Policy(t1=t1, export_cap=np.r_[np.inf, 0.7, np.full(n - 2, np.inf)]),
        ]
    solutions = solve_batch(markets, policies)
    solve(markets[-1], policies[-1])  # one market alone in one call (kernels.market_solve)
    solve(markets[-1], policies[-2])  # ... and one with shifters: the stack, then newton_batch
    n = markets[-1].n
    dest = np.zeros(n, dtype=bool)
    dest[2:] = True
    solve(
        markets[-1],
        Policy(
            quota_groups=(QuotaGroup(exporter=1, destinations=dest, cap=0.8, label="g"),),
            trade_cost=np.full((n, n), 0.01),
        ),
    )
    resolved = [p.resolve(m) for m, p in zip(markets[-5:], policies[-5:], strict=True)]
    st = stack(markets[-5:], resolved)
    ev = evaluate(st, np.zeros((st.B, st.N)))
    jacobian(st, ev)
    newton_system(st, ev)
    _levenberg_marquardt(st, 1e-12, 5)
    representative_chains()
    representative_draws()
    s = solutions[-1]
    lv = s.levels
    compute_welfare(
        markets[-1],
        E=markets[-1].E,
        R=markets[-1].R,
        baseline_revenue=np.zeros(n),
        pi=s.pi,
        e=s.e,
        pi_s=s.pi_s,
        S=s.S,
        P=s.P,
        pair_i=lv.pair_i,
        pair_j=lv.pair_j,
        pair_q=lv.pair_q,
        pair_t1=np.zeros(len(lv.pair_i)),
        pair_floor=np.zeros(len(lv.pair_i)),
        exports=s.exports,
    )


def small_chains() -> list[list[Any]]:
    """Two linked chains of five countries (:class:`critmin.model.chain.ChainStage`), for the
    build's representative solves and its check: ore -> refined (an input link, with rules of
    origin and an alternative policy for non-originating ore) -> product, under tariffs, bans,
    levy and subsidy floors and an export cap; and a host metal with a by-product."""
    from critmin.model.chain import ChainStage
    from critmin.model.core import Market, Policy

    n = 5
    rng = np.random.default_rng(11)

    def market() -> Market:
        V = rng.uniform(1.0, 100.0, (n, n)) * (rng.random((n, n)) < 0.7)
        V[np.diag_indices(n)] += 80.0
        t0 = np.where(rng.random((n, n)) < 0.3, 0.05, 0.0)
        return Market(
            V=V, t0=t0, sigma=float(rng.uniform(2.0, 6.0)), eta=0.5, eps=rng.uniform(0.3, 1.5, n)
        )

    def policy(m: Market) -> Policy:
        t1 = m.t0.copy()
        t1[0, 1:] += 0.3
        banned = np.zeros((n, n), dtype=bool)
        banned[n - 1, 1] = True
        return Policy(
            t1=t1,
            banned=banned,
            levy_floor=np.where(rng.random((n, n)) < 0.2, 1.1, 0.0),
            subsidy_floor=np.r_[0.0, 0.0, 1.05, np.zeros(n - 3)],
            export_cap=np.r_[np.inf, 0.7, np.full(n - 2, np.inf)],
        )

    ore, refined, product, host, by = (market() for _ in range(5))
    linked = [
        ChainStage(ore, policy(ore), name="ore"),
        ChainStage(
            refined,
            policy(refined),
            link="input",
            input_share=rng.uniform(0.2, 0.6, n),
            origin_share=rng.uniform(0.0, 1.0, n),
            alt_policy=Policy(t1=refined.t0 + 0.2),
            name="refined",
        ),
        ChainStage(product, None, link="input", input_share=np.full(n, 0.3), name="product"),
    ]
    byproduct = [
        ChainStage(host, policy(host), name="host"),
        ChainStage(by, policy(by), link="byproduct", name="by-product"),
    ]
    return [linked, byproduct]


def representative_draws() -> list[Any]:
    """Monte Carlo draws of one market as :mod:`critmin.uncertainty.tasks` computes them, with
    the same argument types: the point solution's stack and unknowns (``solve_unknowns``),
    then ``solve_draws`` from it for three parameter draws and ``outputs_at`` at solutions
    found elsewhere. Returns what the kernels returned (the build's check compares them)."""
    from critmin.model.core import Market, Policy
    from critmin.model.solver import solve_unknowns

    n = 9
    rng = np.random.default_rng(21)
    V = rng.uniform(1.0, 50.0, (n, n)) * (rng.random((n, n)) < 0.7)
    V[np.diag_indices(n)] += 60.0
    t0 = np.full((n, n), 0.02)
    members = np.r_[np.ones(4, dtype=np.bool_), np.zeros(n - 4, dtype=np.bool_)]
    zone = members[None, :] & ~members[:, None]
    m = Market(V=V, t0=t0, sigma=4.0, eta=0.5, eps=np.full(n, 0.9))
    policy = Policy(t1=np.where(zone, 0.27, 0.02), levy_floor=np.where(zone, 1.1, 0.0)).resolve(m)
    st, z, _, _ = solve_unknowns([m], [policy])
    sigma = np.array([3.0, 4.0, 6.0])
    eta = np.array([0.3, 0.5, 0.8])
    eps = np.ascontiguousarray(np.outer([0.5, 1.0, 1.5], m.eps))
    rest = (
        np.ascontiguousarray(policy.subsidy_floor, dtype=np.float64),
        np.ascontiguousarray(st.pt1[0]),
        np.ascontiguousarray(st.pF[0]),
        np.ascontiguousarray(st.rev0[0, :n]),
        np.asarray((V * (1 + t0)).sum(axis=0)),
        members,
        np.arange(n) == 5,
    )
    cancel = np.zeros(1, dtype=np.int64)
    zs, out, iterations, status = compiled.solve_draws(
        st.arrays, sigma, eta, eps, z[0], 1e-12, 100, *rest, cancel
    )
    again = compiled.outputs_at(st.arrays, sigma, eta, eps, np.ascontiguousarray(zs), *rest)
    return [zs, out, iterations, status, again]


def representative_chains() -> None:
    """Solve :func:`small_chains` (their stages' pairs, then the chain's Newton iteration), as
    :func:`critmin.model.chain_solver.solve_chain` does for any chain."""
    from critmin.model.chain_solver import solve_chain

    for stages in small_chains():
        solve_chain(stages)


def _items(t: Any) -> list[Any]:
    """The element types of a Numba tuple type."""
    return list(t.types)


def numba_type_key(t: Any) -> str | None:
    """:func:`critmin.model.compiled.type_key` of a value of Numba type ``t`` (None for
    types an export cannot take: literals, optionals, anything else)."""
    from numba.core import types

    if isinstance(t, types.Literal):
        return None
    if isinstance(t, types.Array):
        readonly = "" if t.mutable else "r"
        unaligned = "" if t.aligned else "u"
        return f"{np.dtype(str(t.dtype)).name}[{t.ndim}{t.layout}{readonly}{unaligned}]"
    if isinstance(t, types.Boolean):
        return "bool"
    if isinstance(t, types.Integer | types.Float):
        return str(t)
    if isinstance(t, types.BaseTuple):
        inner = [numba_type_key(x) for x in _items(t)]
        if any(k is None for k in inner):
            return None
        body = ",".join(k for k in inner if k is not None)
        if isinstance(t, types.NamedTuple):
            return f"{t.instance_class.__name__}({body})"
        return f"({body})"
    return None


def _has_named(t: Any) -> bool:
    from numba.core import types

    if isinstance(t, types.NamedTuple):
        return True
    return isinstance(t, types.BaseTuple) and any(_has_named(x) for x in _items(t))


def _named_classes(t: Any) -> set[str]:
    """Names of the named-tuple classes in type ``t`` (nested tuples included)."""
    from numba.core import types

    if not isinstance(t, types.BaseTuple):
        return set()
    own = {t.instance_class.__name__} if isinstance(t, types.NamedTuple) else set()
    return own.union(*(_named_classes(x) for x in _items(t)))


def _flatten(t: Any, expr: str, leaves: list[tuple[str, Any]]) -> Any:
    """Leaves of return type ``t`` (expression and type) and its nesting spec."""
    from numba.core import types

    if isinstance(t, types.BaseTuple):
        items = [_flatten(x, f"{expr}[{i}]", leaves) for i, x in enumerate(_items(t))]
        name = t.instance_class.__name__ if isinstance(t, types.NamedTuple) else ""
        return [name, items]
    leaves.append((expr, t))
    return "x"


class Export:
    """One exported signature: the function pycc compiles, its signature and manifest entry."""

    def __init__(self, function: str, index: int, dispatcher: Any, sig: Any, key: str) -> None:
        from numba.core import types

        self.function = function
        self.symbol = f"{function}__{index}"
        self.key = key
        args = ", ".join(f"a{i}" for i in range(len(sig.args)))
        ret = sig.return_type
        if _has_named(ret):
            leaves: list[tuple[str, Any]] = []
            self.returns: Any = _flatten(ret, "r", leaves)
            source = (
                f"def {self.symbol}({args}):\n"
                f"    r = target({args})\n"
                f"    return ({''.join(e + ', ' for e, _ in leaves)})\n"
            )
            namespace: dict[str, Any] = {"target": dispatcher}
            exec(source, namespace)  # a generated wrapper: flat tuple out
            self.py_func: Callable[..., Any] = namespace[self.symbol]
            self.signature = types.Tuple([t for _, t in leaves])(*sig.args)
        else:
            self.returns = None
            self.py_func = dispatcher.py_func
            self.signature = sig

    def manifest(self) -> dict[str, Any]:
        return {
            "function": self.function,
            "symbol": self.symbol,
            "key": self.key,
            "returns": self.returns,
        }


def collect_exports() -> list[Export]:
    """One :class:`Export` per argument-type key each entry point was called with (keys that
    two Numba signatures share are left to the JIT), for the kernels and the chain kernels."""
    exports: list[Export] = []
    for name in (*compiled.ENTRY_POINTS, *compiled.CHAIN_ENTRY_POINTS):
        dispatcher = compiled.jit_function(name)
        by_key: dict[str, list[Any]] = {}
        for sig in dispatcher.nopython_signatures:
            key = numba_type_key(tuple_type(sig.args))
            if key is not None:
                by_key.setdefault(key, []).append(sig)
        for key, sigs in sorted(by_key.items()):
            foreign = _named_classes(sigs[0].return_type) - set(compiled.tuple_classes())
            if len(sigs) > 1:
                print(
                    f"aot_build: {name}: {len(sigs)} signatures share the key {key}; left to Numba"
                )
            elif foreign:
                print(
                    f"aot_build: {name} returns {', '.join(sorted(foreign))}, not a class of "
                    "critmin.model.kernel_tuples; left to Numba"
                )
            else:
                exports.append(Export(name, len(exports), dispatcher, sigs[0], key))
    return exports


def tuple_type(args: tuple[Any, ...]) -> Any:
    """The Numba tuple type of an argument list (the key of a call is that of its args)."""
    from numba.core import types

    return types.Tuple(list(args))


# --------------------------------------------------------------------------------------------
# 2. compile


@contextmanager
def _as_the_jit_compiles() -> Iterator[None]:
    """Make pycc compile as the kernels' JIT dispatchers do: for this CPU with the feature set
    Numba's JIT uses (pycc's default is the named CPU model's features, which a VM may not all
    offer), and with wrappers that release the GIL around the compiled call (the kernels are
    ``nogil=True``, so threads can run them in parallel; pycc's default keeps the GIL)."""
    from numba.core.codegen import AOTCPUCodegen
    from numba.core.pythonapi import PythonAPI
    from numba.pycc import compiler as pycc_compiler

    class NoGilFlags(pycc_compiler.Flags):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.release_gil = True  # type: ignore[assignment]

    with (
        patch.object(
            AOTCPUCodegen, "_customize_tm_features", lambda self: self._get_host_cpu_features()
        ),
        patch.object(pycc_compiler, "Flags", NoGilFlags),
        patch.object(
            PythonAPI,
            "nrt_adapt_ndarray_to_python",
            _boxing_with_a_cached_class(PythonAPI.nrt_adapt_ndarray_to_python),
        ),
    ):
        yield


def _boxing_with_a_cached_class(adapt: Callable[..., Any]) -> Callable[..., Any]:
    """``PythonAPI.nrt_adapt_ndarray_to_python`` (how a compiled wrapper boxes each array it
    returns) with the array's Python class unpickled once per module, not once per array.

    Numba embeds the class (``numpy.ndarray``) pickled and unpickles it for every array it
    boxes. Its JIT keeps what it unpickled (``numba.core.serialize._numba_unpickle``); a
    ``numba.pycc`` module calls ``pickle.loads`` each time (``numba_unpickle`` in
    ``_helperlib.c`` built with ``PYCC_COMPILING``): about 0.5 us an array, 27 us of a
    ``market_solve`` call, which returns 57 arrays (measured against the JIT on a market of
    two countries: 64 against 36 us). Here the class is unpickled on the first call and
    kept in a module global (``PyObject *``, initially null): boxing runs with the GIL held,
    so no two threads fill it at once, and the reference it holds is never released (the
    class is ``numpy.ndarray``; ``NRT_adapt_ndarray_to_python_acqref`` only borrows it).
    The machine code of the kernels, and so every number, is unchanged."""
    from llvmlite import ir
    from numba.core import cgutils

    def cached(self: Any, aryty: Any, ary: Any, dtypeptr: Any) -> Any:
        builder = self.builder
        name = f".critmin.boxtype.{aryty.box_type.__module__}.{aryty.box_type.__qualname__}"
        try:
            slot = self.module.get_global(name)
        except KeyError:
            slot = ir.GlobalVariable(self.module, self.pyobj, name)
            slot.linkage = "internal"
            slot.initializer = ir.Constant(self.pyobj, None)
        with builder.if_then(cgutils.is_null(builder, builder.load(slot)), likely=False):
            builder.store(self.unserialize(self.serialize_object(aryty.box_type)), slot)
        original_unserialize = self.unserialize
        self.unserialize = lambda _structptr: builder.load(slot)
        try:
            return adapt(self, aryty, ary, dtypeptr)
        finally:
            self.unserialize = original_unserialize

    return cached


def c_compiler() -> str | None:
    """The C compiler Python's build configuration names, if it is on PATH."""
    cc = (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()
    return shutil.which(cc[0]) if cc else None


def build(directory: Path, key: str, *, verbose: bool = False) -> Path:
    """Compile the exports into ``directory`` (module and manifest named by ``key``), after a
    bit-for-bit comparison with the JIT; returns the module's path."""
    from numba.core.codegen import JITCPUCodegen

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pycc's deprecation notice: documented in docs
        from numba.pycc import CC

    representative_solves()
    exports = collect_exports()
    name = compiled.module_name(key)
    directory.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=directory, prefix=".build-") as tmp:
        cc = CC(name)
        cc.output_dir = tmp
        cc.target_cpu = "host"
        cc.verbose = verbose
        for e in exports:
            cc.export(e.symbol, e.signature)(e.py_func)
        with _as_the_jit_compiles():
            cc.compile()
        built = Path(tmp) / cc.output_file
        codegen = JITCPUCodegen("probe")
        manifest = {
            "format": compiled.FORMAT,
            "key": key,
            "cpu_name": codegen._get_host_cpu_name(),
            "cpu_features": codegen._get_host_cpu_features(),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "exports": [e.manifest() for e in exports],
            "constants": {
                c: compiled.jit_function(c)
                for c in (*compiled.CONSTANTS, *compiled.CHAIN_CONSTANTS)
            },
        }
        (Path(tmp) / f"{name}.json").write_text(json.dumps(manifest, indent=1))
        _check_against_jit(Path(tmp))
        for old in directory.glob(f"{compiled.MODULE_PREFIX}*"):
            old.unlink()
        target = directory / built.name
        os.replace(built, target)
        os.replace(Path(tmp) / f"{name}.json", directory / f"{name}.json")
    return target


def _check_against_jit(folder: Path) -> None:
    """Load the new build in a fresh process without Numba, solve the representative markets
    there and here (JIT), and require the same numbers bit for bit."""
    script = (
        "import sys, pickle\n"
        "from critmin.model import compiled\n"
        "assert compiled.USING_AOT, 'the new build did not load'\n"
        "from critmin.model.aot_build import check_solutions\n"
        "out = check_solutions()\n"
        "assert 'numba' not in sys.modules, 'numba was imported'\n"
        "sys.stdout.buffer.write(pickle.dumps(out))\n"
    )
    env = dict(os.environ, **{compiled.DIR_ENV: str(folder)})
    env.pop(compiled.JIT_ENV, None)
    proc = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"the AOT build does not run: {proc.stderr.decode()[-2000:]}")

    aot = pickle.loads(proc.stdout)
    jit = check_solutions()
    if len(aot) != len(jit):
        raise RuntimeError("the AOT build solved a different number of markets")
    for k, (a, j) in enumerate(zip(aot, jit, strict=True)):
        for field in a:
            if not np.array_equal(a[field], j[field], equal_nan=True):
                raise RuntimeError(f"the AOT build differs from Numba's JIT: market {k}, {field}")


def check_solutions() -> list[dict[str, Any]]:
    """Solutions of the markets of :func:`representative_solves` as plain arrays (what the
    build compares between AOT and JIT); imports nothing of Numba by itself."""
    from critmin.model.core import Market, Policy
    from critmin.model.solver import solve_batch

    out = []
    for n, seed in ((3, 1), (7, 2), (12, 3), (40, 4)):
        rng = np.random.default_rng(seed)
        V = rng.uniform(0.5, 2.0, (n, n)) * (rng.random((n, n)) < 0.6)
        np.fill_diagonal(V, rng.uniform(1.0, 3.0, n))
        m = Market(V=V, t0=np.full((n, n), 0.03), sigma=3.5, eta=0.4, eps=np.full(n, 1.2))
        t1 = np.where(np.arange(n)[:, None] < 2, 0.25, 0.03) * np.ones((n, n))
        policies = [
            Policy(t1=t1),
            Policy(levy_floor=np.full((n, n), 1.1), subsidy_floor=np.r_[1.05, np.zeros(n - 1)]),
            Policy(export_cap=np.r_[0.6, np.full(n - 1, np.inf)], demand_shift=np.full(n, 1.05)),
        ]
        # one thread: the exports themselves (on several threads a batch runs Numba's
        # dispatchers, which release the GIL: critmin.model.compiled.releasing_gil)
        for s in solve_batch([m] * len(policies), policies, threads=1):
            out.append(
                {
                    f: np.asarray(getattr(s, f))
                    for f in (
                        "pi",
                        "e",
                        "P",
                        "D",
                        "S",
                        "pi_s",
                        "exports",
                        "welfare",
                        "dCS",
                        "dPS",
                        "q",
                    )
                }
                | {"iterations": np.asarray(s.iterations), "residual": np.asarray(s.max_residual)}
            )
    out.append({f"draws_{k}": np.asarray(v) for k, v in enumerate(representative_draws())})
    from critmin.model.chain_solver import solve_chain

    for stages in small_chains():
        chain = solve_chain(stages)
        for st in chain.stages:
            out.append(
                {f: np.asarray(getattr(st, f)) for f in ("pi", "e", "P", "S", "q", "welfare")}
                | {"iterations": np.asarray(chain.iterations)}
            )
    return out


# --------------------------------------------------------------------------------------------
# 3. the command


def main(argv: list[str] | None = None) -> int:
    """Build the AOT kernels unless a current build exists (``--force``: rebuild anyway)."""
    parser = argparse.ArgumentParser(
        prog="python -m critmin.model.aot_build", description=__doc__.split("\n")[0]
    )
    parser.add_argument(
        "--force", action="store_true", help="rebuild even if a current build exists"
    )
    parser.add_argument("--verbose", action="store_true", help="show the C compiler's commands")
    args = parser.parse_args(argv)
    key = compiled.build_key()
    current = compiled.load_aot(compiled.aot_dir(), key)
    if current is not None and not args.force:
        print(f"aot_build: {current.path} is current")
        return 0
    if compiled.USING_AOT:
        # the representative solves must run through Numba's JIT: a fresh process that uses it
        env = dict(os.environ, **{compiled.JIT_ENV: "1"})
        return subprocess.call(
            [sys.executable, "-m", "critmin.model.aot_build", "--force", *(argv or sys.argv[1:])],
            env=env,
        )
    if c_compiler() is None:
        print(
            "aot_build: no C compiler found; the solver runs through Numba's JIT (about 0.4 s of CPU more per command)"
        )
        return 0
    try:
        import numba.pycc  # noqa: F401
    except ImportError:
        print("aot_build: this Numba has no numba.pycc; the solver runs through Numba's JIT")
        return 0
    from numba.core.errors import NumbaError
    from setuptools.errors import BaseError as DistutilsError

    start = time.perf_counter()
    try:
        target = build(compiled.aot_dir(), key, verbose=args.verbose)
    except (RuntimeError, OSError, NumbaError, DistutilsError) as err:
        # the JIT gives the same results: setup goes on, loudly
        print(f"aot_build: not built ({err}); the solver runs through Numba's JIT", file=sys.stderr)
        return 0
    print(
        f"aot_build: {target} built and checked against the JIT in {time.perf_counter() - start:.0f} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
