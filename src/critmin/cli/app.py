"""The ``critmin`` command's shared parts: the Typer apps, the consoles, error handling and
table printing. Each command group lives in a module of its own (``critmin.cli.data``, ``assess``,
``simulate``, ``uncertainty``) that registers its commands on :data:`app`.

The command is a thin layer over the library.

Every command prints a readable Rich table by default and machine-readable output with
``--json`` or ``--csv``. Errors (:func:`user_errors`):

- a :class:`critmin.errors.CritminError` (bad input, a path that cannot be written, failed
  checks) becomes one red line on stderr and its exit status: 2 for usage errors, 1 for failures;
- anything else is a bug in critmin: one line says so, names the log file holding the details
  (under ``~/.local/state/critmin/``) and how to report it; exit status 1. ``critmin --debug ...``
  shows the traceback instead;
- numpy's RuntimeWarnings that reach the command are collected and printed as one diagnosis.
"""

from __future__ import annotations

import functools
import gc
import json
import math
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

import typer

from critmin.errors import CritminError, shorten_values

if TYPE_CHECKING:  # pandas, numpy and the model are imported where a command needs them, so
    import pandas as pd  # that `critmin --help` and the data commands start fast
    from rich.console import Console
    from rich.progress import Progress

app = typer.Typer(
    help="critmin: design and stress-test a critical-minerals preferential trade zone.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(
    help="The dataset: the bundled reference one, or your own (critmin data build --baci).",
    no_args_is_help=True,
)
app.add_typer(data_app, name="data")


class LazyConsole:
    """A Rich ``Console`` made on first use (attribute access): importing Rich costs a process
    about 25 ms of CPU, and ``critmin simulate --json`` with stderr piped prints nothing
    with it. The options are fixed when this is made, as for a ``Console``."""

    def __init__(self, **options: Any) -> None:
        self._options = options
        self._console: Console | None = None

    @property
    def console(self) -> Console:
        """The ``Console`` itself (made now if not yet)."""
        if self._console is None:
            from rich.console import Console

            self._console = Console(**self._options)
        return self._console

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)


def real_console(console: Console) -> Console:
    """The ``Console`` behind :data:`out` or :data:`err` (a test may have put a real one)."""
    return console.console if isinstance(console, LazyConsole) else console


def escape(text: str) -> str:
    """Rich's markup escape (``[`` in a message is text, not a style)."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


# a wide console when piped, so tables are not squeezed to 80 columns
out = cast(
    "Console",
    LazyConsole(soft_wrap=True, width=None if sys.stdout.isatty() else 240, emoji=False),
)
err = cast("Console", LazyConsole(stderr=True, emoji=False))

F = TypeVar("F", bound=Callable[..., Any])

BUG_REPORT = "please report it to the critmin maintainers (an issue on the project's tracker)"
"""How to report an internal error, printed with the log file's path."""

_options = {"debug": False}


def _given_path(value: Any) -> Path:
    """A path option's text as a ``Path``; an empty one (``--csv ""``, ``--out "$UNSET"``)
    is a usage error: ``Path("")`` is the current folder, so ``--csv ""`` wrote the tables
    there in silence and ``--cache-dir ""`` made a cache in it."""
    if isinstance(value, Path):  # a default
        return value
    if not str(value).strip():
        raise typer.BadParameter(f"no path given (got {value!r}); give a file or folder path")
    return Path(value)


def path_option(*args: Any, **kwargs: Any) -> Any:
    """``typer.Option`` for a path: an empty path is refused (:func:`_given_path`)."""
    return typer.Option(*args, parser=_given_path, **kwargs)


def path_argument(*args: Any, **kwargs: Any) -> Any:
    """``typer.Argument`` for a path: an empty path is refused (:func:`_given_path`)."""
    return typer.Argument(*args, parser=_given_path, **kwargs)


@app.callback()
def main_options(
    debug: bool = typer.Option(
        False,
        "--debug",
        help="On an internal error, show the full traceback instead of writing it to a log file.",
    ),
    data: Path | None = path_option(
        None,
        "--data",
        help="Use the dataset in this folder (default: $CRITMIN_DATA, else your own build in "
        "the user data folder, else the bundled one; see 'critmin data info').",
    ),
) -> None:
    """critmin: design and stress-test a critical-minerals preferential trade zone."""
    from critmin.data.dataset import use_dataset

    _options["debug"] = debug or os.environ.get("CRITMIN_DEBUG", "") not in {"", "0"}
    try:
        use_dataset(data)
    except CritminError as e:
        err.print(f"[bold red]error:[/] {escape(shorten_values(str(e)))}", highlight=False)
        raise typer.Exit(2) from None


