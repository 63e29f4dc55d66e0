"""critmin.numbers.clean and compact_json: the orjson fast path gives what the plain walk
in Python gives, on any nesting of the values a result holds (Hypothesis), and falls back to
the walk for whatever orjson would write otherwise (numpy scalars, keys that are not text,
subclasses, dataclasses, dates)."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from critmin.numbers import _clean, clean, compact_json

leaves = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=8)
    | st.floats(allow_nan=True, allow_infinity=True).map(np.float64)
    | st.integers(min_value=-(2**40), max_value=2**40).map(np.int64)
)
values = st.recursive(
    leaves,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.lists(inner, max_size=3).map(tuple)
        | st.dictionaries(st.text(max_size=5) | st.integers(0, 9), inner, max_size=4)
    ),
    max_leaves=25,
)


def _same(a: object, b: object) -> bool:
    """Equal, and every float the same bits (0.0 and -0.0 apart)."""
    if isinstance(a, float) and isinstance(b, float):
        return math.copysign(1.0, a) == math.copysign(1.0, b) and a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)  # type: ignore[index]
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))  # type: ignore[arg-type]
    return a == b


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(max_size=5), values, max_size=5) | st.lists(values, max_size=5))
def test_clean_and_compact_json_agree_with_the_plain_walk(obj: object) -> None:
    plain = _clean(obj)
    assert _same(clean(obj), plain)
    assert _same(json.loads(compact_json(obj), parse_constant=_refuse), plain)


def _refuse(token: str) -> None:
    raise AssertionError(f"{token} written: not JSON")


def test_nan_and_infinity_become_null_and_floats_keep_their_bits() -> None:
    x = [0.1 + 0.2, -0.0, 1e-300, 5e-324, float("nan"), float("inf"), -float("inf"), 2**63]
    out = clean({"x": x})
    assert out["x"][4:7] == [None, None, None]
    assert all(_same(a, b) for a, b in zip(out["x"][:4], x[:4], strict=True))
    assert out["x"][7] == 2**63  # beyond 64 bits signed: the walk
    assert json.loads(compact_json({"x": x}), parse_constant=_refuse) == out


def test_what_orjson_would_write_otherwise_goes_through_the_walk() -> None:
    @dataclass
    class Point:
        a: int

    class Label(str):
        pass

    when = datetime(2026, 12, 6, 20, 0, tzinfo=UTC)
    obj = {"p": Point(1), "when": when, "label": Label("x"), 3: np.float64(1.5)}
    expected = {
        "p": "test_what_orjson_would_write_otherwise_goes_through_the_walk.<locals>.Point(a=1)",
        "when": str(when),
        "label": "x",
        "3": 1.5,
    }
    assert clean(obj) == expected
    assert json.loads(compact_json(obj)) == expected


def test_text_orjson_refuses_is_still_written() -> None:
    obj = {"name": "caf\u00e9 \ud800", "x": float("nan")}
    assert json.loads(compact_json(obj)) == {"name": "caf\u00e9 \ud800", "x": None}
    assert clean(obj) == {"name": "caf\u00e9 \ud800", "x": None}


def test_read_json_reads_what_the_standard_library_reads() -> None:
    from critmin.numbers import read_json

    text = '{"a":[1,2.5,-0.0,1e-300,null,true],"b":"caf\\u00e9","c":{"d":18446744073709551615}}'
    assert read_json(text) == json.loads(text)
    assert read_json(text.encode()) == json.loads(text)
    nan = read_json('{"x": NaN, "y": Infinity}')  # orjson refuses the tokens: the fallback
    assert math.isnan(nan["x"]) and nan["y"] == math.inf
