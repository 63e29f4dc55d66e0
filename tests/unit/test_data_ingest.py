"""``critmin data build --baci``: a synthetic release in BACI's exact format, end to end, and
corrupt or foreign releases that must fail with one message and leave the old dataset intact."""

from __future__ import annotations

import json
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from critmin.cli import app
from critmin.data.dataset import REFERENCE_DIR, use_dataset
from critmin.sources.baci_release import write_synthetic_release

runner = CliRunner()
CODES = ("253090", "283691", "810520", "010121", "740311")
"""Three of the concordance's codes, one with a leading zero that is not, and copper cathode."""


@pytest.fixture(autouse=True)
def _default_dataset(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv("CRITMIN_DATA", raising=False)
    yield
    use_dataset(None)


def _zip(folder: Path, target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in sorted(folder.glob("*.csv")):
            zf.write(p, f"BACI_HS17_V202601/{p.name}")
    return target


@pytest.fixture(scope="module")
def release(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("baci") / "release"
    write_synthetic_release(folder, (2022, 2023), 2500, CODES, seed=7)
    return folder


def _build(args: list[str]) -> tuple[int, str]:
    res = runner.invoke(app, ["data", "build", *args])
    return res.exit_code, res.output


def _independent_totals(release: Path, codes: set[str]) -> pd.DataFrame:
    """Plain pandas reading of the year files: totals per (year, hs6) in USD and tonnes."""
    frames = []
    for p in sorted(release.glob("BACI_HS17_Y*_V202601.csv")):
        df = pd.read_csv(p, dtype={"k": str, "q": str})
        df["hs6"] = df["k"].str.zfill(6)
        df["q"] = pd.to_numeric(df["q"].str.strip().replace({"NA": None, "": None}))
        frames.append(df[df["hs6"].isin(codes)])
    raw = pd.concat(frames)
    return raw.groupby(["t", "hs6"]).agg(v=("v", "sum"), q=("q", "sum"), n=("v", "size"))


def test_synthetic_release_builds_a_dataset_every_command_uses(
    release: Path, tmp_path: Path
) -> None:
    archive = _zip(release, tmp_path / "BACI_HS17_V202601.zip")
    out = tmp_path / "mydata"
    code, output = _build(["--baci", str(archive), "--out", str(out)])
    assert code == 0, output
    assert "rows kept for 2022" in output  # progress (stderr is mixed into output here)

    flows = pd.read_parquet(out / "flows.parquet")
    observed = flows[flows["basis"] == "observed"]
    kept = {"253090", "283691", "810520", "740311"}
    assert set(observed["hs6"]) == kept  # 010121 is not a catalog code
    want = _independent_totals(release, kept)
    got = observed.groupby(["year", "hs6"]).agg(
        v=("value_usd", "sum"), q=("quantity_t", "sum"), n=("value_usd", "size")
    )
    assert got["n"].to_numpy().tolist() == want["n"].to_numpy().tolist()
    np.testing.assert_allclose(got["v"].to_numpy(), want["v"].to_numpy() * 1000, rtol=1e-12)
    np.testing.assert_allclose(got["q"].to_numpy(), want["q"].to_numpy(), rtol=1e-12)
    assert observed["quantity_t"].isna().sum() > 0  # 'NA' and blank are missing, not zero
    assert set(observed["exporter"]) | set(observed["importer"]) >= {"TWN", "AUS", "CHN"}
    # estimates survive only for products the release lacks, in the release's years
    est = flows[flows["basis"] == "estimate"]
    assert not est.empty and not set(est["product_id"]) & set(observed["product_id"])
    assert set(est["year"]) <= {2022, 2023}

    res = runner.invoke(app, ["--data", str(out), "data", "info", "--json"])
    info = json.loads(res.stdout)
    assert info["dataset"] == str(out) and info["in_use_because"] == "--data"
    assert info["built_from"]["release"] == "V202601" and info["built_from"]["hs"] == "HS17"
    assert info["trade_years"] == [2022, 2023]
    res = runner.invoke(
        app,
        [
            "--data",
            str(out),
            "data",
            "show",
            "flows",
            "--product",
            "253090",
            "--year",
            "2023",
            "--exporter",
            "AUS",
            "--json",
        ],
    )
    rows = json.loads(res.stdout)
    assert rows and all(r["basis"] == "observed" and r["exporter"] == "AUS" for r in rows)
    res = runner.invoke(app, ["--data", str(out), "data", "check"])
    assert res.exit_code == 0, res.output


def test_all_products_keeps_codes_outside_the_catalog(release: Path, tmp_path: Path) -> None:
    out = tmp_path / "all"
    code, output = _build(["--baci", str(release), "--out", str(out), "--all-products"])
    assert code == 0, output
    flows = pd.read_parquet(out / "flows.parquet")
    other = flows[flows["hs6"] == "010121"]
    assert len(other) > 0 and set(other["product_id"]) == {"010121"}


def test_environment_variable_names_the_dataset(
    release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = tmp_path / "env"
    assert _build(["--baci", str(release), "--out", str(out)])[0] == 0
    monkeypatch.setenv("CRITMIN_DATA", str(out))
    info = json.loads(runner.invoke(app, ["data", "info", "--json"]).stdout)
    assert info["dataset"] == str(out) and info["in_use_because"] == "CRITMIN_DATA"
    monkeypatch.setenv("CRITMIN_DATA", str(tmp_path / "nowhere"))
    res = runner.invoke(app, ["data", "info"])
    assert res.exit_code == 2 and "CRITMIN_DATA" in res.output


def _variant(release: Path, folder: Path, edit: Callable[[str], str]) -> Path:
    """A copy of the release whose year files are passed through ``edit``."""
    folder.mkdir()
    for p in release.glob("*.csv"):
        text = p.read_text(encoding="utf-8")
        (folder / p.name).write_text(
            edit(text) if p.name.startswith("BACI_") else text, encoding="utf-8"
        )
    return folder


def _corrupt_cases(release: Path, tmp: Path) -> dict[str, Path]:
    good_zip = _zip(release, tmp / "good.zip")
    truncated = tmp / "truncated.zip"
    truncated.write_bytes(good_zip.read_bytes()[: good_zip.stat().st_size // 2])
    cut = _variant(release, tmp / "cut", lambda t: t[: len(t) // 2].rsplit(",", 2)[0])
    foreign = _variant(
        release, tmp / "foreign", lambda t: "year,exporter,importer,hs6,value_kusd\n2022,AUS\n"
    )
    bad_number = _variant(
        release,
        tmp / "bad_number",
        lambda t: t.replace("\n2022,", "\n2022,x", 1).replace("\n2023,", "\n2023,x", 1),
    )
    not_baci = tmp / "not_baci.zip"
    with zipfile.ZipFile(not_baci, "w") as zf:
        zf.writestr("data.csv", "a,b\n1,2\n")
    return {
        "truncated zip": truncated,
        "row cut in the middle": cut,
        "foreign header": foreign,
        "non-numeric code": bad_number,
        "no year file": not_baci,
    }


def test_corrupt_releases_fail_clearly_and_leave_the_old_dataset(
    release: Path, tmp_path: Path
) -> None:
    out = tmp_path / "kept"
    assert _build(["--baci", str(release), "--out", str(out)])[0] == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    for what, path in _corrupt_cases(release, tmp_path).items():
        code, output = _build(["--baci", str(path), "--out", str(out)])
        assert code == 2, f"{what}: {output}"
        assert "error:" in output and "Traceback" not in output, what
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before, what
        assert not list(tmp_path.glob(".kept.building-*")), what


def test_build_refuses_the_bundled_folder_and_all_products_without_baci(release: Path) -> None:
    code, output = _build(["--baci", str(release), "--out", str(REFERENCE_DIR)])
    assert code == 2 and "bundled" in output
    code, output = _build(["--all-products"])
    assert code == 2 and "--baci" in output


def test_build_never_deletes_files_that_are_not_a_datasets(release: Path, tmp_path: Path) -> None:
    """The build replaces its output folder whole: a folder holding anything else (a user's
    files, the release it reads) is refused, and every file in it stays."""
    project = tmp_path / "project"
    (project / "sub").mkdir(parents=True)
    (project / "notes.txt").write_text("important")
    (project / "sub" / "a.csv").write_text("x")
    code, output = _build(["--baci", str(release), "--out", str(project)])
    assert code == 2 and "holds files that are not a dataset's" in " ".join(output.split())
    assert (project / "notes.txt").read_text() == "important" and (
        project / "sub" / "a.csv"
    ).exists()
    code, output = _build(["--baci", str(release), "--out", str(release.parent)])
    assert code == 2 and "is inside it" in " ".join(output.split())
    assert release.is_dir() and any(release.iterdir())
    # an earlier dataset is replaced, as before
    out = tmp_path / "ds"
    assert _build(["--baci", str(release), "--out", str(out)])[0] == 0
    assert _build(["--baci", str(release), "--out", str(out)])[0] == 0


@pytest.mark.skipif(sys.platform in {"win32", "darwin"}, reason="XDG data folder (Linux)")
def test_default_goes_to_the_user_data_folder_and_is_used(
    release: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    code, output = _build(["--baci", str(release)])
    assert code == 0, output
    folder = tmp_path / "xdg" / "critmin" / "dataset"
    assert (folder / "manifest.json").is_file()
    info = json.loads(runner.invoke(app, ["data", "info", "--json"]).stdout)
    assert info["dataset"] == str(folder) and info["in_use_because"] == "user data folder"
    # rebuilt from itself (the dataset in use is the base): still complete and checked
    assert _build(["--baci", str(release)])[0] == 0
    assert runner.invoke(app, ["data", "check"]).exit_code == 0
