"""Nothing breaks the API: one table of bad requests, each with its status, the words its
message must contain and no traceback; content types, methods (``Allow``), idempotent saves,
and the designer's answers (HTML, the form kept) when it refuses or is busy."""

from __future__ import annotations

import copy
import json
import tomllib
from typing import Any

import pytest
from webutil import DESIGNER_FORM, EXAMPLE1_DICT, EXAMPLES

from critmin.web.services import MAX_JSON_DEPTH, BusyError

JSON = {"content-type": "application/json"}


def sc(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(EXAMPLE1_DICT)
    data.update(changes)
    return data


def nested(depth: int) -> bytes:
    return ('{"name": ' + "[" * depth + "1" + "]" * depth + "}").encode()


# (method, path, headers, body, status, words in the message, field or None)
CASES: list[tuple[str, str, dict[str, str], bytes | None, int, list[str], str | None]] = [
    ("POST", "/api/simulate", JSON, nested(5000), 400, ["nested", "levels"], "<body>"),
    ("POST", "/api/simulate", JSON, nested(MAX_JSON_DEPTH + 1), 400, ["nested"], "<body>"),
    ("POST", "/api/simulate", JSON, b'{"name": ' + b"9" * 5000 + b"}", 400, ["digits"], "<body>"),
    ("POST", "/api/simulate", JSON, b'{"name": 1.' + b"5" * 100 + b"}", 400, ["characters"], None),
    ("POST", "/api/simulate", JSON, b'{"name": 1e400}', 400, ["too large"], "<body>"),
    ("POST", "/api/simulate", JSON, b'{"name": NaN}', 400, ["NaN", "not a number"], "<body>"),
    ("POST", "/api/simulate", JSON, b'{"name": "x",}', 400, ["not valid JSON", "line 1"], None),
    ("POST", "/api/simulate", JSON, b"", 400, ["empty"], "<body>"),
    ("POST", "/api/simulate", JSON, b"\xff\xfe{}", 400, ["UTF-8"], "<body>"),
    (
        "POST",
        "/api/simulate",
        {"content-type": "text/plain"},
        json.dumps(EXAMPLE1_DICT).encode(),
        415,
        ["application/json", "text/plain"],
        "Content-Type",
    ),
    ("POST", "/api/simulate", {}, json.dumps(EXAMPLE1_DICT).encode(), 415, ["Content-Type"], None),
    (
        "POST",
        "/api/simulate",
        {"content-type": "application/x-www-form-urlencoded"},
        b"name=x",
        415,
        ["JSON"],
        None,
    ),
    (
        "POST",
        "/api/scenarios",
        {"content-type": "text/plain"},
        json.dumps(EXAMPLE1_DICT).encode(),
        415,
        ["application/json"],
        None,
    ),
    ("POST", "/api/simulate", JSON, json.dumps(sc(nmae="x")).encode(), 422, ["nmae"], "nmae"),
    ("POST", "/api/simulate", JSON, json.dumps([1]).encode(), 422, ["object"], "<root>"),
    (
        "POST",
        "/api/simulate",
        JSON,
        json.dumps(sc(policy=[{"type": "tariff", "rate": -1}])).encode(),
        422,
        ["rate", "0"],  # pydantic's words or the scenario layer's: "must be at least 0"
        "policy[0].rate",
    ),
    (
        "POST",
        "/api/simulate",
        JSON,
        json.dumps(sc(zone={"members": ["USA", "Atlantis"]})).encode(),
        422,
        ["Atlantis"],
        "zone.members",
    ),
    (
        "POST",
        "/api/simulate",
        JSON,
        json.dumps(sc(product=[{"id": "Lithium carbonate"}])).encode(),
        422,
        ["Lithium carbonate"],
        "product[0].id",
    ),
    ("GET", "/api/data/production?limit=999999", {}, None, 422, ["at most 5000"], "query.limit"),
    ("GET", "/api/sweep?source=x", {}, None, 422, ["parameter"], None),
    ("GET", "/api/compare?a=nope", {}, None, 404, ["no saved scenario"], None),
    ("GET", "/api/runs/nope", {}, None, 404, ["no run"], None),
    ("PUT", "/api/scenarios", {}, None, 405, ["not allowed", "GET", "POST"], None),
    ("DELETE", "/api/simulate", {}, None, 405, ["POST"], None),
    ("PATCH", "/api/scenarios/x", JSON, b'{"name": ""}', 422, ["at least 1 character"], None),
    ("GET", "/api/nothing/here", {}, None, 404, ["no such"], None),
    (
        "PATCH",
        "/api/scenarios/x",
        {"content-type": "text/plain"},
        b'{"name": "y"}',
        415,
        ["application/json"],
        None,
    ),
]


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "status", "words", "field"),
    CASES,
    ids=[f"{c[0]} {c[1][:30]} {c[4]} {c[5][0]}" for c in CASES],
)
def test_bad_api_input_gets_one_clear_message(
    client: Any,
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes | None,
    status: int,
    words: list[str],
    field: str | None,
) -> None:
    r = client.request(method, path, headers=headers, content=body)
    assert r.status_code == status, r.text[:300]
    assert r.headers["content-type"].startswith("application/json")
    err = r.json()
    message = err["error"]
    for word in words:
        assert word in message, (word, message)
    if field is not None:
        assert err["field"] == field
    for leak in ("Traceback", "recursion", "set_int_max_str_digits", 'File "'):
        assert leak not in r.text


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/api/scenarios", {"GET", "HEAD", "OPTIONS", "POST"}),
        ("/api/scenarios/abc", {"DELETE", "GET", "HEAD", "OPTIONS", "PATCH"}),
        ("/api/simulate", {"OPTIONS", "POST"}),
        ("/designer", {"GET", "HEAD", "OPTIONS", "POST"}),
    ],
)
def test_options_and_405_list_every_allowed_method(
    client: Any, path: str, methods: set[str]
) -> None:
    r = client.options(path)
    assert r.status_code == 204
    assert {m.strip() for m in r.headers["allow"].split(",")} == methods
    refused = client.request("TRACE", path)
    assert refused.status_code == 405
    assert {m.strip() for m in refused.headers["allow"].split(",")} == methods
    assert client.options("/no/such/path").status_code == 404
    if "HEAD" in methods:  # listed: answered, as GET without the body
        head, get = client.head(path), client.get(path)
        assert head.status_code == get.status_code and head.content == b""
        assert head.headers["content-type"] == get.headers["content-type"]


