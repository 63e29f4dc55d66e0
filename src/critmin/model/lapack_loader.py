"""Load scipy's Cython BLAS/LAPACK modules without importing the ``scipy.linalg`` package.

Numba's compiled linear algebra (the solver's float32 LU, ``sgetrf``; the chain solver's
``dgetrf``; matrix products) calls the BLAS and LAPACK routines that
``scipy.linalg.cython_blas`` and ``scipy.linalg.cython_lapack`` export (their
``__pyx_capi__`` function pointers). Numba reaches them with ``import scipy.linalg.cython_blas``
(``numba.np.linalg.ensure_blas``, run when the first compiled function loads, even one
without linear algebra) and the same for LAPACK. A plain import of a submodule runs the
package's ``__init__`` first: all of ``scipy.linalg`` (decompositions, matrix functions),
scipy's array-API layer and ``numpy.f2py`` with it, about 0.2 s of CPU on the development VM,
for two modules whose own load takes 10 ms.

:func:`load_cython_lapack` loads the two extension modules from their files under their own
names, before Numba looks for them; Numba's imports then find them in ``sys.modules`` and
the package is not imported. The routines are the same (the same shared objects, the same
OpenBLAS), so every result is the same bit for bit. A later ``import scipy.linalg`` works as
usual and uses these very modules. Where anything is unusual (scipy.linalg already imported,
a scipy without the files), it does nothing and the ordinary import happens as before.
"""

from __future__ import annotations

import importlib.machinery
import importlib.util
import sys
from pathlib import Path

CYTHON_MODULES = ("scipy.linalg.cython_blas", "scipy.linalg.cython_lapack")


def load_cython_lapack() -> bool:
    """Put scipy's ``cython_blas`` and ``cython_lapack`` into ``sys.modules`` without the
    ``scipy.linalg`` package; True when both are there afterwards without it."""
    if "scipy.linalg" in sys.modules:
        return False  # the package is loaded: the ordinary import costs nothing more
    try:
        import scipy
    except ImportError:  # pragma: no cover - scipy is a dependency
        return False
    folder = str(Path(scipy.__file__).parent / "linalg")
    for name in CYTHON_MODULES:
        if name in sys.modules:
            continue
        # a search of that one folder: no parent package is imported
        spec = importlib.machinery.PathFinder.find_spec(name, [folder])
        if spec is None or spec.loader is None:
            return False
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        try:
            spec.loader.exec_module(module)
        except ImportError:  # pragma: no cover - then Numba's own import runs as before
            del sys.modules[name]
            return False
    return "scipy.linalg" not in sys.modules


load_cython_lapack()
