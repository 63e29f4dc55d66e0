"""An adversarial pass over the commands' options (audit C): an empty path, options that
contradict each other or change nothing, a repeated mineral, and folders that cannot be
searched (simulated: the tests may run as root, whom ``chmod 000`` does not stop). Each is a
usage error with one line, or a run with a visible warning, never a traceback or a silently
different result."""

from __future__ import annotations

import errno
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.coalition.cache import CoalitionCache
from critmin.errors import CritminError, WriteFailedError

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
EX = str(EXAMPLES / "01_lithium_floor_levy.toml")
COAL = str(EXAMPLES / "coalition_core.toml")
PATHS = str(EXAMPLES / "paths" / "lithium_floor_2026_2035.toml")


def _run(argv: list[str]) -> tuple[int, str]:
    res = CliRunner().invoke(app, argv)
    assert res.exception is None or isinstance(res.exception, SystemExit), repr(res.exception)
    assert "Traceback" not in res.output and "internal error" not in res.output, res.output
    return res.exit_code, " ".join(res.output.split())


# an empty path was the current folder: `--csv ""` wrote the tables there in silence,
# `--cache-dir ""` made a cache there, `simulate ""` said ". is a folder"
@pytest.mark.parametrize(
    ("argv", "option"),
    [
        (["simulate", ""], "'scenario'"),
        (["simulate", EX, "--csv", ""], "'--csv'"),
        (["simulate", EX, "--out", " "], "'--out' / '-o'"),
        (["report", EX, "-o", ""], "'--out' / '-o'"),
        (["sweep", EX, "-p", "policy[0].price_usd_per_t", "--values", "1", "--csv", ""], "'--csv'"),
        (["uncertainty", EX, "--draws-out", ""], "'--draws-out'"),
        (["paths", PATHS, "--csv", ""], "'--csv'"),
        (["coalition", COAL, "--cache-dir", ""], "'--cache-dir'"),
        (["assess", "--zone", ""], "'--zone'"),
        (["--data", "", "data", "info"], "'--data'"),
        (["data", "build", "--baci", ""], "'--baci'"),
        (["serve", "--db", ""], "'--db'"),
    ],
)
def test_an_empty_path_is_a_usage_error(
    argv: list[str], option: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, flat = _run(argv)
    assert code == 2, flat
    assert f"Invalid value for {option}: no path given" in flat, flat
    assert list(tmp_path.iterdir()) == []  # nothing written in the current folder


def test_a_path_option_still_takes_the_current_folder_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    code, flat = _run(["assess", "--minerals", "lithium", "--csv"])
    assert code == 0
    code, flat = _run(["--data", ".", "data", "info"])  # "." is a path: no dataset there
    assert code == 2 and "no dataset there" in flat


def test_sweep_steps_with_values_is_refused() -> None:
    """--values gives the points: --steps was ignored in silence."""
    code, flat = _run(
        ["sweep", EX, "-p", "policy[0].price_usd_per_t", "--values", "1e4", "--steps", "3"]
    )
    assert code == 2 and "--steps 3 is for the range --from/--to" in flat, flat


def test_coalition_member_players_and_members_as_players_is_refused() -> None:
    """--member-players won over --members-as-players in silence."""
    code, flat = _run(
        ["coalition", COAL, "--no-cache", "--member-players", "USA", "--members-as-players"]
    )
    assert code == 2, flat
    assert "give either --members-as-players" in flat and "not both" in flat


@pytest.mark.parametrize("view", ["supply", "nir", "criticality"])
def test_a_mineral_named_twice_is_shown_once(view: str) -> None:
    once = CliRunner().invoke(app, ["assess", "--view", view, "--minerals", "lithium", "--csv"])
    twice = CliRunner().invoke(
        app, ["assess", "--view", view, "--minerals", "lithium,LITHIUM", "--csv"]
    )
    assert once.exit_code == twice.exit_code == 0, twice.output
    assert twice.stdout == once.stdout


@pytest.mark.parametrize("fmt", ["--json", "--csv"])
def test_assess_wide_with_machine_output_warns(fmt: str) -> None:
    code, flat = _run(["assess", "--minerals", "lithium", "--wide", fmt])
    assert code == 0 and f"warning: no effect: --wide: {fmt} prints every field" in flat


def test_simulate_summary_options_with_json_warn() -> None:
    res = CliRunner().invoke(app, ["simulate", EX, "--json", "--top", "3", "--brief"])
    assert res.exit_code == 0, res.output
    flat = " ".join(res.stderr.split())
    assert "warning: no effect: --top 3: --json prints the results" in flat
    assert "warning: no effect: --brief: --json prints the results" in flat
    json.loads(res.stdout)  # the JSON itself is untouched
    plain = CliRunner().invoke(app, ["simulate", EX, "--top", "3"])
    assert plain.exit_code == 0 and "no effect" not in plain.output


@pytest.mark.parametrize("inside", ["", "ds"])
def test_data_build_into_its_source_folder_is_refused(inside: str, tmp_path: Path) -> None:
    """The tables were written among the raw releases (which are never to be mixed)."""
    source = tmp_path / "releases"
    source.mkdir()
    code, flat = _run(["data", "build", "--source", str(source), "--out", str(source / inside)])
    assert code == 2 and "is within --source" in flat, flat
    assert list(source.iterdir()) == []


def _unsearchable(monkeypatch: pytest.MonkeyPatch, folder: Path) -> None:
    """``Path.is_file``/``is_dir``/``is_symlink`` under ``folder`` raise PermissionError, as
    for a folder without search permission (``chmod 000``) to a user who is not root."""
    for name in ("is_file", "is_dir", "is_symlink"):
        real = getattr(Path, name)

        def denied(self: Path, _real: Any = real) -> bool:
            if self.is_relative_to(folder) and self != folder:
                raise PermissionError(errno.EACCES, "Permission denied", str(self))
            return bool(_real(self))

        monkeypatch.setattr(Path, name, denied)


def test_a_dataset_folder_that_cannot_be_searched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """--data, $CRITMIN_DATA: a traceback (``--data`` is read before any command's error
    handling); the user data folder: an internal error in every command."""
    from critmin.data import dataset

    folder = tmp_path / "ds"
    folder.mkdir()
    _unsearchable(monkeypatch, folder)
    code, flat = _run(["--data", str(folder), "data", "info"])
    assert code == 2 and f"--data {folder}: cannot read {folder}/manifest.json" in flat, flat
    assert "Permission denied" in flat
    monkeypatch.setenv("CRITMIN_DATA", str(folder))
    with pytest.raises(CritminError, match=r"CRITMIN_DATA=.*: cannot read"):
        dataset.dataset_dir()
    monkeypatch.delenv("CRITMIN_DATA")
    monkeypatch.setattr(dataset, "user_data_dir", lambda: folder)
    with pytest.raises(CritminError, match=r"the user data folder .*: cannot read"):
        dataset.dataset_dir()


def test_a_write_into_a_folder_that_cannot_be_searched_is_a_write_failure(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The table cache of every command wrote through ``is_symlink``, which raised
    PermissionError outside the handling that makes it a WriteFailedError: an internal error
    in ``simulate``, ``assess`` ... when the cache folder could not be searched."""
    from critmin.util import write_bytes_atomic, write_texts_together

    folder = tmp_path / "cache"
    folder.mkdir()
    _unsearchable(monkeypatch, folder)
    with pytest.raises(WriteFailedError, match="Permission denied"):
        write_bytes_atomic(folder / "t.cols", b"x")
    with pytest.raises(WriteFailedError, match="Permission denied"):
        write_texts_together({folder / "a.csv": "x"})


def test_a_coalition_cache_that_cannot_be_read_or_written_is_a_note(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The default cache folder is not checked as --cache-dir is: one it could not search
    was an internal error, one it could not write failed the run (exit 1) after its work."""
    entries = {"k": np.array([1.0, 2.0])}
    readonly = tmp_path / "ro"
    cache = CoalitionCache(readonly)

    def refuse(path: Any, data: Any) -> None:
        raise WriteFailedError(f"cannot write {path}: Permission denied")

    monkeypatch.setattr("critmin.coalition.cache.write_json_atomic", refuse)
    cache.store("m1", entries)
    cache.store("m2", entries)  # said once, then no more tries
    assert len(cache.notes) == 1 and "the cache was not written" in cache.notes[0]
    monkeypatch.undo()
    hidden = tmp_path / "hidden"
    (hidden / "coalition").mkdir(parents=True)
    _unsearchable(monkeypatch, hidden / "coalition")
    cache = CoalitionCache(hidden)
    assert cache.load("m1") == {} and cache.load("m2") == {}
    assert len(cache.notes) == 1 and "cannot be read (Permission denied)" in cache.notes[0]
    cache.store("m1", entries)  # no cache any more: nothing tried
    assert len(cache.notes) == 1


@pytest.mark.parametrize(
    ("rows", "why"),
    [
        ("", "(it has no rows)"),
        ("USA,CHN,999999,0.5\n", "(none of its 1 row(s) names HS 283691 with two of its"),
    ],
)
def test_a_tariff_file_that_sets_nothing_warns(rows: str, why: str, tmp_path: Path) -> None:
    """A user's tariff file was read and, when none of its rows reached a market, changed
    nothing in silence."""
    (tmp_path / "t.csv").write_text("importer,exporter,hs6,rate\n" + rows)
    (tmp_path / "s.toml").write_text(
        'name = "t"\n[zone]\nmembers = ["USA"]\n[[product]]\nid = "lithium_carbonate"\n'
        '[tariffs]\nfile = "t.csv"\n[[policy]]\ntype = "tariff"\nrate = 0.1\n'
    )
    code, flat = _run(["simulate", str(tmp_path / "s.toml")])
    assert code == 0, flat
    assert "warning: no effect: tariffs.file: t.csv sets no baseline tariff" in flat
    assert why in flat, flat
    (tmp_path / "t.csv").write_text("importer,exporter,hs6,rate\nUSA,CHN,283691,0.5\n")
    code, flat = _run(["simulate", str(tmp_path / "s.toml")])  # a row that applies: no word
    assert code == 0 and "tariffs.file" not in flat, flat
