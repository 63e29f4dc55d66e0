"""Production chains and by-product relations, from ``data/curated/chains.csv`` and
``data/curated/byproducts.csv`` (a source per row).

A chain is one mineral's ordered steps (ore/concentrate -> intermediate -> refined -> product).
Each step holds one or more products (HS6 codes of ``products.csv``) at one stage of
:data:`critmin.catalog.STAGES`. The input coefficient of a step is the tonnes of the previous
step's element content bought per tonne of this step's element content (>= 1 with processing
losses; blank at step 1 and where the step's product is a by-product of the previous step's,
whose relation is then in ``byproducts.csv``). A by-product's recovery share is the tonnes of
the by-product's element recovered per tonne of its host product's content (today's recovery).

Both files are validated on load: an unknown product id or stage, a non-finite or negative
number, a missing source, or steps that are not 1, 2, ... in order raise
:class:`~critmin.errors.DataIntegrityError` naming the file and row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cache

from critmin.errors import DataIntegrityError

__all__ = ["ByProduct", "Chain", "ChainStep", "byproducts", "chains"]


@dataclass(frozen=True)
class ChainStep:
    """One step of a chain: its products and what it buys from the step before."""

    step: int
    stage: str
    product_ids: tuple[str, ...]
    input_coefficient: float | None
    source: str


@dataclass(frozen=True)
class Chain:
    """A mineral's production chain, steps in order (``steps[0].step == 1``)."""

    id: str
    mineral: str
    steps: tuple[ChainStep, ...]

    @property
    def product_ids(self) -> tuple[str, ...]:
        return tuple(p for s in self.steps for p in s.product_ids)


@dataclass(frozen=True)
class ByProduct:
    """A product recovered from a host product: ``recovery_share`` t per t of host content."""

    product_id: str
    host_product_id: str
    recovery_share: float
    source: str


def _where(file: str, line: int) -> str:
    # line numbers as a spreadsheet shows them: the header is line 1
    return f"{file} row {line}"


def _number(text: str, where: str, field: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        raise DataIntegrityError(f"{where}: {field} {text!r} is not a number") from None
    if not math.isfinite(value) or value < 0:
        raise DataIntegrityError(f"{where}: {field} {text!r} must be a finite number >= 0")
    return value


def _known_products() -> dict[str, str]:
    from critmin.catalog import read_curated

    return {r["product_id"]: r["stage"] for r in read_curated("products")}


@cache
def byproducts() -> list[ByProduct]:
    """The by-product relations of ``byproducts.csv``, validated."""
    from critmin.catalog import read_curated

    known = _known_products()
    out: list[ByProduct] = []
    for line, row in enumerate(read_curated("byproducts"), start=2):
        where = _where("byproducts.csv", line)
        for field in ("product_id", "host_product_id"):
            if row.get(field, "") not in known:
                raise DataIntegrityError(f"{where}: unknown {field} {row.get(field)!r}")
        share = _number(row.get("recovery_share", ""), where, "recovery_share")
        if share is None or share <= 0:
            raise DataIntegrityError(f"{where}: recovery_share must be a number > 0")
        if not row.get("source", "").strip() or not row.get("recovery_basis", "").strip():
            raise DataIntegrityError(f"{where}: recovery_basis and source are required")
        out.append(ByProduct(row["product_id"], row["host_product_id"], share, row["source"]))
    return out


@cache
def chains() -> dict[str, Chain]:
    """The chains of ``chains.csv`` by id, each with its steps in order, validated."""
    from critmin.catalog import STAGES, read_curated

    known = _known_products()
    hosts = {(b.product_id, b.host_product_id) for b in byproducts()}
    grouped: dict[str, dict[int, list[tuple[int, dict[str, str]]]]] = {}
    minerals: dict[str, str] = {}
    for line, row in enumerate(read_curated("chains"), start=2):
        where = _where("chains.csv", line)
        chain, pid, stage = row.get("chain", ""), row.get("product_id", ""), row.get("stage", "")
        if not chain:
            raise DataIntegrityError(f"{where}: chain is blank")
        if pid not in known:
            raise DataIntegrityError(f"{where}: unknown product_id {pid!r} (not in products.csv)")
        if stage not in STAGES:
            raise DataIntegrityError(f"{where}: unknown stage {stage!r}; stages: {list(STAGES)}")
        if not row.get("source", "").strip():
            raise DataIntegrityError(f"{where}: source is blank")
        try:
            step = int(row.get("step", ""))
        except ValueError:
            raise DataIntegrityError(
                f"{where}: step {row.get('step')!r} is not an integer"
            ) from None
        if minerals.setdefault(chain, row.get("mineral", "")) != row.get("mineral", ""):
            raise DataIntegrityError(f"{where}: chain {chain!r} names two minerals")
        grouped.setdefault(chain, {}).setdefault(step, []).append((line, row))
    return {
        chain: Chain(chain, minerals[chain], _steps(chain, by_step, hosts))
        for chain, by_step in grouped.items()
    }


def _steps(
    chain: str,
    by_step: dict[int, list[tuple[int, dict[str, str]]]],
    hosts: set[tuple[str, str]],
) -> tuple[ChainStep, ...]:
    numbers = sorted(by_step)
    if numbers != list(range(1, len(numbers) + 1)):
        raise DataIntegrityError(f"chains.csv: chain {chain!r} has steps {numbers}, not 1, 2, ...")
    steps: list[ChainStep] = []
    for n in numbers:
        rows = by_step[n]
        first_line = rows[0][0]
        stages = {r["stage"] for _, r in rows}
        if len(stages) > 1:
            raise DataIntegrityError(
                f"{_where('chains.csv', first_line)}: chain {chain!r} step {n} mixes stages "
                f"{sorted(stages)}"
            )
        coefs = {
            _number(r.get("input_coefficient", ""), _where("chains.csv", line), "input_coefficient")
            for line, r in rows
        }
        if len(coefs) > 1:
            raise DataIntegrityError(
                f"{_where('chains.csv', first_line)}: chain {chain!r} step {n} gives different "
                f"input coefficients {sorted(c or 0.0 for c in coefs)}"
            )
        coef = coefs.pop()
        pids = tuple(r["product_id"] for _, r in rows)
        if n == 1 and coef is not None:
            raise DataIntegrityError(
                f"{_where('chains.csv', first_line)}: step 1 of chain {chain!r} buys nothing: "
                "leave input_coefficient blank"
            )
        if n > 1 and coef is None:
            previous = steps[-1].product_ids
            if not all(any((p, h) in hosts for h in previous) for p in pids):
                raise DataIntegrityError(
                    f"{_where('chains.csv', first_line)}: chain {chain!r} step {n} has no "
                    "input_coefficient and its products are not by-products of step "
                    f"{n - 1} in byproducts.csv"
                )
        if coef is not None and coef < 1:
            raise DataIntegrityError(
                f"{_where('chains.csv', first_line)}: input_coefficient {coef} < 1 would create "
                "material (tonnes of input content per tonne of output content)"
            )
        sources = "; ".join(dict.fromkeys(r["source"] for _, r in rows))
        steps.append(ChainStep(n, stages.pop(), pids, coef, sources))
    return tuple(steps)