def test_idempotency_key_makes_a_retried_save_create_one_scenario(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from critmin.web import services

    runs: list[int] = []
    real = services.run_simulation
    monkeypatch.setattr(services, "run_simulation", lambda s: runs.append(1) or real(s))
    key = {"Idempotency-Key": "retry-7f3a"}
    first = client.post("/api/scenarios", json=EXAMPLE1_DICT, headers=key)
    again = client.post("/api/scenarios", json=EXAMPLE1_DICT, headers=key)
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert len(client.get("/api/scenarios").json()) == 1 and len(runs) == 1
    other = client.post("/api/scenarios", json=sc(name="Another"), headers=key)
    assert other.status_code == 422 and other.json()["field"] == "Idempotency-Key"
    assert "already used" in other.json()["error"]
    without = client.post("/api/scenarios", json=EXAMPLE1_DICT)  # no key: a new save
    assert without.status_code == 201 and len(client.get("/api/scenarios").json()) == 2


def test_an_empty_idempotency_key_is_refused_not_shared_by_every_client(client: Any) -> None:
    """``Idempotency-Key:`` with no text (a script's unset variable; blank is sent as empty) was
    taken as the key "": the first such save claimed it for every client, whose next
    different scenario got 422 "already used" and whose same one another's saved entry."""
    first = client.post(
        "/api/scenarios?run=false", json=EXAMPLE1_DICT, headers={"Idempotency-Key": ""}
    )
    assert first.status_code == 422, first.text
    assert first.json()["field"] == "header.idempotency-key"
    assert "at least 1 character" in first.json()["error"]
    other = client.post(
        "/api/scenarios?run=false", json=sc(name="Another"), headers={"Idempotency-Key": ""}
    )
    assert other.status_code == 422 and "already used" not in other.json()["error"]
    assert client.get("/api/scenarios").json() == []


FORM = DESIGNER_FORM | {"name": "Kept name", "member_countries": []}


def test_oversized_designer_form_gets_an_html_page(client: Any) -> None:
    form = FORM | {"description": "x" * 2_000_000}
    r = client.post("/designer", data=form)
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("text/html")
    assert "<h1>Error 413</h1>" in r.text and "go back" in r.text.lower()
    # a JSON client of the API still gets JSON
    r = client.post("/api/simulate", content=b"x" * 2_000_000, headers=JSON)
    assert r.status_code == 413 and r.json()["field"] == "<body>"


def test_designer_answers_html_in_plain_words_next_to_the_field(client: Any) -> None:
    r = client.post("/designer", data=FORM | {"products": [], "action": "run"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("text/html")
    assert 'id="err-products"' in r.text and "Products: choose at least one" in r.text
    assert "List should have at least" not in r.text
    assert 'value="Kept name"' in r.text
    r = client.post(
        "/designer",
        data=DESIGNER_FORM
        | {
            "policy-0-type": "tariff",
            "policy-0-rate_pct": "-5",
            "action": "run",
        },
    )
    assert r.status_code == 422
    assert 'id="err-policy-0-rate_pct"' in r.text and "must be at least 0%" in r.text
    assert "Instrument 1, tariff rate: must be at least 0%" in r.text
    r = client.post("/designer", content=b"{}", headers=JSON)
    assert r.status_code == 415 and r.headers["content-type"].startswith("text/html")


def test_busy_designer_keeps_the_form_and_says_when_to_retry(
    client: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner = client.app.state.web.runner

    async def busy(*_args: Any) -> Any:
        raise BusyError("the server is busy; retry in 7 s", 7)

    monkeypatch.setattr(runner, "run", busy)
    r = client.post("/designer", data=FORM | {"action": "run"})
    assert r.status_code == 503 and r.headers["retry-after"] == "7"
    assert r.headers["content-type"].startswith("text/html")
    assert 'id="busy-notice"' in r.text and 'data-retry="7"' in r.text
    assert 'value="Kept name"' in r.text and 'value="15000"' in r.text
    api = client.post("/api/simulate", json=EXAMPLE1_DICT)
    assert api.status_code == 503 and api.headers["retry-after"] == "7"


def test_queue_is_sized_to_the_machine() -> None:
    from critmin.web.services import QUEUE_PER_WORKER, Limits, machine_cores

    limits = Limits()
    assert limits.max_concurrent_simulations == machine_cores()
    assert limits.max_queued_simulations == QUEUE_PER_WORKER * machine_cores() >= 20


@pytest.mark.parametrize(
    "hidden",
    [
        {"carried": '{"product": 5}'},
        {"carried": '{"chain": 5}'},
        {"carried": '{"product": [5]}'},
        {"carried": "[" * 5000 + "]" * 5000},
        {"carried": '{"x": ' + "1" * 5000 + "}"},
        {"policy-0-extra": "[" * 5000 + "]" * 5000},
        {"policy-0-extra": '{"x": ' + "1" * 5000 + "}"},
    ],
)
@pytest.mark.parametrize("action", ["run", "add", "remove:0", "add-shock"])
def test_designer_bad_hidden_parts_get_one_message_not_a_500(
    client: Any, hidden: dict[str, str], action: str
) -> None:
    """The hidden JSON the form carries may be anything in a request: the page still answers
    (422 naming the kept parts where the scenario is built, the page drawn otherwise)."""
    r = client.post("/designer", data=DESIGNER_FORM | hidden | {"action": action})
    assert r.status_code in (200, 303, 422), r.text[:300]
    assert "internal error" not in r.text and "Traceback" not in r.text
    if r.status_code == 422:
        assert "kept parts" in r.text


@pytest.mark.parametrize(
    ("typed", "field", "expected"),
    [
        ("2,5", "policy-0-price", None),  # a decimal comma: refused, not read as 25
        ("15,000", "policy-0-price", 15000.0),  # thousands: read
        ("1,234,567.5", "policy-0-price", 1234567.5),
        ("15,00", "policy-0-price", None),
        ("1,5", "sigma", None),
    ],
)
def test_designer_reads_commas_only_as_thousands(
    client: Any, typed: str, field: str, expected: float | None
) -> None:
    r = client.post("/designer?format=json", data=DESIGNER_FORM | {field: typed, "action": "run"})
    if expected is None:
        assert r.status_code == 422, r.text[:300]
        assert "point" in r.text and typed in r.text
    else:
        assert r.status_code in (200, 303), r.text[:300]
        pol = r.json()["scenario"]["policy"][0]
        assert pol["price_usd_per_t"] == expected


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("15 000", 15000.0),  # spaces between groups of three, as SI and much of Europe write
        ("15\u00a0000", 15000.0),  # a no-break space, as a copy from a document brings
        ("1 234 567.5", 1234567.5),
        ("1 5000", None),  # not groups of three: refused, not guessed
        ("15 000 USD", None),  # a unit: refused, saying to type the number alone
    ],
)
def test_designer_reads_spaces_between_thousands(
    client: Any, typed: str, expected: float | None
) -> None:
    """``15 000`` was refused ("expected a number, got '15 000'"), and so was ``15 000 USD``
    with no word on what to type instead."""
    r = client.post(
        "/designer?format=json", data=DESIGNER_FORM | {"policy-0-price": typed, "action": "run"}
    )
    if expected is None:
        assert r.status_code == 422, r.text[:300]
        assert "type the number alone" in r.json()["error"]
    else:
        assert r.status_code in (200, 303), r.text[:300]
        assert r.json()["scenario"]["policy"][0]["price_usd_per_t"] == expected


@pytest.mark.parametrize("action", ["explode", "delete", "remove:abc", "remove:999999", "RUN"])
def test_designer_unknown_action_is_refused_not_run(client: Any, action: str) -> None:
    r = client.post("/designer", data=DESIGNER_FORM | {"action": action}, follow_redirects=False)
    assert r.status_code == 422 and "unknown action" in r.text
    assert 'value="15000"' in r.text  # the form is kept
    r = client.post("/designer?format=json", data=DESIGNER_FORM | {"action": action})
    assert r.status_code == 422 and r.json()["field"] == "action"


def test_designer_known_actions_still_work(client: Any) -> None:
    for action in ("add", "add-shock", "remove:0", "remove-shock:0"):
        r = client.post("/designer", data=DESIGNER_FORM | {"action": action})
        assert r.status_code == 200, (action, r.text[:200])


def test_truncated_json_for_fastapi_bodies_is_named_plainly(client: Any) -> None:
    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    r = client.patch(f"/api/scenarios/{sid}", content=b'{"name": "x', headers=JSON)
    assert r.status_code == 400  # as every body that is not JSON (docs/web.md), not 422
    assert r.json()["field"] == "<body>" and "not valid JSON" in r.json()["error"]


def test_a_product_without_trade_is_refused_next_to_the_products(client: Any) -> None:
    """The catalog lists products the trade data lack (lithium hydroxide): choosing one gets
    a 422 next to Products, the form kept, not a bare error page."""
    form = DESIGNER_FORM | {"products": "lithium_hydroxide", "action": "run"}
    r = client.post("/designer", data=form)
    assert r.status_code == 422 and 'id="err-products"' in r.text
    assert "has no trade flows" in r.text and 'value="15000"' in r.text
    api = client.post(
        "/api/simulate", json=EXAMPLE1_DICT | {"product": [{"id": "lithium_hydroxide"}]}
    )
    assert api.status_code == 422 and api.json()["field"] == "product[0].id"


def test_a_duplicate_json_key_is_refused_not_dropped(client: Any) -> None:
    """A key given twice in one object: JSON parsers keep the last value in silence (a second
    ``"policy": []`` ran the scenario without its floor, and said nothing)."""
    body = json.dumps(EXAMPLE1_DICT)[:-1] + ', "policy": []}'
    r = client.post("/api/simulate", content=body.encode(), headers=JSON)
    assert r.status_code == 400 and "'policy' twice" in r.json()["error"], r.text[:300]
    sid = client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT).json()["id"]
    before = client.get(f"/api/scenarios/{sid}").json()
    patch = b'{"tags": ["x"], "tags": null}'
    r = client.patch(f"/api/scenarios/{sid}", content=patch, headers=JSON)
    assert r.status_code == 400 and "'tags' twice" in r.json()["error"]
    assert client.get(f"/api/scenarios/{sid}").json() == before
    ok = client.patch(f"/api/scenarios/{sid}", json={"tags": ["x"]})
    assert ok.status_code == 200 and ok.json()["tags"] == ["x"]


@pytest.mark.parametrize("name", ["bad\u0000", "red \u001b[31m", "bell\u0007"])
def test_a_name_with_a_control_character_is_refused_and_the_scenario_still_opens(
    client: Any, name: str
) -> None:
    """A rename to a name holding a control character was stored, and the scenario then
    failed its own validation: its page, report and analyses answered 422 for good."""
    sid = client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT).json()["id"]
    r = client.patch(f"/api/scenarios/{sid}", json={"name": name})
    assert r.status_code == 422 and r.json()["field"] == "name", r.text[:300]
    assert "control character" in r.json()["error"]
    form = {"name": name, "notes": "", "tags": ""}
    r = client.post(f"/scenarios/{sid}/edit", data=form, follow_redirects=False)
    assert r.status_code == 422
    r = client.post(f"/api/scenarios/{sid}/duplicate", params={"name": name})
    assert r.status_code == 422 and r.json()["field"] == "name"
    assert client.get(f"/scenarios/{sid}").status_code == 200
    assert client.get(f"/api/scenarios/{sid}").json()["name"] == EXAMPLE1_DICT["name"]


