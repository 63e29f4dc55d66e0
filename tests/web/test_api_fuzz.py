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
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@settings(
    max_examples=SCALE or 12,
    deadline=None,
    derandomize=not SCALE,
    suppress_health_check=list(HealthCheck),
)
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
@settings(
    max_examples=SCALE or 25,
    deadline=None,
    derandomize=not SCALE,
    suppress_health_check=list(HealthCheck),
)
def test_no_server_errors_from_real_scenarios(body: dict[str, Any]) -> None:
    from fastapi.testclient import TestClient

    with TestClient(APP) as client:
        r = client.post("/api/simulate", json=body)
    assert r.status_code in (200, 400, 413, 422, 503), (r.status_code, r.text[:500])
    if r.status_code == 422:
        assert r.json()["field"]
