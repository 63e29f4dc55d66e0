"""Sets of output files (``--csv`` of ``critmin simulate`` and ``critmin paths``) are written
together: when one of them cannot be written (here a folder stands where a table goes), the
command ends with one message naming it and every file the user had is left as it was (they
were overwritten one by one up to the failure, and ``paths`` ended in an internal error)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.errors import WriteFailedError
from critmin.util import write_text_atomic, write_texts_together

REPO = Path(__file__).resolve().parents[2]
runner = CliRunner()
PATHS_ARGS = ["paths", str(REPO / "examples/paths/lithium_floor_2026_2035.toml")]
PATHS_ARGS += ["--years", "2025-2027", "--draws", "0", "--no-progress"]


def test_all_files_or_none(tmp_path: Path) -> None:
    (tmp_path / "a.csv").write_text("old a")
    (tmp_path / "c.csv").mkdir()
    with pytest.raises(WriteFailedError, match=r"c\.csv"):
        write_texts_together({tmp_path / "a.csv": "new a", tmp_path / "c.csv": "new c"})
    assert (tmp_path / "a.csv").read_text() == "old a"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "c.csv"]  # no temp file left
    write_texts_together({tmp_path / "a.csv": "new a", tmp_path / "sub" / "b.csv": "b"})
    assert (tmp_path / "a.csv").read_text() == "new a"
    assert (tmp_path / "sub" / "b.csv").read_text() == "b"


@pytest.mark.parametrize(
    ("args", "blocked", "kept"),
    [
        (
            [*PATHS_ARGS],
            "npv.csv",
            "mechanisms.csv",
        ),
        (
            ["simulate", str(REPO / "examples/01_lithium_floor_levy.toml")],
            "flows.csv",
            "products.csv",
        ),
    ],
)
def test_a_csv_set_that_cannot_be_written_leaves_the_users_files(
    tmp_path: Path, args: list[str], blocked: str, kept: str
) -> None:
    out = tmp_path / "csv"
    (out / blocked).mkdir(parents=True)
    (out / kept).write_text("the user's own file")
    res = runner.invoke(app, [*args, "--csv", str(out)])
    assert res.exit_code == 1, res.output
    assert "cannot write" in res.stderr and blocked in res.stderr
    assert "internal error" not in res.output + res.stderr
    assert (out / kept).read_text() == "the user's own file"
    assert sorted(p.name for p in out.iterdir()) == sorted([blocked, kept])


def test_a_file_name_near_the_limit_is_written(tmp_path: Path) -> None:
    """A 250-character name is legal (the limit is 255 bytes), but the temporary file beside
    it, named after it with a random part, was not: the write failed after the work."""
    from critmin.util import write_bytes_together, write_text_atomic

    long = tmp_path / ("b" * 245 + ".json")
    write_text_atomic(long, "{}")
    write_bytes_together({long: b"[]"})
    assert long.read_text() == "[]"
    assert [p.name for p in tmp_path.iterdir()] == [long.name]  # no temporary file left


def test_an_output_on_a_link_to_the_scenario_is_refused(tmp_path: Path) -> None:
    """``--out`` naming the scenario through a symbolic link (or a hard link) is the scenario:
    the results would replace it."""
    scenario = (REPO / "examples/01_lithium_floor_levy.toml").read_text(encoding="utf-8")
    (tmp_path / "s.toml").write_text(scenario, encoding="utf-8")
    (tmp_path / "soft.html").symlink_to(tmp_path / "s.toml")
    (tmp_path / "hard.html").hardlink_to(tmp_path / "s.toml")
    for link in ("soft.html", "hard.html"):
        res = runner.invoke(app, ["report", str(tmp_path / "s.toml"), "-o", str(tmp_path / link)])
        assert res.exit_code == 2, res.output
        assert "is the scenario file: writing there would replace it" in " ".join(
            res.output.split()
        )
    assert (tmp_path / "s.toml").read_text(encoding="utf-8") == scenario


def test_outputs_apart_allows_a_file_inside_the_tables_folder(tmp_path: Path) -> None:
    """``--csv d --html d/page.html``: the page is not one of the tables, so both are fine;
    ``--csv d --out d/warnings.csv`` would be replaced by the tables."""
    from critmin.errors import OutputPathError
    from critmin.util import check_outputs_apart

    folder = tmp_path / "d"
    check_outputs_apart({"--html": folder / "page.html"}, {"--csv": (folder, ["npv.csv"])})
    with pytest.raises(OutputPathError, match="is a file written by --csv"):
        check_outputs_apart({"--out": folder / "npv.csv"}, {"--csv": (folder, ["npv.csv"])})
    with pytest.raises(OutputPathError, match="is inside --out"):
        check_outputs_apart({"--out": tmp_path / "x.json", "--xlsx": tmp_path / "x.json/a.xlsx"})


def test_an_output_that_is_a_link_is_written_through(tmp_path: Path) -> None:
    """``--out link.json`` where the link points at a results file elsewhere: the file it
    points to gets the new content, the link stays a link (renaming onto it replaced the
    link by a plain file and left the file it pointed to stale), and a replaced file keeps
    its permissions."""
    real = tmp_path / "store" / "results.json"
    real.parent.mkdir()
    real.write_text("old")
    real.chmod(0o640)
    link = tmp_path / "latest.json"
    link.symlink_to(real)
    write_text_atomic(link, "new")
    assert link.is_symlink() and real.read_text() == "new"
    assert real.stat().st_mode & 0o777 == 0o640
    write_texts_together({link: "newer", tmp_path / "b.csv": "b"})
    assert link.is_symlink() and real.read_text() == "newer"
    assert sorted(p.name for p in real.parent.iterdir()) == ["results.json"]  # no temp left
    result = runner.invoke(
        app, ["simulate", str(REPO / "examples/01_lithium_floor_levy.toml"), "--out", str(link)]
    )
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and '"products"' in real.read_text()


def test_ctrl_c_right_after_the_temporary_file_is_made_leaves_none(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C arriving the moment the temporary file beside the user's file exists (before
    its name was recorded: ``mkstemp`` had not returned it) left a hidden
    ``.results.json.xxxxxxxx`` there (seen with `critmin uncertainty --out` under load)."""
    import os

    (tmp_path / "results.json").write_text("the user's")
    real_open = os.open

    def interrupted(name: Any, flags: int, *args: Any, **kwargs: Any) -> int:
        fd = real_open(name, flags, *args, **kwargs)
        if Path(name).name.startswith(".results.json"):
            os.close(fd)
            raise KeyboardInterrupt
        return fd

    monkeypatch.setattr(os, "open", interrupted)
    for write in (
        lambda: write_text_atomic(tmp_path / "results.json", "new"),
        lambda: write_texts_together({tmp_path / "results.json": "new"}),
    ):
        with pytest.raises(KeyboardInterrupt):
            write()
        assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]
        assert (tmp_path / "results.json").read_text() == "the user's"