def test_the_edit_form_keeps_the_name_when_it_sends_only_notes(client: Any) -> None:
    sid = client.post("/api/scenarios?run=false", json=EXAMPLE1_DICT).json()["id"]
    r = client.post(f"/scenarios/{sid}/edit", data={"notes": "hello"}, follow_redirects=False)
    assert r.status_code == 303, r.text[:300]
    entry = client.get(f"/api/scenarios/{sid}").json()
    assert entry["name"] == EXAMPLE1_DICT["name"] and entry["notes"] == "hello"


def test_an_oversized_value_is_not_echoed_back_in_full(client: Any) -> None:
    """A 100,000-character product id got a 100 kB message repeating it."""
    data = copy.deepcopy(EXAMPLE1_DICT)
    data["product"][0]["id"] = "A" * 100_000
    r = client.post("/api/simulate", json=data)
    assert r.status_code == 422 and r.json()["field"] == "product[0].id", r.text[:300]
    assert len(r.content) < 1_000 and "(100,000 characters)" in r.json()["error"]
    form = dict(DESIGNER_FORM) | {"policy-0-type": "price_floor", "policy-0-price": "Z" * 50_000}
    page = client.post("/designer", data=form | {"action": "run"})
    assert page.status_code == 422, page.text[:300]
    error = page.text[page.text.index('id="err-policy-0-price"') :]
    error = error[: error.index("</div>")]
    assert "expected a number" in error and "(50,000 characters)" in error and len(error) < 600


