"""The solver's compiled kernels: an ahead-of-time build when a current one exists, else Numba.

The rest of the model (:mod:`critmin.model.core`, :mod:`critmin.model.solver`,
:mod:`critmin.model.welfare`) takes the kernels it calls from here, never from
:mod:`critmin.model.kernels` directly. Two sources give the same callables:

* **Ahead of time** (AOT): ``python -m critmin.model.aot_build`` (run by ``make setup``)
  compiles the entry points below (those of :mod:`critmin.model.kernels`, of Monte Carlo
  draws among them, and of :mod:`critmin.model.chain_kernels` for linked chains) with
  ``numba.pycc`` into a C extension module, with the CPU name and features Numba's JIT uses
  on this machine, so the machine code computes the same numbers bit for bit. Loading it
  takes about a millisecond and does not import Numba (Numba's import and its cache cost
  about 0.4 s of CPU per process). The module's name
  carries a hash of the kernels' source, of this file and the builder, of the Numba,
  llvmlite, NumPy and Python versions and of the CPU (:func:`build_key`): a build for other
  kernels, another machine or another Numba is never loaded.
* **Just in time** (JIT): the Numba dispatchers of :mod:`critmin.model.kernels` (compiled
  once per machine into Numba's cache). Used when there is no current AOT build, when
  ``CRITMIN_JIT=1`` is set, and, call by call, for argument types the AOT build has no
  export for (its exports are the argument types a representative solve used when it was
  built; a debug-level log line names any other, which then runs through Numba).

An AOT export is called only when the arguments' types match its signature exactly (dtype,
dimensions, memory layout, read-only flag: what ``numba.typeof`` distinguishes,
:func:`type_key`), so both sources run the same compiled code on the same types. Named
tuples cross the C boundary as plain tuples and are rebuilt here with the kernels' own
classes (:mod:`critmin.model.kernel_tuples`, which imports no Numba).

``numba.pycc`` is deprecated upstream (Numba plans to replace it); Numba 0.68 still ships it.
Without it, or without a C compiler, everything runs through the JIT as before.
"""

from __future__ import annotations

import hashlib
import importlib.machinery
import importlib.util
import json
import logging
import os
import platform
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.typing import NDArray

from critmin.model import kernel_tuples
from critmin.model.kernel_tuples import EvalBuf, Levels, StackArrays
from critmin.model.lapack_loader import load_cython_lapack

log = logging.getLogger(__name__)

FORMAT = 1
"""Version of the build's layout and manifest (part of :func:`build_key`)."""
JIT_ENV = "CRITMIN_JIT"
"""``CRITMIN_JIT=1`` makes every kernel run through Numba's JIT, even with a current build."""
DIR_ENV = "CRITMIN_AOT_DIR"
"""Where the AOT build lives (default: ``_aot/`` next to this file, ignored by git)."""
MODULE_PREFIX = "kernels_aot_"

ENTRY_POINTS = (
    "alloc_eval",
    "buyer_revenue",
    "consumer_surplus_change",
    "evaluate_batch",
    "jacobian_batch",
    "levels_batch",
    "market_fill",
    "market_sizes",
    "market_solve",
    "newton_batch",
    "newton_markets",
    "newton_system_batch",
    "outputs_at",
    "producer_surplus_change",
    "solve_draws",
    "solve_step",
)
"""The kernels the model calls from Python (the AOT build's exports; ``newton_markets`` only
for batches, :mod:`critmin.model.threads`; ``solve_draws`` and ``outputs_at`` for Monte Carlo
draws, :mod:`critmin.uncertainty.tasks`)."""
CHAIN_ENTRY_POINTS = ("newton_chain_flat", "stage_pairs")
"""The kernels of linked chains the model calls from Python (:mod:`critmin.model.chain_kernels`:
:mod:`critmin.model.chain` and :mod:`critmin.model.chain_solver`), exported by the same build.
Under Numba's JIT they load on first use (:func:`__getattr__`): a process that builds no
chain neither imports them nor loads their cache."""
TUPLES = ("ChainArrays", "ChainEval", "EvalBuf", "Levels", "StackArrays")
"""The kernels' named tuples (:mod:`critmin.model.kernel_tuples`, without Numba)."""
CONSTANTS = ("DRAW_OUTPUTS", "LINE_SEARCH_FAILED", "MAX_STEP_LIMIT")
"""The kernels' constants the model reads (values recorded in the manifest)."""
CHAIN_CONSTANTS = ("AT_ROUNDING", "LINK_BYPRODUCT", "LINK_INPUT", "LINK_NONE", "ROUNDING_RESIDUAL")
"""The chain kernels' constants the model reads (values recorded in the manifest)."""
_CHAIN_NAMES = frozenset((*CHAIN_ENTRY_POINTS, *CHAIN_CONSTANTS))
"""What :mod:`critmin.model.chain_kernels` provides (the rest: :mod:`critmin.model.kernels`)."""
SOURCES = ("kernels.py", "chain_kernels.py", "kernel_tuples.py", "compiled.py", "aot_build.py")
"""Files of this package whose bytes enter :func:`build_key`."""

