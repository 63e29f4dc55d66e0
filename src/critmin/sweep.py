"""Parameter sweeps: run one scenario parameter over a range and collect the key figures.

``run_sweep(scenario, "policy[0].price_usd_per_t", values_between(10_000, 20_000, 11))`` edits
the scenario (a file, dict or Scenario) at that path for each value, simulates it with
:func:`critmin.simulation.simulate` on the loaded world of its year, and returns a :class:`SweepResult`:
per point the key figures of :mod:`critmin.narrative` (zone self-sufficiency and watch share
as fractions, consumer price changes in %, welfare and its parts in USD) and each product's
summary. ``critmin sweep`` is the command-line front end; the dashboard calls the same
function.

A parameter path names a field of the scenario file: dotted keys and ``[i]`` list indices
(0-based), e.g. ``policy[0].price_usd_per_t``, ``policy[1].rate``, ``defaults.sigma``,
``product[0].demand_elasticity``, ``policy[2].share_of_baseline``. Every point is validated like
a scenario file, so an out-of-range value gets the scenario's own error message.
"""

from __future__ import annotations

import copy
import re
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from critmin.errors import CritminError, ScenarioError
from critmin.narrative import headline
from critmin.note_kinds import WARNING_PREFIXES, shared_warnings
from critmin.numbers import finite_or_none
from critmin.scenario.spec import Scenario, load_scenario

if TYPE_CHECKING:
    from critmin.world import World

MAX_POINTS = 201
_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)")


def parse_path(path: str) -> list[str | int]:
    """``"policy[0].price_usd_per_t"`` -> ``["policy", 0, "price_usd_per_t"]``."""
    steps: list[str | int] = []
    for part in path.split("."):
        m = _STEP.fullmatch(part.strip())
        if not m:
            raise CritminError(
                f"sweep parameter {path!r}: {part!r} is not a field name or field[index] "
                "(expected e.g. policy[0].price_usd_per_t or defaults.sigma)"
            )
        steps.append(m.group(1))
        steps += [int(i) for i in re.findall(r"\[(\d+)\]", m.group(2))]
    return steps


def set_parameter(data: dict[str, Any], path: str, value: float) -> dict[str, Any]:
    """A deep copy of the scenario dict ``data`` with ``path`` set to ``value``.

    Missing tables on the way (e.g. ``defaults``) are created; a list index must exist."""
    out = copy.deepcopy(data)
    steps = parse_path(path)
    node: Any = out
    for k, step in enumerate(steps[:-1]):
        where = _render(steps[: k + 1])
        if isinstance(step, int):
            if not isinstance(node, list) or step >= len(node):
                size = len(node) if isinstance(node, list) else 0
                raise CritminError(
                    f"sweep parameter {path!r}: the scenario has no {where} "
                    f"({size} entr{'y' if size == 1 else 'ies'})"
                )
            node = node[step]
        else:
            if not isinstance(node, dict):
                raise CritminError(f"sweep parameter {path!r}: {where} is not a table")
            nxt = steps[k + 1]
            if step not in node:
                if isinstance(nxt, int):
                    raise CritminError(f"sweep parameter {path!r}: the scenario has no {where}")
                node[step] = {}
            node = node[step]
    last = steps[-1]
    if isinstance(last, int) or not isinstance(node, dict):
        raise CritminError(f"sweep parameter {path!r} must end in a field name")
    node[last] = value
    return out


def _render(steps: Sequence[str | int]) -> str:
    text = ""
    for s in steps:
        text += f"[{s}]" if isinstance(s, int) else (f".{s}" if text else s)
    return text


def values_between(start: float, stop: float, steps: int) -> list[float]:
    """``steps`` evenly spaced values from ``start`` to ``stop`` (both included)."""
    if isinstance(steps, bool) or not isinstance(steps, int | np.integer):
        raise CritminError(f"--steps must be a whole number, got {steps!r}")
    if not 2 <= steps <= MAX_POINTS:
        raise CritminError(f"--steps must be between 2 and {MAX_POINTS}, got {steps}")
    if any(isinstance(x, str | bytes) or finite_or_none(x) is None for x in (start, stop)):
        raise CritminError(f"the sweep range must be finite numbers, got {start!r} to {stop!r}")
    with np.errstate(over="ignore", invalid="ignore"):  # a width beyond float: said below
        values = np.linspace(start, stop, steps)
    if not np.isfinite(values).all():
        raise CritminError(
            f"the sweep range {start:g} to {stop:g} is too wide to divide into {steps} points "
            "(its width is beyond the largest number); narrow --from and --to"
        )
    return [float(v) for v in values]