def test_a_coalition_whose_candidates_break_a_policy_is_refused_when_saved(client: Any) -> None:
    """With Thailand in the zone, the antimony licence's leak via Thailand is a restricted
    destination: the coalition could never be valued, and saving says so (it was saved with a
    201 and refused on the coalition page)."""
    data = tomllib.loads(
        (EXAMPLES / "controls" / "antimony_licensing_leakage_2025.toml").read_text()
    )
    data["coalition"] = {"candidates": ["THA"]}
    r = client.post("/api/scenarios?run=false", json=data)
    assert r.status_code == 422 and r.json()["field"] == "policy[0].leak_via", r.text[:300]
    assert "candidates join the zone" in r.json()["error"]
    data["coalition"] = {"candidates": ["BRA"]}
    assert client.post("/api/scenarios?run=false", json=data).status_code == 201


PATHS_TABLE = {"floor_usd_per_t": 15000, "years": "2025-2035"}


@pytest.mark.parametrize(
    ("table", "field", "words"),
    [
        ({"paths": PATHS_TABLE | {"product": "nope"}}, "paths.product", ["'nope'"]),
        ({"paths": PATHS_TABLE | {"product": "cobalt_oxides"}}, "paths.product", ["cobalt"]),
        ({"paths": PATHS_TABLE | {"start_year": 2040}}, "paths.start_year", ["2040", "outside"]),
        ({"coalition": {"candidates": ["XXX"]}}, "coalition.candidates[0]", ["XXX"]),
        ({"coalition": {"candidates": ["USA"]}}, "coalition.candidates[0]", ["zone member"]),
        ({"coalition": {"candidates": ["AUS", "AUS"]}}, "coalition.candidates[1]", ["already"]),
    ],
)
@pytest.mark.parametrize("path", ["/api/scenarios?run=false", "/api/scenarios", "/api/simulate"])
def test_paths_and_coalition_tables_that_could_never_run_are_refused_when_saved(
    client: Any, path: str, table: dict[str, Any], field: str, words: list[str]
) -> None:
    """A ``[paths]`` or ``[coalition]`` table that ``critmin paths`` or ``critmin coalition``
    would refuse is refused when the scenario is saved or run (it was saved with a 201, and
    refused only on its paths or coalition page)."""
    data = sc(**table)
    if "coalition" in table:  # examples/01's zone has the members tested against
        data["zone"] = {"members": ["USA", "CAN", "JPN"], "watch": ["CHN"]}
    r = client.post(path, json=data)
    assert r.status_code == 422, r.text[:300]
    body = r.json()
    assert body["field"] == field and all(w in body["error"] for w in words), body


