"""The ``critmin`` command's shared parts: the Typer apps, the consoles, error handling and
table printing. Each command group lives in a module of its own (``critmin.cli.data``, ``assess``,
``simulate``, ``uncertainty``) that registers its commands on :data:`app`.

The command is a thin layer over the library.

Every command prints a readable Rich table by default and machine-readable output with
``--json`` or ``--csv``. A :class:`critmin.errors.CritminError` becomes one red line on stderr
and exit status 2; nothing else is caught, so a bug still shows its traceback.
"""

from __future__ import annotations

import functools
import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from rich.console import Console

from critmin.errors import CritminError

if TYPE_CHECKING:  # pandas, numpy and the model are imported where a command needs them, so
    import pandas as pd  # that `critmin --help` and the data commands start fast

app = typer.Typer(
    help="critmin: design and stress-test a critical-minerals preferential trade zone.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="The bundled reference dataset.", no_args_is_help=True)
app.add_typer(data_app, name="data")

# a wide console when piped, so tables are not squeezed to 80 columns
out = Console(soft_wrap=True, width=None if sys.stdout.isatty() else 240)
err = Console(stderr=True)

F = TypeVar("F", bound=Callable[..., Any])


def user_errors(fn: F) -> F:
    """Turn CritminError into one clear message and exit status 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except CritminError as e:
            err.print(f"[bold red]error:[/] {e}", highlight=False)
            raise typer.Exit(2) from None

    return wrapper  # type: ignore[return-value]


def json_text(data: object, indent: int | None) -> str:
    """The results as JSON text: compact by default (``separators`` without spaces; the C
    encoder, several times faster than an indented dump), indented with ``indent``. NaN is
    never written (the results contract holds ``null`` for a missing number)."""
    if indent is None:
        return json.dumps(data, separators=(",", ":"), allow_nan=False) + "\n"
    return json.dumps(data, indent=indent, allow_nan=False) + "\n"


def print_frame(df: pd.DataFrame, as_json: bool, as_csv: bool, title: str = "") -> None:
    """Print a DataFrame as JSON records, CSV or a Rich table."""
    import pandas as pd
    from rich.table import Table

    if as_json:
        sys.stdout.write(df.to_json(orient="records", indent=1, force_ascii=False) + "\n")
        return
    if as_csv:
        sys.stdout.write(df.to_csv(index=False))
        return
    constant = [c for c in df.columns if len(df) > 1 and df[c].astype(str).nunique() == 1]
    caption = ", ".join(f"{c} = {_fmt(df[c].iloc[0])}" for c in constant)
    df = df.drop(columns=constant)
    table = Table(title=title or None, caption=caption or None, show_lines=False)
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col])
        table.add_column(str(col), justify="right" if numeric else "left")
    for row in df.itertuples(index=False):
        table.add_row(*(_fmt(v) for v in row))
    out.print(table)


def _fmt(v: Any) -> str:
    import pandas as pd

    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return "-"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(v)


def load_solver() -> None:
    """Load the solver's compiled kernels, with a note on stderr while it runs: the very first
    run on a machine compiles them (about a minute; ``make setup`` does it ahead of time)."""
    from critmin.model import warm_up

    with err.status("loading the solver (compiled once per machine: the first run takes longer)"):
        warm_up()