HERE = Path(__file__).resolve().parent

__all__ = [
    "AOT_PATH",
    "AT_ROUNDING",
    "CHAIN_CONSTANTS",
    "CHAIN_ENTRY_POINTS",
    "CONSTANTS",
    "DRAW_OUTPUTS",
    "ENTRY_POINTS",
    "LINE_SEARCH_FAILED",
    "LINK_BYPRODUCT",
    "LINK_INPUT",
    "LINK_NONE",
    "MAX_STEP_LIMIT",
    "ROUNDING_RESIDUAL",
    "TUPLES",
    "USING_AOT",
    "AotKernels",
    "EvalBuf",
    "Levels",
    "StackArrays",
    "alloc_eval",
    "aot_dir",
    "build_key",
    "buyer_revenue",
    "consumer_surplus_change",
    "cpu_identity",
    "evaluate_batch",
    "jacobian_batch",
    "jit_function",
    "levels_batch",
    "load_aot",
    "market_fill",
    "market_sizes",
    "market_solve",
    "newton_batch",
    "newton_chain_flat",
    "newton_markets",
    "newton_system_batch",
    "outputs_at",
    "producer_surplus_change",
    "releasing_gil",
    "solve_draws",
    "solve_step",
    "stage_pairs",
    "tuple_classes",
    "type_key",
]


# --------------------------------------------------------------------------------------------
# identity of a build


def cpu_identity() -> str:
    """The CPU as the build sees it: model name and feature flags of the first processor in
    ``/proc/cpuinfo`` (Linux), else the platform's machine and processor names."""
    try:
        text = Path("/proc/cpuinfo").read_text(errors="replace")
    except OSError:
        text = ""
    wanted = ("vendor_id", "model name", "flags", "Features", "CPU part")
    lines: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            if lines:
                break  # the first processor only
            continue
        key = line.split(":", 1)[0].strip()
        if key in wanted:
            lines.append(line.strip())
    if not lines:
        lines = [platform.machine(), platform.processor()]
    return "\n".join(lines)


def _package_version_file(package: str) -> bytes:
    """The bytes of ``package/_version.py`` (found without importing the package)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return f"{package}: absent".encode()
    path = Path(next(iter(spec.submodule_search_locations))) / "_version.py"
    try:
        return path.read_bytes()
    except OSError:
        return f"{package}: {path} unreadable".encode()


def build_key() -> str:
    """SHA-256 of what makes a build valid: :data:`FORMAT`, the bytes of :data:`SOURCES`,
    Numba's and llvmlite's version files, NumPy's and Python's versions and
    :func:`cpu_identity`. A build is used only where its key equals this."""
    h = hashlib.sha256()
    h.update(f"critmin aot format {FORMAT}\n".encode())
    for name in SOURCES:
        h.update(name.encode())
        h.update((HERE / name).read_bytes())
    for package in ("numba", "llvmlite"):
        h.update(_package_version_file(package))
    h.update(f"numpy {np.__version__}\npython {sys.version}\n".encode())
    h.update(cpu_identity().encode())
    return h.hexdigest()


def aot_dir() -> Path:
    """The folder of the AOT build: ``$CRITMIN_AOT_DIR``, else ``_aot/`` next to this file."""
    return Path(os.environ.get(DIR_ENV) or HERE / "_aot")


def module_name(key: str) -> str:
    """The extension module's name for build key ``key``."""
    return MODULE_PREFIX + key[:20]


# --------------------------------------------------------------------------------------------
# argument types


_ARRAY_KEYS: dict[tuple[np.dtype[Any], int, int], str] = {}
""":func:`type_key` of arrays by ``(dtype, ndim, flags.num)``: NumPy computes ``dtype.name``
in Python (about 3 us) and a solve checks some 90 arrays."""