def test_long_messages_keep_their_words_between_quoted_values(client: Any) -> None:
    """Only a long quoted value is cut short, never the text between two values (the text
    from the closing quote of ``'policy[0].type'`` to the opening quote of ``'tarif'`` was cut
    as if it were a value: "export_ban, expor…' (91 characters)tarif'")."""
    from critmin.web.responses import shorten_values

    data = sc()
    data["policy"][0]["type"] = "tarif"
    error = client.post("/api/simulate", json=data).json()["error"]
    assert "characters)" not in error and "got 'tarif'" in error
    assert "did you mean 'tariff'" in error
    between = "x " * 100
    message = f"field 'policy[0].type': {between}got 'tarif' and '{'A' * 500}'."
    assert shorten_values(message) == (
        f"field 'policy[0].type': {between}got 'tarif' and '{'A' * 60}…' (500 characters)."
    )


@pytest.mark.parametrize(
    ("body", "status", "words", "field"),
    [
        (b"{", 400, ["not valid JSON"], "<body>"),
        (b"", 400, ["empty", "fields to change"], "<body>"),
        (b'{"name": "\xff"}', 400, ["not UTF-8"], "<body>"),
        (b'{"name": "a", "name": "b"}', 400, ["twice"], "<body>"),
        (b'{"name": 5}', 422, ["valid string"], "name"),
        (b'{"colour": "red"}', 422, ["not permitted"], "colour"),
        (b"[]", 422, ["JSON object with the fields to change"], "<body>"),
        (b"{}", 422, ["JSON object with the fields to change"], "<body>"),
        (b'{"notes": null}', 422, ["null does not change the notes", '""'], "notes"),
        (b'{"tags": null}', 422, ["null does not change the tags", "[]"], "tags"),
        (b'{"name": null, "notes": "x"}', 422, ["null does not change the name"], "name"),
    ],
)
def test_an_edit_body_gets_the_answers_of_every_body(
    client: Any, body: bytes, status: int, words: list[str], field: str
) -> None:
    """PATCH reads its body as every other endpoint does (FastAPI's own body model answered
    unreadable JSON with a 422, and a body that is not UTF-8 with a message that did not say
    so; a ``null``, meant to clear notes or tags, kept them and answered 200); nothing is
    changed."""
    sid = client.post("/api/scenarios?run=false", json=sc()).json()["id"]
    client.patch(f"/api/scenarios/{sid}", json={"notes": "kept", "tags": ["kept"]})
    before = client.get(f"/api/scenarios/{sid}").json()
    r = client.patch(f"/api/scenarios/{sid}", content=body, headers=JSON)
    assert r.status_code == status, r.text
    assert r.json()["field"] == field and all(w in r.json()["error"] for w in words), r.json()
    assert client.get(f"/api/scenarios/{sid}").json() == before


