"""A path that is a symbolic link loop (``ln -s loop loop``) or a broken link is said to be one,
by every command's file and folder arguments alike (``critmin.util.why_missing``): they were
said not to exist (a loop, a broken link), an output there failed after the work (``--csv``,
``--cache-dir``), replaced the link by a file in silence (``--out``), or was an internal error
(``data build --baci``: ``RuntimeError: Symlink loop``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from critmin.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EX = str(EXAMPLES / "01_lithium_floor_levy.toml")
COAL = str(EXAMPLES / "coalition_core.toml")
PATHS = str(EXAMPLES / "paths" / "lithium_floor_2026_2035.toml")
SWEEP = ["-p", "policy[0].price_usd_per_t", "--values", "1e4"]

LOOP = "is a symbolic link loop (it cannot be resolved)"

# {L}: a link to itself whose name ends as the option wants (loop.json, loop.csv, ...)
CASES = [
    (["simulate", "{L}"], "", "scenario file {L} " + LOOP),
    (["report", "{L}"], "", "scenario file {L} " + LOOP),
    (["sweep", "{L}", *SWEEP], "", "scenario file {L} " + LOOP),
    (["uncertainty", "{L}"], "", "scenario file {L} " + LOOP),
    (["paths", "{L}"], "", "scenario file {L} " + LOOP),
    (["coalition", "{L}"], "", "scenario file {L} " + LOOP),
    (["simulate", EX, "--out", "{L}"], ".json", "--out {L} " + LOOP),
    (["simulate", EX, "--xlsx", "{L}"], ".xlsx", "--xlsx {L} " + LOOP),
    (["simulate", EX, "--csv", "{L}"], "", "--csv {L} " + LOOP),
    (["report", EX, "-o", "{L}"], ".html", "--out {L} " + LOOP),
    (["sweep", EX, *SWEEP, "--csv", "{L}"], ".csv", "--csv {L} " + LOOP),
    (["uncertainty", EX, "--out", "{L}"], ".json", "--out {L} " + LOOP),
    (["uncertainty", EX, "--draws-out", "{L}"], ".csv", "--draws-out {L} " + LOOP),
    (["paths", PATHS, "--csv", "{L}"], "", "--csv {L} " + LOOP),
    (["paths", PATHS, "--html", "{L}"], ".html", "--html {L} " + LOOP),
    (["coalition", COAL, "--cache-dir", "{L}"], "", "--cache-dir {L} " + LOOP),
    (["coalition", COAL, "--out", "{L}"], ".json", "--out {L} " + LOOP),
    (["assess", "--zone", "{L}"], "", "--zone {L} " + LOOP),
    (["assess", "--view", "routing", "--comtrade", "{L}"], "", "--comtrade: {L} " + LOOP),
    (["serve", "--db", "{L}"], "", "--db {L} " + LOOP),
    (["--data", "{L}", "data", "info"], "", "--data {L} " + LOOP),
    (["data", "check", "--reference", "{L}"], "", "--reference {L} " + LOOP),
    (["data", "check", "--source", "{L}"], "", "--source {L} " + LOOP),
    (["data", "build", "--source", "{L}", "--out", "{T}/ds"], "", "--source {L} " + LOOP),
    (["data", "build", "--baci", "{L}", "--out", "{T}/ds"], "", "--baci {L} " + LOOP),
    (["data", "build", "--baci", EX, "--out", "{L}"], "", "--out {L} " + LOOP),
]


def _run(argv: list[str], subs: dict[str, str]) -> tuple[int, str]:
    for key, value in subs.items():
        argv = [a.replace(key, value) for a in argv]
    res = CliRunner().invoke(app, argv)
    return res.exit_code, " ".join(res.output.split())


def _case_id(argv: list[str]) -> str:
    return " ".join(Path(a).name if "/" in a else a for a in argv)


@pytest.mark.parametrize(("argv", "suffix", "words"), CASES, ids=[_case_id(c[0]) for c in CASES])
def test_a_symbolic_link_loop_is_named_as_one(
    argv: list[str], suffix: str, words: str, tmp_path: Path
) -> None:
    link = tmp_path / f"loop{suffix}"
    os.symlink(link.name, link)
    code, flat = _run(argv, {"{L}": str(link), "{T}": str(tmp_path)})
    words = words.replace("{L}", str(link))
    assert code == 2, flat
    assert words in flat, flat
    assert "does not exist" not in flat and "internal error" not in flat, flat
    assert link.is_symlink() and sorted(tmp_path.iterdir()) == [link]  # nothing written


def test_a_folder_on_the_way_that_loops_and_a_broken_link(tmp_path: Path) -> None:
    loop = tmp_path / "loop"
    os.symlink(loop.name, loop)
    code, flat = _run(["simulate", EX, "--out", str(loop / "r.json")], {})
    assert code == 2 and "cannot be resolved (a folder on its way is a symbolic link loop)" in flat
    broken = tmp_path / "s.toml"
    os.symlink("nowhere.toml", broken)
    code, flat = _run(["simulate", str(broken)], {})
    assert code == 2, flat
    assert f"scenario file {broken} is a broken symbolic link (to nowhere.toml" in flat
    # an output folder whose missing part is a broken link: no folder can be made there
    code, flat = _run(["simulate", EX, "--csv", str(broken / "tables")], {})
    assert code == 2 and "is a broken symbolic link" in flat, flat
    code, flat = _run(["simulate", str(tmp_path / "missing.toml")], {})  # as it was
    assert code == 2 and "missing.toml does not exist" in flat


def test_a_scenario_file_it_reads_that_loops(tmp_path: Path) -> None:
    """A flows file and a tariff file named by the scenario, through the same words."""
    (tmp_path / "flows.csv").symlink_to("flows.csv")
    (tmp_path / "tariffs.csv").symlink_to("tariffs.csv")
    (tmp_path / "u.toml").write_text(
        'name = "u"\n[zone]\nmembers = ["BBB"]\nwatch = ["AAA"]\n[[product]]\nid = "widget"\n'
        'flows = "flows.csv"\nbaseline_price_usd_per_t = 10\n'
    )
    (tmp_path / "t.toml").write_text(
        'name = "t"\n[zone]\nmembers = ["USA"]\n[[product]]\nid = "lithium_carbonate"\n'
        '[tariffs]\nfile = "tariffs.csv"\n'
    )
    code, flat = _run(["simulate", str(tmp_path / "u.toml")], {})
    assert code == 2 and "flows file" in flat and LOOP in flat, flat
    code, flat = _run(["simulate", str(tmp_path / "t.toml")], {})
    assert code == 2 and "tariffs.file" in flat and LOOP in flat, flat