def user_errors(fn: F) -> F:
    """Run a command so that nothing but a clear message reaches the user.

    CritminError -> one red line and its ``exit_code`` (2 usage error, 1 failure); a bug (any
    other exception) -> one line naming the log file with the traceback, exit 1 (``--debug``
    re-raises it); Ctrl-C -> exit 130; a closed pipe (``| head``) -> a quiet exit. numpy
    RuntimeWarnings are gathered into one diagnosis line instead of leaking to the terminal.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from critmin.util import numerical_warnings, write_crash_log

        numeric: list[str] = []
        failed = False  # no figures were printed: a numerical warning would explain nothing
        try:
            with numerical_warnings() as numeric:
                return fn(*args, **kwargs)
        except CritminError as e:
            failed = True
            err.print(f"[bold red]error:[/] {escape(shorten_values(str(e)))}", highlight=False)
            raise typer.Exit(e.exit_code) from None
        except (typer.Exit, typer.Abort, typer.exceptions.TyperException):
            raise  # exits and usage errors (Typer's click exceptions are TyperExceptions)
        except KeyboardInterrupt:
            failed = True
            err.print("[bold red]interrupted[/]")
            raise typer.Exit(130) from None
        except BrokenPipeError:
            _quiet_stdout()
            raise typer.Exit(0) from None
        except Exception as e:  # a bug: reported as one, with the details in a log file
            failed = True
            if _options["debug"] or caused_by_interrupt(e):
                raise  # Ctrl-C inside compiled code surfaces chained to an error
            try:
                where = f"The details were written to {write_crash_log(e)}; {BUG_REPORT}, "
                where += "with that file attached."
            except OSError as log_error:
                where = f"The details could not be written ({log_error}); {BUG_REPORT}."
            err.print(
                f"[bold red]internal error:[/] this is a bug in critmin, not a problem with "
                f"your input ({type(e).__name__}: {escape(_first_line(e))}). {where} "
                "'critmin --debug ...' shows the traceback.",
                highlight=False,
            )
            raise typer.Exit(1) from None
        finally:
            if numeric and not failed:
                err.print(
                    "[yellow]numerical warning:[/] "
                    + escape("; ".join(numeric))
                    + ": some figures overflowed or are undefined; they are shown as '-' "
                    "(null in JSON)",
                    highlight=False,
                )

    return wrapper  # type: ignore[return-value]


def without_cycle_collection(fn: F) -> F:
    """Run a one-shot command with Python's cycle collector off (and back as it was after).

    A run such as ``critmin simulate`` ends the process right after: the collector would only
    re-scan the heap (Numba's type registries, the results' records) some 300 times for
    nothing, about 0.1 s of CPU. Reference counting still frees everything that is not a
    cycle. Not for long-running commands (a server, many draws)."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        enabled = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if enabled:
                gc.enable()

    return wrapper  # type: ignore[return-value]


def _first_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0][:200] if text else "no message"