def test_a_designer_form_that_cannot_be_read_says_why(client: Any) -> None:
    """Python's codec message and "Max number of fields exceeded" became plain words."""
    form = {"content-type": "application/x-www-form-urlencoded", "accept": "application/json"}
    r = client.post("/designer?format=json", content=b"name=\xff\xfe", headers=form)
    assert (
        r.status_code == 400 and r.json()["error"] == "cannot read the form: it is not UTF-8 text"
    )
    r = client.post("/designer?format=json", content=b"name=caf%E9", headers=form)
    assert (
        r.status_code == 400 and r.json()["error"] == "cannot read the form: it is not UTF-8 text"
    )
    r = client.post("/designer?format=json", content=b"&".join([b"a=1"] * 5001), headers=form)
    assert r.status_code == 400
    assert r.json()["error"] == "cannot read the form: it has more than 5,000 fields"


@pytest.mark.parametrize(
    ("content", "content_type", "status", "words"),
    [
        (b"name=caf%E9", "application/x-www-form-urlencoded", 400, ["not UTF-8 text"]),
        (b"name=\xff\xfe", "application/x-www-form-urlencoded", 400, ["not UTF-8 text"]),
        (
            b'--b\r\nContent-Disposition: form-data; name="name"\r\n\r\nNew\r\n--b--\r\n',
            "multipart/form-data; boundary=b",
            415,
            ["reads HTML forms", "PATCH /api/scenarios/{id}"],
        ),
        (b'{"name": "New"}', "application/json", 415, ["reads HTML forms"]),
    ],
)
def test_an_edit_form_that_cannot_be_read_is_refused_not_applied(
    client: Any, content: bytes, content_type: str, status: int, words: list[str]
) -> None:
    """The rename / notes / tags form saved ``caf%E9`` as the name "caf\ufffd" (the designer
    refused it), and answered a multipart or JSON body with 303 as if it had been applied
    (it was read as an empty form: nothing changed, nothing said)."""
    sid = client.post("/api/scenarios?run=false", json=sc()).json()["id"]
    before = client.get(f"/api/scenarios/{sid}").json()
    headers = {"content-type": content_type, "accept": "application/json"}
    r = client.post(
        f"/scenarios/{sid}/edit", content=content, headers=headers, follow_redirects=False
    )
    assert r.status_code == status, r.text[:300]
    assert all(w in r.text for w in words), r.text[:600]
    assert client.get(f"/api/scenarios/{sid}").json() == before


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("/api/assess?yaer=2022", "yaer"),  # a misspelt year answered with 2024's figures
        ("/api/overview?minerals=lithium", "minerals"),
        ("/api/scenarios?tags=x", "tags"),
    ],
)
def test_an_api_parameter_the_endpoint_does_not_take_is_refused(
    client: Any, url: str, name: str
) -> None:
    """FastAPI drops query parameters an endpoint does not declare: a misspelt one was
    answered with a 200 as if it had not been sent (``/api/assess?yaer=2022`` gave the 2024
    figures). Under /api/ it is a 422 naming it and what the endpoint takes; ``format`` is
    taken everywhere, and the HTML pages keep ignoring extra parameters."""
    r = client.get(url)
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == f"query.{name}", body
    assert f"takes no parameter {name!r}" in body["error"] and "it takes:" in body["error"]
    assert client.get(url.split("?")[0]).status_code == 200
    assert client.get(f"{url.split('?')[0]}?format=json").status_code == 200
    assert client.get("/?utm_source=mail").status_code == 200  # a page: ignored as before
