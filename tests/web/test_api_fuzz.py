"""Fuzz the JSON API: whatever a client sends, the answer is never a 5xx.

Two layers: schemathesis (MIT) generates requests from the app's own OpenAPI document
(12 examples per endpoint by default), and Hypothesis builds scenarios over the real products and
countries, with extreme numbers, so that they reach the model. The app runs in-process
(ASGI); a server exception fails the test with its traceback.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

schemathesis = pytest.importorskip("schemathesis")

from critmin.web.app import create_app  # noqa: E402

_DB = Path(__file__).resolve().parents[2] / "out" / "fuzz.sqlite3"
# examples per endpoint / scenarios; raise for a longer hunt: CRITMIN_FUZZ_EXAMPLES=200
SCALE = int(os.environ.get("CRITMIN_FUZZ_EXAMPLES", "0"))


def _app() -> Any:
    _DB.parent.mkdir(parents=True, exist_ok=True)
    _DB.unlink(missing_ok=True)
    return create_app(_DB)


APP = _app()


def fuzz(examples: int) -> Any:
    """Hypothesis settings: ``examples`` cases, reproducible, unless CRITMIN_FUZZ_EXAMPLES."""
    return settings(
        max_examples=SCALE or examples,
        deadline=None,
        derandomize=not SCALE,
        suppress_health_check=list(HealthCheck),
    )


schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@fuzz(12)
def test_no_server_errors_from_the_schema(case: Any) -> None:
    response = case.call()
    assert response.status_code < 500, (response.status_code, response.text[:500])


PRODUCTS = [
    "lithium_carbonate",
    "cobalt_oxides",
    "gallium_germanium",
    "permanent_magnets",
    "nickel_unwrought",
    "natural_graphite",
]
CODES = [
    "USA",
    "CAN",
    "AUS",
    "JPN",
    "KOR",
    "EU27",
    "CHN",
    "COD",
    "CHL",
    "RUS",
    "G7",
    "MSP",
    "IDN",
    "ZZZ",
]
numbers = st.one_of(
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.sampled_from([0.0, 1.0, 1e-12, 1e6, 1e12, -1.0, 1.0000001]),
)
selector = st.one_of(
    st.sampled_from(["all", "members", "non-members"]),
    st.lists(st.sampled_from([*CODES, "watch"]), min_size=0, max_size=3),
)
policy = st.one_of(
    st.fixed_dictionaries(
        {"type": st.just("tariff"), "rate": numbers, "exporters": selector, "importers": selector}
    ),
    st.fixed_dictionaries(
        {
            "type": st.just("price_floor"),
            "price_usd_per_t": numbers,
            "mechanism": st.sampled_from(["variable_levy", "producer_subsidy"]),
        }
    ),
    st.fixed_dictionaries(
        {"type": st.just("export_ban"), "exporters": selector, "importers": selector}
    ),
    st.fixed_dictionaries(
        {"type": st.just("export_quota"), "exporters": selector, "share_of_baseline": numbers}
    ),
)
scenarios = st.fixed_dictionaries(
    {
        "name": st.text(min_size=1, max_size=20),
        "zone": st.fixed_dictionaries(
            {
                "members": st.lists(st.sampled_from(CODES), min_size=1, max_size=4),
                "watch": st.lists(st.sampled_from(CODES), max_size=2),
            }
        ),
        "product": st.lists(st.sampled_from(PRODUCTS), min_size=1, max_size=2, unique=True).map(
            lambda ids: [{"id": i} for i in ids]
        ),
        "policy": st.lists(policy, max_size=3),
    },
    optional={
        "defaults": st.fixed_dictionaries(
            {},
            optional={"sigma": numbers, "demand_elasticity": numbers, "supply_elasticity": numbers},
        )
    },
)


@given(body=scenarios)
@fuzz(25)
def test_no_server_errors_from_real_scenarios(body: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    with TestClient(APP) as client:
        r = client.post("/api/simulate", json=body)
    assert r.status_code in (200, 400, 413, 422, 503), (r.status_code, r.text[:500])
    if r.status_code == 422:
        assert r.json()["field"]


json_values = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**30), max_value=10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
    ),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)
SCENARIO_KEYS = ["name", "zone", "product", "policy", "defaults", "year", "description"]
documents = st.one_of(
    json_values,
    scenarios.flatmap(  # a real scenario with one key replaced by anything
        lambda s: st.tuples(st.sampled_from(SCENARIO_KEYS), json_values).map(
            lambda kv: s | {kv[0]: kv[1]}
        )
    ),
)


@given(body=documents)
@fuzz(40)
def test_random_documents_get_a_4xx_or_a_result(body: Any) -> None:
    """Any JSON document sent as a scenario gets a 4xx with a message or a result (or a 503
    when busy), never a 5xx or a traceback."""
    import json

    from fastapi.testclient import TestClient

    with TestClient(APP) as client:
        r = client.post(
            "/api/simulate", content=json.dumps(body), headers={"content-type": "application/json"}
        )
    assert r.status_code == 200 or 400 <= r.status_code < 500 or r.status_code == 503, (
        r.status_code,
        r.text[:500],
    )
    assert "Traceback" not in r.text
    if r.status_code != 200:
        assert r.json()["error"]
    else:
        assert "products" in r.json()