def _quiet_stdout() -> None:
    """After a broken pipe, point stdout at /dev/null so that Python's exit flush is silent."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass


def number_check(
    minimum: float | None = None,
    maximum: float | None = None,
    *,
    above: float | None = None,
    below: float | None = None,
) -> Callable[[Any], Any]:
    """A Typer option callback: the value must be a finite number in range (``nan`` and
    ``inf`` parse as floats, and click's ranges let NaN through), else a usage error naming the
    option, the value and the range (exit 2)."""

    def check(value: Any) -> Any:
        if value is None:
            return value
        parts = []
        if above is not None:
            parts.append(f"greater than {above:g}")
        if minimum is not None:
            parts.append(f"at least {minimum:g}")
        if maximum is not None:
            parts.append(f"at most {maximum:g}")
        if below is not None:
            parts.append(f"less than {below:g}")
        allowed = "a finite number" + (" " + " and ".join(parts) if parts else "")
        ok = isinstance(value, int) or math.isfinite(value)
        ok = ok and (above is None or value > above)
        ok = ok and (minimum is None or value >= minimum)
        ok = ok and (maximum is None or value <= maximum)
        ok = ok and (below is None or value < below)
        if not ok:
            raise typer.BadParameter(f"must be {allowed}, got {value!r}")
        return value

    return check


def json_bytes(data: object, indent: int | None) -> bytes:
    """The results as JSON (UTF-8): compact by default, indented with ``indent``. NaN and
    infinities are never written (the results contract holds ``null`` for a missing number).

    Compact output is :func:`critmin.numbers.compact_json` (``orjson``, about 10x faster than
    the standard library on a 7 MB result: 12 ms instead of 120 ms; it writes ``null`` for a
    NaN). Whatever orjson does not take as it is (numpy scalars, keys that are not strings,
    integers beyond 64 bits) is cleaned first (:func:`critmin.numbers.clean`) and written by
    :mod:`json`; indented output goes through :mod:`json` as before (``allow_nan=False``).
    The parsed content is the same either way; the text differs only in number spelling
    (``1e-5`` for ``1e-05``) and in non-ASCII characters, written as UTF-8 instead of
    ``\\u`` escapes."""
    if indent is None:
        from critmin.numbers import compact_json

        return compact_json(data) + b"\n"
    return (json.dumps(data, indent=indent, allow_nan=False) + "\n").encode()


def json_text(data: object, indent: int | None) -> str:
    """:func:`json_bytes` as text."""
    return json_bytes(data, indent).decode("utf-8")


def write_stdout(blob: bytes) -> None:
    """Write UTF-8 bytes to stdout (its binary buffer when it has one: no re-encoding, and
    no error on a console whose encoding cannot show every character)."""
    buffer = getattr(sys.stdout, "buffer", None)
    if buffer is None:
        sys.stdout.write(blob.decode("utf-8"))
        return
    sys.stdout.flush()
    buffer.write(blob)
    buffer.flush()


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
    # columns with one value throughout move to the caption, but never the first (the rows'
    # key: a sweep's parameter), so that a table whose figures are all the same still shows
    constant = [c for c in df.columns[1:] if len(df) > 1 and df[c].astype(str).nunique() == 1]
    caption = ", ".join(f"{c} = {_fmt(df[c].iloc[0])}" for c in constant)
    df = df.drop(columns=constant)
    # every text is the data's or the scenario's, never markup: "[/bold]" in a name is text
    table = Table(title=escape(title) or None, caption=escape(caption) or None, show_lines=False)
    for col in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[col]) and not pd.api.types.is_bool_dtype(df[col])
        table.add_column(escape(str(col)), justify="right" if numeric else "left")
    for row in df.itertuples(index=False):
        table.add_row(*(escape(_fmt(v)) for v in row))
    out.print(table)


def print_notes(console: Any, notes: list[str]) -> None:
    """A result's notes, one a line: those that warn (they start with one of
    :data:`critmin.note_kinds.WARNING_PREFIXES`) as ``warning:``, the others as
    ``note:``."""
    from critmin.note_kinds import WARNING_PREFIXES

    for note in notes:
        kind = "warning" if note.startswith(WARNING_PREFIXES) else "note"
        console.print(f"[yellow]{kind}:[/] {escape(note)}", highlight=False)


def warn_no_effect(option: str, why: str) -> None:
    """An option given that changes nothing in this run (``--seed 5`` without draws), said on
    stderr as ``warning: no effect: OPTION: WHY`` instead of being ignored in silence; the run
    goes on (legal input that does nothing warns, it is not an error)."""
    err.print(
        f"[bold yellow]warning:[/] no effect: {escape(option)}: {escape(why)}", highlight=False
    )


def _fmt(v: Any) -> str:
    import pandas as pd

    if v is None or (isinstance(v, float) and pd.isna(v)) or v is pd.NA:
        return "-"
    if isinstance(v, float):
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        return f"{v:.4g}"
    return str(v)


def progress_bar(show: bool) -> Progress:
    """A transient progress bar on stderr (description, bar, done/total, time left); a no-op
    when ``show`` is false."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeRemainingColumn

    return Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=real_console(err),
        transient=True,
        disable=not show,
    )


def load_solver() -> None:
    """Load the solver's compiled kernels, with a note on stderr while it runs: the very first
    run on a machine compiles them (about a minute; ``make setup`` does it ahead of time)."""
    from critmin.model import warm_up

    if not sys.stderr.isatty():  # a status line shows on a terminal only: no Rich for nothing
        warm_up()
        return
    with err.status("loading the solver (compiled once per machine: the first run takes longer)"):
        warm_up()


class Interrupted(BaseException):
    """Ctrl-C, raised by the SIGINT handler that :func:`critmin.cli.main` installs. Not a
    ``KeyboardInterrupt``, which the command-line framework would turn into "Aborted!" and
    status 1; not an ``Exception``, so that no ``except Exception`` on the way swallows it."""


def caused_by_interrupt(exc: BaseException | None) -> bool:
    """Whether ``exc`` is Ctrl-C, or an error it caused: the handler can run while compiled
    code is returning (Numba then reports "a result with an exception set", a SystemError
    chained to the interrupt)."""
    seen = 0
    while exc is not None and seen < 20:
        if isinstance(exc, Interrupted):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False
