"""A scenario saved on the desk runs again on the command line: ``GET /api/scenarios/<id>``
written to a ``.json`` file is a scenario file for ``critmin simulate`` (as is a JSON object
of the scenario's tables), with the same results as the dashboard's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from webutil import EXAMPLE1_DICT

from critmin.cli import app
from critmin.errors import CritminError
from critmin.scenario import load_scenario


def test_a_saved_scenarios_json_runs_with_simulate(client: Any, tmp_path: Path) -> None:
    sid = client.post("/api/scenarios", json=EXAMPLE1_DICT).json()["id"]
    saved = tmp_path / "saved.json"
    saved.write_text(client.get(f"/api/scenarios/{sid}").text, encoding="utf-8")
    res = CliRunner().invoke(app, ["simulate", str(saved), "--json"])
    assert res.exit_code == 0, res.output
    cli = json.loads(res.stdout)["products"]["lithium_carbonate"]["summary"]
    web = client.get(f"/api/scenarios/{sid}/result").json()["products"]["lithium_carbonate"]
    for key in ("zone_welfare_change_usd", "zone_consumer_price_change_pct"):
        assert cli[key] == pytest.approx(web["summary"][key], rel=1e-12), key
    plain = tmp_path / "plain.json"
    plain.write_text(json.dumps(EXAMPLE1_DICT), encoding="utf-8")
    assert load_scenario(plain).name == load_scenario(saved).name == EXAMPLE1_DICT["name"]


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("{", "is not valid JSON"),
        ("[1, 2]", "holds a JSON list, not an object"),
        ('{"name": "x", "zone": {"members": ["USA"]}, "product": [{"id": "li"}], "a": NaN}', "NaN"),
    ],
)
def test_a_bad_json_scenario_file_gets_one_message(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CritminError, match=words):
        load_scenario(path)