def _array_type_key(value: NDArray[Any]) -> str:
    """:func:`type_key` of one array, computed."""
    flags = value.flags
    layout = "C" if flags.c_contiguous else "F" if flags.f_contiguous else "A"
    readonly = "" if flags.writeable else "r"
    unaligned = "" if flags.aligned else "u"
    return f"{value.dtype.name}[{value.ndim}{layout}{readonly}{unaligned}]"


def type_key(value: Any) -> str:
    """The type of ``value`` as ``numba.typeof`` distinguishes it, as a string: arrays by
    dtype, dimensions, layout (``C`` if C-contiguous, else ``F`` if Fortran-contiguous, else
    ``A``), read-only (``r``) and unaligned (``u``); bools, 64-bit ints and floats; tuples
    element by element, named tuples with their class name. :mod:`critmin.model.aot_build`
    computes the same string from Numba's types."""
    if isinstance(value, np.ndarray):
        # remembered by dtype, dimensions and the flags' bit mask (a solve checks ~90 arrays)
        key = (value.dtype, value.ndim, value.flags.num)
        text = _ARRAY_KEYS.get(key)
        if text is None:
            text = _ARRAY_KEYS[key] = _array_type_key(value)
        return text
    if isinstance(value, bool | np.bool_):
        return "bool"
    if isinstance(value, int):
        return "int64" if -(2**63) <= value < 2**63 else "int?"
    if isinstance(value, float):
        return "float64"
    if isinstance(value, np.generic):
        return value.dtype.name
    if isinstance(value, tuple):
        inner = ",".join([type_key(v) for v in value])
        return f"{type(value).__name__}({inner})" if hasattr(value, "_fields") else f"({inner})"
    return f"?{type(value).__qualname__}"


# --------------------------------------------------------------------------------------------
# the two sources


def _jit_kernels() -> ModuleType:
    """:mod:`critmin.model.kernels` (imports Numba; its dispatchers load from Numba's cache)."""
    from critmin.model import kernels

    return kernels


def _jit_chain_kernels() -> ModuleType:
    """:mod:`critmin.model.chain_kernels` (imports Numba, as :func:`_jit_kernels`)."""
    from critmin.model import chain_kernels

    return chain_kernels


def jit_function(name: str) -> Any:
    """Entry point or constant ``name`` from Numba's JIT: :mod:`critmin.model.kernels`, or
    :mod:`critmin.model.chain_kernels` for those of chains (imports Numba)."""
    if name in _CHAIN_NAMES:
        return getattr(_jit_chain_kernels(), name)
    return getattr(_jit_kernels(), name)


def releasing_gil(name: str) -> Callable[..., Any]:
    """Entry point ``name`` as Numba's dispatcher, which releases the GIL while it runs
    (``nogil=True``): for callers that run kernels on several threads at once
    (:mod:`critmin.model.threads`). The AOT build's exports release the GIL too, but on two
    threads Numba's dispatchers were faster (bench_solver's case (d): 85-99x through the
    exports against 101-108x, 6 December 2026: the exports' argument checks run in Python,
    under the GIL). The same numbers as the AOT export (the build is checked against the
    JIT); imports Numba on first use."""
    if name not in ENTRY_POINTS:
        raise KeyError(f"{name} is not an entry point of critmin.model.compiled")
    return getattr(_jit_kernels(), name)


_ARRAY = np.ndarray
_INT64 = range(-(2**63), 2**63)


def _leaf_signature(value: Any) -> Any:
    """A hashable stand-in for :func:`type_key` of one value that is cheap to read: arrays by
    ``(dtype, ndim, flags bit mask)`` (the mask holds the layout, read-only and alignment
    bits), tuples item by item with their class, scalars by type (ints with whether they fit
    64 bits). Equal signatures have equal :func:`type_key` (the converse need not hold)."""
    kind = type(value)
    if kind is _ARRAY:
        return (value.dtype, value.ndim, value.flags.num)
    if kind is float or kind is bool:
        return kind
    if kind is int:
        return (kind, value in _INT64)
    if isinstance(value, tuple):
        return (kind, *[_leaf_signature(v) for v in value])
    return (kind, type_key(value))  # NumPy scalars, array subclasses, anything else