def repeat_warnings(values: Sequence[float]) -> list[str]:
    """A warning when values repeat (``--from 1e4 --to 1e4``, ``--values 1,1``): legal, and
    those points only give the same figures again."""
    repeated = sorted(v for v, n in Counter(values).items() if n > 1)
    if not repeated:
        return []
    listed = ", ".join(f"{v:g}" for v in repeated)
    return [f"the values repeat ({listed}): those points give the same figures"]


@dataclass
class SweepPoint:
    """One value of the parameter: the key figures and each product's summary."""

    value: float
    converged: bool
    figures: dict[str, float | None]
    products: dict[str, dict[str, Any]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "value": self.value,
            "converged": self.converged,
            "figures": self.figures,
            "products": self.products,
        }


@dataclass
class SweepResult:
    """A sweep: the scenario name, the parameter, its label and the points in order."""

    scenario: str
    parameter: str
    label: str
    points: list[SweepPoint] = field(default_factory=list)
    figure_labels: dict[str, str] = field(default_factory=dict)
    figure_units: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)
    """Values that repeat (:func:`repeat_warnings`), then the points' warnings (notes that
    start with one of :data:`critmin.note_kinds.WARNING_PREFIXES`: "no effect", "cut
    off", "extreme", ...), each once, with the values at which it was given: a sweep over a
    range where an instrument does nothing, or cuts buyers off, says so, as a single
    simulation does."""

    @property
    def converged(self) -> bool:
        return all(p.converged for p in self.points)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: shares are fractions 0-1, ``*_pct`` percent, ``*_usd`` USD."""
        return {
            "scenario": self.scenario,
            "parameter": self.parameter,
            "label": self.label,
            "converged": self.converged,
            "figure_labels": self.figure_labels,
            "figure_units": self.figure_units,
            "warnings": self.warnings,
            "points": [p.to_dict() for p in self.points],
        }

    def frame(self) -> Any:
        """One row per point: the parameter value, converged, and every key figure."""
        return sweep_frame(self.to_dict())


def sweep_frame(sweep: dict[str, Any]) -> Any:
    """The table of a sweep dict (:meth:`SweepResult.to_dict`): one row per point."""
    import pandas as pd

    rows = [
        {sweep["parameter"]: p["value"], "converged": p["converged"], **p["figures"]}
        for p in sweep["points"]
    ]
    return pd.DataFrame(rows)


def _label(parameter: str, scenario: dict[str, Any]) -> str:
    steps = parse_path(parameter)
    leaf = str(steps[-1])
    label = leaf.replace("_usd_per_t", " (USD/t)").replace("_", " ")
    if steps[0] == "policy" and len(steps) > 1 and isinstance(steps[1], int):
        policies = scenario.get("policy") or []
        if steps[1] < len(policies):
            kind = str(policies[steps[1]].get("type", "policy")).replace("_", " ")
            label = f"{kind} (USD/t)" if leaf == "price_usd_per_t" else f"{kind}: {label}"
    return label


def _sweep_values(values: Iterable[Any]) -> list[float]:
    """The sweep's values as floats (a list, tuple, numpy array or any iterable of numbers):
    text, a single number or a value that is not a finite number is a :class:`CritminError`."""
    if isinstance(values, str | bytes) or not isinstance(values, Iterable):
        raise CritminError(f"sweep values: expected a list of numbers, got {type(values).__name__}")
    out: list[float] = []
    for value in values:
        number = None if isinstance(value, str | bytes) else finite_or_none(value)
        if number is None:
            raise CritminError(f"sweep value {value!r} is not a finite number")
        out.append(number)
    return out


def run_sweep(
    source: str | Any,
    parameter: str,
    values: Iterable[float],
    progress: Callable[[int, int], None] | None = None,
    *,
    world: World | None = None,
) -> SweepResult:
    """Simulate ``source`` (path, dict or Scenario) once per value of ``parameter``.

    ``world``: the :func:`critmin.load_world` of the scenario's year, as for
    :func:`critmin.simulate` (a point of another year, a sweep of ``year``, loads its own).

    Raises :class:`CritminError` for a bad path or an empty or too long list of values, and the
    scenario's :class:`ScenarioError` (naming the field) for a value the schema rejects."""
    from critmin.simulation import simulate
    from critmin.world import load_world, world_for

    values = _sweep_values(values)
    if not values:
        raise CritminError("a sweep needs at least one value")
    if len(values) > MAX_POINTS:
        raise CritminError(f"a sweep has at most {MAX_POINTS} points, got {len(values)}")
    if not isinstance(parameter, str):
        raise CritminError(
            "sweep parameter: expected a field path such as 'policy[0].price_usd_per_t', "
            f"got {type(parameter).__name__}"
        )
    scenario = load_scenario(source)
    base = scenario.model_dump(mode="json", exclude_none=True)
    parse_path(parameter)
    worlds: dict[int, World] = {}  # by trade year: a sweep of ``year`` runs each on its data
    if world is not None:
        worlds[scenario.year] = world_for(world, scenario.year)
    result = SweepResult(scenario.name, parameter, _label(parameter, base))
    seen: dict[str, list[float]] = {}  # each warning and the values it came at
    for n, value in enumerate(values):
        edited = set_parameter(base, parameter, value)
        try:
            point = Scenario.from_dict(edited, base_dir=scenario.base_dir)
        except ScenarioError as err:
            where = "" if err.field == parameter else f"{err.field}: "
            raise ScenarioError(parameter, f"sweep value {value:g}: {where}{err.problem}") from None
        if point.year not in worlds:
            worlds[point.year] = load_world(point.year)
        data = simulate(point, world=worlds[point.year]).to_dict(copy=False)
        # each warning once, with the products that give it ("every product": a scenario-wide
        # one), then the chains' own
        noted = [(where, note) for note, where in shared_warnings(data["products"]).items()]
        noted += [
            (cid, note)
            for cid, chain in data.get("chains", {}).items()
            for note in chain.get("notes") or []
            if note.startswith(WARNING_PREFIXES)  # "no effect", "cut off", "extreme", ...
        ]
        for where, note in noted:
            seen.setdefault(f"{where}: {note}", []).append(float(value))
        answer = headline(data)
        if not result.figure_labels:
            result.figure_labels = {f.key: f.label for f in answer.figures}
            result.figure_units = {f.key: f.unit for f in answer.figures}
        figures: dict[str, float | None] = {f.key: f.value for f in answer.figures}
        figures |= {
            f"{f.key}_baseline": f.baseline for f in answer.figures if f.baseline is not None
        }
        result.points.append(
            SweepPoint(
                float(value),
                bool(data["converged"]),
                figures,
                {
                    pid: {"converged": p["converged"], **p["summary"], **p["zone"]}
                    for pid, p in data["products"].items()
                },
            )
        )
        if progress:
            progress(n + 1, len(values))
    result.warnings = repeat_warnings(values) + unchanged_warnings(parameter, result.points)
    result.warnings += [f"{note} (at {_values_text(at, len(values))})" for note, at in seen.items()]
    return result


