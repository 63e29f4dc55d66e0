"""Sets of output files (``--csv`` of ``critmin simulate`` and ``critmin paths``) are written
together: when one of them cannot be written (here a folder stands where a table goes), the
command ends with one message naming it and every file the user had is left as it was (they
were overwritten one by one up to the failure, and ``paths`` ended in an internal error)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.errors import WriteFailedError
from critmin.util import write_texts_together

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
