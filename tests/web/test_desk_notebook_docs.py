"""The notebook page of the analyst's desk (docs/analysis.md) states what the notebook code
gives: its quoted answers are those ``critmin.simulate(...).headline()`` writes for the same
example files, word for word and number for number."""

from __future__ import annotations

import re
from pathlib import Path

import critmin

ROOT = Path(__file__).resolve().parents[2]
DOC = (ROOT / "docs" / "analysis.md").read_text(encoding="utf-8")


def _quotes() -> list[str]:
    """The doc's block quotes (``> ...`` lines), each as one line of text."""
    blocks = re.findall(r"(?:^> .*\n)+", DOC, flags=re.MULTILINE)
    return [" ".join(line[2:].strip() for line in b.splitlines()) for b in blocks]


def _flat(text: str) -> str:
    return " ".join(text.split())


def test_notebook_docs_quote_example_1s_answer() -> None:
    answer = critmin.simulate(ROOT / "examples" / "01_lithium_floor_levy.toml").headline()
    assert _flat(answer.paragraph) in _quotes()


def test_notebook_docs_quote_the_lithium_chains_answer() -> None:
    """The chain paragraph said the zone gained USD 7 k on the chain (and its refiners took
    90.4%) after the chain's figures had moved to a loss of USD 139 k (90.7%)."""
    path = ROOT / "examples" / "chains" / "lithium_floor_ore_and_refined.toml"
    answer = critmin.simulate(path).headline()
    assert _flat(answer.chains["lithium"]) in _quotes()
