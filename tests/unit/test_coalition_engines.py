"""`critmin coalition` on a local process pool and a Dask cluster: the same numbers as the
in-process run, bit for bit; and the command line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.coalition import run_coalition
from critmin.world import World

distributed = pytest.importorskip("distributed")

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "coalition_core.toml"
SCENARIO: dict[str, Any] = {
    "name": "engines",
    "zone": {"members": ["USA", "JPN", "EU27"], "watch": ["CHN"]},
    "product": [{"id": "lithium_carbonate"}, {"id": "cobalt_oxides"}],
    "policy": [{"type": "tariff", "rate": 0.1}],
    "coalition": {"candidates": ["CHL", "ARG", "IDN", "AUS"]},
}
VOLATILE = {"timings", "engine", "workers"}


def _stable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in VOLATILE}


def test_pool_and_cluster_runs_equal_the_in_process_run(cluster: Any, world: World) -> None:
    local = run_coalition(SCENARIO, world=world, workers=1, cache_dir=False).to_dict()
    pool = run_coalition(SCENARIO, world=world, workers=2, cache_dir=False).to_dict()
    progress: list[tuple[int, int]] = []
    remote = run_coalition(
        SCENARIO,
        world=world,
        scheduler=cluster.scheduler_address,
        cache_dir=False,
        progress=lambda d, t: progress.append((d, t)),
    ).to_dict()
    assert pool["workers"] == 2 and remote["engine"] == "dask" and remote["workers"] == 2
    assert _stable(local) == _stable(pool) == _stable(remote)
    assert progress[-1][0] == progress[-1][1] == local["markets_solved"]


def test_cli_json_summary_html_and_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    args = ["coalition", str(EXAMPLE), "--candidates", "CHL,ARG,COD", "--no-cache"]
    res = runner.invoke(app, [*args, "--json", "--objective", "self_sufficiency"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.stdout)
    assert set(data["objective_values"]["grand"]) == set(data["players"][0]["marginal"])
    assert all(k.startswith("self_sufficiency:") for k in data["objectives"])
    cod = next(p for p in data["players"] if p["iso3"] == "COD")
    assert not cod["eligible"] and cod["reasons"]
    page = tmp_path / "c.html"
    res = runner.invoke(app, [*args, "--html", str(page), "--flag-only", "--require", "eiti"])
    assert res.exit_code == 0, res.output
    assert "What if a member leaves" in res.stdout and "Shapley values" in res.stdout
    assert "CHL is not an EITI implementing country" in res.stdout
    text = page.read_text(encoding="utf-8")
    assert "Plotly.newPlot" in text and "Candidates, best first" in text
    assert f"wrote {page}" in res.output
    # --out says what it wrote too (it created its folder and said nothing)
    out = tmp_path / "new" / "c.json"
    res = runner.invoke(app, [*args, "--out", str(out)])
    assert res.exit_code == 0 and f"wrote {out}" in res.output, res.output
    assert json.loads(out.read_text())["players"]
    bad = runner.invoke(app, [*args, "--candidates", "USA"])
    assert bad.exit_code == 2 and "already a zone member" in bad.output
    bad = runner.invoke(app, [*args, "--wgi-min", "rl"])
    assert bad.exit_code == 2 and "--wgi-min" in bad.output
    bad = runner.invoke(app, [*args, "--scope", "CHL=smelting"])
    # named as the option given, with the candidate and the part (not as a scenario field)
    flat = " ".join(bad.output.split())
    assert bad.exit_code == 2 and "--scope CHL: 'smelting' is neither a stage" in flat
