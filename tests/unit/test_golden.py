"""Behaviour is unchanged across refactors: every example's results contract equals the golden
file recorded before the layers were moved (``tests/golden/*.json.gz``), timing fields aside.

Regenerate (only when a change of results is intended, and say why in the commit)::

    for f in examples/*.toml; do critmin simulate $f --json | gzip -9 > tests/golden/$(basename $f .toml).json.gz; done
"""

from __future__ import annotations

import gzip
import json
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


def first_difference(a: Any, b: Any, path: str = "$") -> str | None:
    """Where two JSON documents first differ (for a readable failure)."""
    if type(a) is not type(b):
        return f"{path}: {a!r} != {b!r}"
    if isinstance(a, dict):
        if a.keys() != b.keys():
            return f"{path}: keys {sorted(a.keys() ^ b.keys())} differ"
        for k in a:
            if (d := first_difference(a[k], b[k], f"{path}.{k}")) is not None:
                return d
        return None
    if isinstance(a, list):
        if len(a) != len(b):
            return f"{path}: lengths {len(a)} != {len(b)}"
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            if (d := first_difference(x, y, f"{path}[{i}]")) is not None:
                return d
        return None
    return None if a == b else f"{path}: {a!r} != {b!r}"


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
    difference = first_difference(strip_timing(golden), strip_timing(now))
    assert difference is None, f"{example.name}: results changed at {difference}"
