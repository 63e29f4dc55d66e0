"""Validation of the model's input arrays: one clear :class:`ModelInputError` per problem.

Every array the model reads is copied into a read-only, C-ordered float64 (or bool) array of
the expected shape, with NaN and (unless allowed) infinities refused, so that the compiled
loops of :mod:`critmin.model.kernels` never see a bad value.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from numpy.typing import NDArray

from critmin.errors import CritminError

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

__all__ = ["ModelInputError"]


class ModelInputError(CritminError):
    """Model arrays or parameters that are invalid (wrong shape, NaN, sigma <= 1, ...)."""


def _float_array(
    value: Any,
    name: str,
    *,
    shape: tuple[int, ...] | None = None,
    ndim: int | None = None,
    allow_inf: bool = False,
) -> FloatArray:
    """Copy ``value`` into a read-only float64 array, checking shape and finiteness."""
    if getattr(value, "dtype", None) is not None and np.dtype(value.dtype).kind == "c":
        # numpy would drop the imaginary parts with a ComplexWarning
        raise ModelInputError(f"{name}: expected an array of real numbers, got complex numbers")
    try:
        arr = np.array(value, dtype=np.float64, order="C")  # the compiled loops read rows
    except (TypeError, ValueError) as exc:
        raise ModelInputError(f"{name}: expected an array of numbers ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ModelInputError(f"{name}: expected a {ndim}-dimensional array, got shape {arr.shape}")
    if shape is not None and arr.shape != shape:
        raise ModelInputError(f"{name}: expected shape {shape}, got {arr.shape}")
    if np.isnan(arr).any():
        raise ModelInputError(f"{name}: contains NaN; every entry must be a number")
    if not allow_inf and np.isinf(arr).any():
        raise ModelInputError(f"{name}: contains an infinite value; every entry must be finite")
    arr.flags.writeable = False
    return arr


def _frozen(arr: NDArray[Any]) -> NDArray[Any]:
    """``arr``, made read-only."""
    arr.flags.writeable = False
    return arr


def _scalar(value: Any, name: str) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ModelInputError(f"{name}: expected a number, got {value!r}") from None
    if not np.isfinite(out):
        raise ModelInputError(f"{name}: expected a finite number, got {out}")
    return out


def _bool_array(value: Any, name: str, *, ndim: int) -> BoolArray:
    arr = np.asarray(value)
    if arr.ndim != ndim:
        raise ModelInputError(f"{name}: expected a {ndim}-dimensional array, got shape {arr.shape}")
    if arr.dtype != np.bool_:
        try:
            num = arr.astype(np.float64)
        except (TypeError, ValueError):
            raise ModelInputError(f"{name}: expected booleans (or 0/1)") from None
        if not np.isin(num, (0.0, 1.0)).all():
            raise ModelInputError(f"{name}: expected booleans (or 0/1), found other values")
        arr = num.astype(np.bool_)
    out = np.array(arr, dtype=np.bool_, order="C")
    out.flags.writeable = False
    return out
