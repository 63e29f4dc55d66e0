"""Sampling of the Monte Carlo draws: relative parameter ranges and counter-based uniforms.

See the package docstring (:mod:`critmin.uncertainty`) for the distributions and why every
draw reads its own, fixed positions of its random streams.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from numpy.random import PCG64, Generator, SeedSequence

from critmin.errors import DataIntegrityError
from critmin.scenario import UncertaintySettings

if TYPE_CHECKING:
    from critmin.world import World

PARAMETERS = ("sigma", "demand_elasticity", "supply_elasticity")


@dataclass(frozen=True)
class ParameterRange:
    """The range a parameter is drawn from, relative to its point value.

    ``relative_low``/``relative_high`` bound the multiplier ``r`` (mode 1); for sigma ``r``
    scales ``sigma - 1``. ``low``/``mode``/``high`` are the implied absolute values (for the
    supply elasticity: of the market's median ``eps``).
    """

    parameter: str
    distribution: str
    relative_low: float
    relative_high: float
    mode: float
    low: float
    high: float
    source: str

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def triangular_ppf(u: np.ndarray, low: float, mode: float, high: float) -> np.ndarray:
    """Inverse CDF of Triangular(low, mode, high) at ``u`` in [0, 1).

    ``F(c) = (c - a)/(b - a)``; ``x = a + sqrt(u (b - a)(c - a))`` for ``u < F(c)``, else
    ``x = b - sqrt((1 - u)(b - a)(b - c))``. A zero-width range returns ``mode`` exactly.
    """
    u = np.asarray(u, dtype=np.float64)
    if high == low:
        return np.full(u.shape, float(mode))
    width = high - low
    fc = (mode - low) / width
    left = low + np.sqrt(u * width * (mode - low))
    right = high - np.sqrt((1.0 - u) * width * (high - mode))
    return np.where(u < fc, left, right)


def multiplier(u: np.ndarray, rng: ParameterRange) -> np.ndarray:
    """The relative factor ``r`` of a parameter for uniforms ``u`` (exactly 1 for zero width)."""
    lo, hi = rng.relative_low, rng.relative_high
    if lo == hi:
        return np.full(np.shape(u), 1.0) if lo == 1.0 else np.full(np.shape(u), lo)
    if rng.distribution == "uniform":
        return np.asarray(lo + np.asarray(u) * (hi - lo), dtype=np.float64)
    return triangular_ppf(u, lo, 1.0, hi)


def _apply(parameter: str, point: float, r: np.ndarray) -> np.ndarray:
    if parameter == "sigma":
        return np.where(r == 1.0, point, 1.0 + (point - 1.0) * r)
    return np.where(r == 1.0, point, point * r)


def _key(text: str) -> int:
    """A stable integer for a product id or country code (part of a SeedSequence spawn key)."""
    return int.from_bytes(text.encode("utf-8"), "big")


def draw_uniforms(seed: int, key: tuple[int, ...], start: int, stop: int, width: int) -> np.ndarray:
    """Uniforms ``(stop - start, width)`` for draws ``start..stop-1`` of the stream ``key``.

    Draw ``d`` always reads positions ``[d * width, (d + 1) * width)`` of the stream
    ``PCG64(SeedSequence(seed, spawn_key=key))`` (``advance`` skips the earlier draws), so the
    numbers do not depend on how draws are cut into chunks.
    """
    bg = PCG64(SeedSequence(seed, spawn_key=key))
    if start:
        bg.advance(start * width)
    return Generator(bg).random((stop - start, width))


def cited_range(world: World, product_class: str, parameter: str) -> dict[str, Any]:
    """The elasticities-table row for a class and parameter (``metal`` when the class has none)."""
    row = world.elasticity_row(product_class, parameter)
    if row is None:
        raise DataIntegrityError(f"the elasticities table has no row for {parameter}")
    return dict(row)


def parameter_ranges(
    world: World, product_class: str, point: dict[str, float], settings: UncertaintySettings
) -> tuple[ParameterRange, ...]:
    """Relative ranges of sigma, eta and eps for one product (table, or the scenario's)."""
    out = []
    for name in PARAMETERS:
        row = cited_range(world, product_class, name)
        low, default, high = float(row["low"]), float(row["default"]), float(row["high"])
        dist = str(row["distribution"]).strip().lower()
        if dist not in {"triangular", "uniform"}:
            raise DataIntegrityError(
                f"elasticities table: distribution {dist!r} for {product_class}/{name} is not "
                "supported (triangular or uniform)"
            )
        if not low <= default <= high:
            raise DataIntegrityError(
                f"elasticities table: {product_class}/{name} needs low <= default <= high"
            )
        source = str(row["source"])
        if name == "sigma":
            if low <= 1.0:
                raise DataIntegrityError(
                    f"elasticities table: the sigma range of {product_class} must stay above 1"
                )
            rlo, rhi = (low - 1.0) / (default - 1.0), (high - 1.0) / (default - 1.0)
        elif default > 0:
            rlo, rhi = low / default, high / default
        else:
            rlo = rhi = 1.0
        if name in settings.ranges:
            rlo, rhi = settings.ranges[name]
            dist, source = "triangular", "scenario [uncertainty] ranges"
        if name in settings.fixed:
            rlo = rhi = 1.0
            source = "fixed by the scenario ([uncertainty] fixed)"
        p = point[name]
        lo_abs = float(_apply(name, p, np.array(rlo)))
        hi_abs = float(_apply(name, p, np.array(rhi)))
        out.append(ParameterRange(name, dist, rlo, rhi, p, lo_abs, hi_abs, source))
    return tuple(out)
