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


def _option_help(command: str, option: str) -> str:
    (param,) = [p for p in get_command(app).commands[command].params if p.name == option]
    return param.help or ""


def test_serve_help_points_to_the_interactive_api_docs() -> None:
    """``serve --help`` sent readers to ``/openapi.json`` (the raw document) while the README,
    docs/web.md and the server's own start-up line name ``/docs``, the page that works offline."""
    serve = get_command(app).commands["serve"]
    assert "/docs" in (serve.help or "")


def test_paths_help_says_what_draws_and_seed_default_to() -> None:
    """``paths --help`` gave no default for ``--draws`` and ``--seed``; docs/paths.md says the
    scenario's ``paths.draws`` (200) and ``paths.seed`` (0)."""
    from critmin.scenario.paths_settings import PathsSettings

    fields = PathsSettings.model_fields
    draws, seed = _option_help("paths", "draws"), _option_help("paths", "seed")
    assert "paths.draws" in draws and f"else {fields['draws'].default}" in draws
    assert "paths.seed" in seed and f"else {fields['seed'].default}" in seed