def unchanged_warnings(parameter: str, points: Sequence[SweepPoint]) -> list[str]:
    """A ``no effect:`` warning when the parameter takes at least two different values and
    yet every point gives the same figures, bit for bit (the key figures and each product's
    summary and zone shares): the simulation does not read the field where the path puts it
    (``defaults.sigma`` under a product's own ``sigma``: product > defaults; a field only
    ``critmin uncertainty`` or ``paths`` reads, such as ``uncertainty.seed``), or every value
    leaves the instrument idle. Without it the sweep printed one flat row and exit status 0,
    as if the figures did not depend on the parameter. Values that merely repeat have
    :func:`repeat_warnings` instead; figures that differ by rounding alone (or hold a NaN)
    are not the same, so the warning is never given where the parameter does act."""
    if len({p.value for p in points}) < 2:
        return []
    first = points[0]
    if any(p.figures != first.figures or p.products != first.products for p in points[1:]):
        return []
    return [
        f"no effect: {parameter} takes {len({p.value for p in points})} different values and "
        "every point gives the same figures: the simulation does not read it here (a "
        "product's own value overrides [defaults]; [uncertainty], [paths] and [[disruption]] "
        "are for other commands) or no value of it makes the instrument act"
    ]


def _values_text(at: list[float], total: int) -> str:
    """Where a warning was given: "every point", or the values (at most five shown)."""
    if len(at) == total:
        return "every point"
    shown = ", ".join(f"{v:g}" for v in at[:5])
    return shown + (f" and {len(at) - 5} more" if len(at) > 5 else "")
