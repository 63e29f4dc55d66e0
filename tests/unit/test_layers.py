"""The layers of docs/architecture.md are enforced: ``lint-imports`` passes on the tree, and fails
when a forbidden import is added or a layer rule is taken out (so the contract is not vacuous)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(
    not LINT_IMPORTS.exists(), reason="lint-imports is not installed (pip install -e '.[dev]')"
)


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run lint-imports on the package copy under ``root/src`` with ``root/pyproject.toml``."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", str(root / "pyproject.toml")],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def copy(tmp_path: Path) -> Path:
    """A copy of the package's sources and its pyproject.toml."""
    shutil.copytree(
        REPO / "src" / "critmin",
        tmp_path / "src" / "critmin",
        ignore=shutil.ignore_patterns("__pycache__", "*.parquet", "*.geojson", "*.nbi", "*.nbc"),
    )
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_the_tree_keeps_every_contract() -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    run = subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert re.search(r"Contracts: (\d+) kept, 0 broken", run.stdout)


def test_the_model_importing_the_world_breaks_the_contract(copy: Path) -> None:
    core = copy / "src" / "critmin" / "model" / "core.py"
    core.write_text(core.read_text() + "\nfrom critmin.world import load_world  # noqa\n")
    run = lint(copy)
    assert run.returncode != 0
    assert "reads no data" in run.stdout and "BROKEN" in run.stdout


def test_an_upward_import_breaks_the_layers(copy: Path) -> None:
    world = copy / "src" / "critmin" / "world.py"
    world.write_text(world.read_text() + "\nimport critmin.simulation  # noqa\n")
    run = lint(copy)
    assert run.returncode != 0
    assert "The data flows one way" in run.stdout and "BROKEN" in run.stdout


def test_removing_a_layer_rule_fails(copy: Path) -> None:
    """The layers contract is exhaustive: a module left out of it is an error."""
    toml = copy / "pyproject.toml"
    text = toml.read_text()
    assert '    "simulation",\n' in text
    toml.write_text(text.replace('    "simulation",\n', "", 1))
    run = lint(copy)
    assert run.returncode != 0, run.stdout


def test_no_source_module_is_over_800_lines() -> None:
    """One job per module: none is over 800 lines, except the compiled kernels of the model,
    which Numba's cache needs in one file (it misses changes in callees from other files)."""
    allowed = {Path("src/critmin/model/kernels.py")}
    long = {
        str(path.relative_to(REPO)): n
        for path in (REPO / "src" / "critmin").rglob("*.py")
        if path.relative_to(REPO) not in allowed
        and (n := len(path.read_text(encoding="utf-8").splitlines())) > 800
    }
    assert not long, f"modules over 800 lines: {long}"


def test_the_public_api_works_any_number_of_times(tmp_path: Path) -> None:
    """critmin.simulate, critmin.assess and critmin.load_world stay functions after their
    modules are imported (a submodule named like a public function would shadow it)."""
    script = """
import critmin
import critmin.simulation, critmin.assessment, critmin.world  # the modules, imported first
for _ in range(3):
    world = critmin.load_world(2024)
    result = critmin.simulate("examples/01_lithium_floor_levy.toml", world=world)
    zone = critmin.assessment.Zone(members=["USA", "CAN", "AUS"], watch=["CHN"])
    records = critmin.assess(world, minerals=["lithium"], zone=zone)
    assert result.converged and records, "no result"
print(type(critmin.simulate).__name__, type(critmin.assess).__name__, type(critmin.load_world).__name__)
"""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    run = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["function", "function", "function"]