def _signature(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """:func:`_leaf_signature` of a call's arguments: arrays and named tuples of arrays
    inline (the common case), the rest through :func:`_leaf_signature`."""
    out: list[Any] = []
    for value in args:
        kind = type(value)
        if kind is _ARRAY:
            out.append((value.dtype, value.ndim, value.flags.num))
        elif kind is float or kind is bool:
            out.append(kind)
        elif kind in _NAMED_ARRAYS:
            out.append(
                (
                    kind,
                    *[
                        (v.dtype, v.ndim, v.flags.num) if type(v) is _ARRAY else _leaf_signature(v)
                        for v in value
                    ],
                )
            )
        else:
            out.append(_leaf_signature(value))
    return tuple(out)


_NAMED_ARRAYS = frozenset({EvalBuf, Levels, StackArrays})
"""The kernels' named tuples (of arrays, mostly): signed inline by :func:`_signature`."""


def _builder(spec: Any, classes: dict[str, type]) -> Callable[[tuple[Any, ...]], Any] | None:
    """A function that rebuilds the nested return value of an AOT export from the flat tuple
    it returns (``spec`` as in the manifest: ``"x"`` for a leaf, else ``[class name or "",
    [item specs]]``), or None when the value is returned as it is."""
    if spec is None:
        return None

    def count(sp: Any) -> int:
        return 1 if sp == "x" else sum(count(i) for i in sp[1])

    def part(sp: Any, start: int) -> Callable[[tuple[Any, ...]], Any]:
        if sp == "x":
            return lambda flat: flat[start]
        name, items = sp
        make = classes[name]._make if name else tuple  # type: ignore[attr-defined]
        stop = start + count(sp)
        if all(i == "x" for i in items):  # a tuple of leaves: one slice
            return lambda flat: make(flat[start:stop])
        parts = []
        pos = start
        for item in items:
            parts.append(part(item, pos))
            pos += count(item)
        return lambda flat: make([p(flat) for p in parts])

    return part(spec, 0)


class _AotFunction:
    """One kernel from the AOT module: the export whose argument types match, else Numba.

    The match is remembered by the arguments' :func:`_signature` (a few attribute reads per
    array), so :func:`type_key` and its strings are computed once per distinct structure.
    """

    __slots__ = ("__name__", "classes", "exports", "known")

    def __init__(
        self,
        name: str,
        exports: dict[str, tuple[Callable[..., Any], Any]],
        classes: dict[str, type],
    ) -> None:
        self.__name__ = name
        self.exports = {
            key: (function, _builder(spec, classes)) for key, (function, spec) in exports.items()
        }
        self.classes = classes
        self.known: dict[tuple[Any, ...], tuple[Callable[..., Any], Any] | None] = {}

    def export_for(self, args: tuple[Any, ...]) -> tuple[Callable[..., Any], Any] | None:
        """The export (function and rebuilder) for these arguments' types, or None."""
        signature = _signature(args)
        try:
            return self.known[signature]
        except KeyError:
            pass
        key = type_key(args)
        hit = self.exports.get(key)
        if hit is None:
            log.debug(
                "AOT kernels: no %s export for argument types %s; using Numba", self.__name__, key
            )
        if len(self.known) < 256:  # bounded: signatures are few in practice
            self.known[signature] = hit
        return hit

    def __call__(self, *args: Any) -> Any:
        hit = self.export_for(args)
        if hit is None:
            return jit_function(self.__name__)(*args)
        function, rebuild = hit
        out = function(*args)
        return out if rebuild is None else rebuild(out)

    def __repr__(self) -> str:
        return f"<AOT kernel {self.__name__}: {len(self.exports)} signature(s)>"


def tuple_classes() -> dict[str, type]:
    """The named-tuple classes of :mod:`critmin.model.kernel_tuples`, by name: the ones an
    AOT export may return (the build leaves kernels returning any other to Numba)."""
    return {
        name: obj
        for name, obj in vars(kernel_tuples).items()
        if isinstance(obj, type)
        and issubclass(obj, tuple)
        and obj.__module__ == kernel_tuples.__name__
    }


def _returned_classes(spec: Any) -> set[str]:
    """Class names in a return spec of the manifest (see :func:`_builder`)."""
    if spec is None or spec == "x":
        return set()
    name, items = spec
    return {name} - {""} | set().union(*(_returned_classes(i) for i in items))


class AotKernels:
    """A loaded AOT build: its module, manifest, named-tuple classes and functions."""

    def __init__(self, module: ModuleType, manifest: dict[str, Any], path: Path) -> None:
        self.module = module
        self.manifest = manifest
        self.path = path
        self.classes = tuple_classes()
        self.functions: dict[str, _AotFunction] = {}
        for name in (*ENTRY_POINTS, *CHAIN_ENTRY_POINTS):
            exports = {
                e["key"]: (getattr(module, e["symbol"]), e["returns"])
                for e in manifest["exports"]
                if e["function"] == name
            }
            self.functions[name] = _AotFunction(name, exports, self.classes)

    def names(self) -> dict[str, Any]:
        """The bindings this module publishes: functions, named-tuple classes, constants."""
        out: dict[str, Any] = dict(self.functions)
        out.update(self.manifest["constants"])
        return out


def load_aot(directory: Path, key: str) -> AotKernels | None:
    """The AOT build for ``key`` in ``directory``, or None (with a debug-level note saying
    why) when there is none, it is for other kernels or it does not load."""
    name = module_name(key)
    manifest_path = directory / f"{name}.json"
    if not manifest_path.is_file():
        others = sorted(p.name for p in directory.glob(f"{MODULE_PREFIX}*.json"))
        if others:
            log.debug(
                "AOT kernels: %s is for other kernels or another machine (%s); using Numba",
                directory,
                ", ".join(others),
            )
        else:
            log.debug("AOT kernels: no build in %s; using Numba", directory)
        return None
    try:
        manifest = json.loads(manifest_path.read_text())
    except (OSError, ValueError) as err:
        log.debug("AOT kernels: unreadable manifest %s (%s); using Numba", manifest_path, err)
        return None
    missing = [n for n in (*CONSTANTS, *CHAIN_CONSTANTS) if n not in manifest.get("constants", {})]
    missing += [
        c
        for e in manifest.get("exports", [])
        for c in _returned_classes(e.get("returns"))
        if c not in tuple_classes()
    ]
    if manifest.get("key") != key or manifest.get("format") != FORMAT or missing:
        log.debug("AOT kernels: %s does not match these kernels; using Numba", manifest_path)
        return None
    path = next(
        (
            directory / (name + suffix)
            for suffix in importlib.machinery.EXTENSION_SUFFIXES
            if (directory / (name + suffix)).is_file()
        ),
        None,
    )
    if path is None:
        log.debug("AOT kernels: manifest %s without its module; using Numba", manifest_path)
        return None
    load_cython_lapack()  # the module's LAPACK calls go to scipy's, without scipy.linalg
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:  # pragma: no cover - a file path always has one
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except (ImportError, OSError) as err:
        log.debug("AOT kernels: %s does not load (%s); using Numba", path, err)
        return None
    absent = [e["symbol"] for e in manifest["exports"] if not hasattr(module, e["symbol"])]
    if absent:
        log.debug("AOT kernels: %s lacks %s; using Numba", path, ", ".join(absent))
        return None
    return AotKernels(module, manifest, path)


def _select() -> tuple[AotKernels | None, dict[str, Any]]:
    """The AOT build when it is current and not switched off, else the JIT kernels."""
    aot = None
    if os.environ.get(JIT_ENV, "").strip() in ("", "0"):
        aot = load_aot(aot_dir(), build_key())
    else:
        log.debug("AOT kernels: %s is set; using Numba", JIT_ENV)
    if aot is not None:
        return aot, aot.names()
    kernels = _jit_kernels()
    return None, {name: getattr(kernels, name) for name in (*ENTRY_POINTS, *CONSTANTS)}


if TYPE_CHECKING:
    from critmin.model.chain_kernels import (
        AT_ROUNDING,
        LINK_BYPRODUCT,
        LINK_INPUT,
        LINK_NONE,
        ROUNDING_RESIDUAL,
        newton_chain_flat,
        stage_pairs,
    )
    from critmin.model.kernels import (
        DRAW_OUTPUTS,
        LINE_SEARCH_FAILED,
        MAX_STEP_LIMIT,
        alloc_eval,
        buyer_revenue,
        consumer_surplus_change,
        evaluate_batch,
        jacobian_batch,
        levels_batch,
        market_fill,
        market_sizes,
        market_solve,
        newton_batch,
        newton_markets,
        newton_system_batch,
        outputs_at,
        producer_surplus_change,
        solve_draws,
        solve_step,
    )

_AOT, _BINDINGS = _select()
globals().update(_BINDINGS)


def __getattr__(name: str) -> Any:
    """The chain kernels and their constants under Numba's JIT, loaded on first use (PEP 562;
    with the AOT build they are bound above, from the build)."""
    if name in _CHAIN_NAMES:
        value = jit_function(name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


USING_AOT: bool = _AOT is not None
"""True when the kernels come from the AOT build."""
AOT_PATH: Path | None = None if _AOT is None else _AOT.path
"""The AOT module's file, when it is used."""
