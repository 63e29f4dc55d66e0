"""The command lists of ``critmin --help`` and ``critmin data --help``: each command's line is
its one-sentence summary (the first paragraph of its help), so that Rich's command panel,
which keeps the help's line breaks, does not print a sentence broken over ragged lines."""

from __future__ import annotations

import inspect
from typing import Any

from typer.main import get_command
from typer.testing import CliRunner

from critmin.cli import app


def _commands(group: Any, prefix: str = "") -> list[tuple[str, Any]]:
    """Every command under ``group`` (Typer's own click types: a group has ``commands``)."""
    out = []
    for name, command in group.commands.items():
        out.append((prefix + name, command))
        if hasattr(command, "commands"):
            out.extend(_commands(command, prefix + name + " "))
    return out


def test_every_command_summary_is_one_line() -> None:
    commands = _commands(get_command(app))
    assert len(commands) >= 15  # 8 commands, the data group and its 7 commands
    for name, command in commands:
        summary = command.short_help or inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert summary.strip(), f"critmin {name}: no help"
        assert "\n" not in summary, f"critmin {name}: summary over several lines: {summary!r}"


def test_the_command_panel_shows_whole_summaries() -> None:
    result = CliRunner().invoke(app, ["--help"], terminal_width=140, env={"COLUMNS": "140"})
    assert result.exit_code == 0
    lines = [line for line in result.output.splitlines() if line.startswith("│ assess")]
    assert len(lines) == 1
    assert lines[0].rstrip(" │").endswith("self-sufficiency.")


def test_assess_help_names_every_view() -> None:
    """``assess --help`` named three views while the command takes four (``routing`` too, which
    the README and docs/controls.md show)."""
    from critmin.cli.assess import ASSESS_VIEWS

    result = CliRunner().invoke(
        app, ["assess", "--help"], terminal_width=200, env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0
    view_help = get_command(app).commands["assess"].params
    (view,) = [p for p in view_help if p.name == "view"]
    for name in ASSESS_VIEWS:
        assert name in (view.help or ""), f"--view help does not name {name!r}"
        assert f"--view {name}" in result.output or name == "supply", name
