"""Small helpers shared by the presentation layers: atomic file writes, checks of the paths a
user gives (before any work starts), the crash log of an internal error, and the capture of
numerical warnings so that they become diagnoses instead of noise on the terminal."""

from __future__ import annotations

import errno
import json
import os
import platform
import secrets
import sys
import tempfile
import traceback
import warnings
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, BinaryIO

from critmin.errors import CritminError, OutputPathError, WriteFailedError, did_you_mean


def write_text_atomic(path: str | Path, text: str) -> None:
    """Write a text file (UTF-8) atomically, see :func:`write_bytes_atomic`."""
    write_bytes_atomic(path, text.encode("utf-8"))


def write_bytes_atomic(path: str | Path, data: bytes) -> None:
    """Write a file so that a crash never leaves it half-written: temp file + fsync + rename.

    An operating-system error (disk full, permission denied, a folder in the way) becomes a
    :class:`WriteFailedError` naming the path; call :func:`check_output_file` first to catch
    the common ones before any work is done. An interrupt leaves the file as it was and no
    temporary file (its name is known before it exists: :func:`_open_temp`).
    """
    path = Path(path)
    temps: list[str] = []
    try:
        try:  # the target too: a folder that cannot be searched raised PermissionError there
            target = _write_target(path)
            target.parent.mkdir(parents=True, exist_ok=True)
            fd = _open_temp(target, temps)
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.chmod(temps[-1], _write_mode(target))
            os.replace(temps[-1], target)
            temps.pop()
        except OSError as err:
            raise WriteFailedError(f"cannot write {path}: {err.strerror or err}") from None
    finally:
        _remove_temps(temps)


def write_texts_together(texts: dict[Path, str]) -> None:
    """Write several text files (UTF-8) as one: every target is checked and every file
    written to a temporary file beside it first, and only when all of them are written are
    they renamed into place. A failure (a folder where a file goes, a full disk, no
    permission) raises one :class:`WriteFailedError` naming the path and leaves every target
    as it was: a user's older file is never half-replaced by a set that stopped midway."""
    write_bytes_together({path: text.encode("utf-8") for path, text in texts.items()})


def write_bytes_together(files: Mapping[Path, bytes]) -> None:
    """:func:`write_texts_together` for bytes (a command's JSON, workbook and CSV tables):
    all files, or none replaced."""
    write_files_together({path: _bytes_writer(data) for path, data in files.items()})


def _bytes_writer(data: bytes) -> Callable[[BinaryIO], None]:
    def write(f: BinaryIO) -> None:
        f.write(data)

    return write


def write_files_together(writers: Mapping[Path, Callable[[BinaryIO], object]]) -> None:
    """:func:`write_texts_together` for content written by a function: ``writers[path](f)``
    writes the file's bytes to ``f`` (a temporary file beside ``path``, opened ``wb``), e.g.
    ``frame.to_csv`` for a table too large to hold as one string. All files or none: every
    target as it was on a failure, an interrupt included, and no temporary file left."""
    for path in writers:
        try:
            folder = path.is_dir()
        except OSError as err:  # a folder on the way that cannot be searched
            raise WriteFailedError(f"cannot write {path}: {err.strerror or err}") from None
        if folder:
            raise WriteFailedError(f"cannot write {path}: it is a folder")
    temps: list[str] = []
    written: list[tuple[str, Path, Path]] = []
    try:
        for path, write in writers.items():
            try:
                target = _write_target(path)
                target.parent.mkdir(parents=True, exist_ok=True)
                fd = _open_temp(target, temps)
                written.append((temps[-1], path, target))
                with os.fdopen(fd, "wb") as f:
                    write(f)
                    f.flush()
                    os.fsync(f.fileno())
                os.chmod(temps[-1], _write_mode(target))
            except OSError as err:
                raise WriteFailedError(f"cannot write {path}: {err.strerror or err}") from None
        for tmp, path, target in written:
            try:
                os.replace(tmp, target)
            except OSError as err:
                raise WriteFailedError(f"cannot write {path}: {err.strerror or err}") from None
    finally:
        _remove_temps(temps)


def _open_temp(target: Path, temps: list[str]) -> int:
    """A new temporary file beside ``target``, open for writing (its descriptor), its name
    appended to ``temps`` *before* it is created, so that the caller's clean-up removes it
    whenever an interrupt comes (with ``tempfile.mkstemp`` the name was known only after the
    file existed, and Ctrl-C in between left a hidden ``.results.json.xxxxxxxx`` beside the
    user's file). Created ``0o600`` and exclusively (``O_EXCL``), as ``mkstemp`` does."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
    for _ in range(100):
        name = str(target.parent / f"{_temp_prefix(target)}{secrets.token_hex(6)}")
        temps.append(name)
        try:
            return os.open(name, flags, 0o600)
        except FileExistsError:  # someone else's: not ours to remove
            temps.pop()
    raise FileExistsError(f"no free temporary name beside {target}")


def _remove_temps(temps: list[str]) -> None:
    """Remove the temporary files named in ``temps`` that still exist (those renamed into
    place are gone)."""
    for tmp in temps:
        with suppress(OSError):  # the folder went away or turned read-only: nothing to do
            Path(tmp).unlink(missing_ok=True)


def _write_target(path: Path) -> Path:
    """The file a write of ``path`` replaces: ``path`` itself, or where it leads if it is a
    symbolic link (written through, as ``open(path, "w")`` would; renaming onto the link
    replaced the link by a plain file and left the file it pointed to as it was)."""
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _write_mode(target: Path) -> int:
    """The permissions of the file written at ``target``: those of the file it replaces (as
    a write in place keeps them), else what a new file gets (``0o666`` less the umask;
    ``mkstemp`` creates ``0o600``)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _temp_prefix(path: Path) -> str:
    """The name of the temporary file beside ``path`` starts with this: a hidden file named
    after it, cut to 100 characters, so that a file name near the file system's limit (255
    bytes) still leaves room for the random part (it did not, and the write failed after
    the work)."""
    return f".{path.name[:100]}."


def write_json_atomic(path: str | Path, data: Any) -> None:
    write_text_atomic(path, json.dumps(data, indent=1, allow_nan=False) + "\n")


# ----------------------------------------------------------------------------- path checks


@contextmanager
def _path_errors(path: Path, option: str) -> Iterator[None]:
    """An operating-system error while a path is looked at (a name longer than the file
    system allows, a folder that cannot be searched) as one :class:`OutputPathError` naming
    ``option`` and the path: ``Path.is_dir`` and ``Path.exists`` raise ``ENAMETOOLONG``, and
    a 300-character file name was an internal error."""
    try:
        yield
    except OSError as err:
        raise OutputPathError(f"{option} {path}: {err.strerror or err}") from None


def why_missing(path: str | Path) -> str:
    """What to say of ``path`` when ``Path.exists`` finds nothing there, as words that follow
    its name: ``does not exist``, or why a name that is there leads nowhere. A symbolic link
    loop (``ln -s loop loop``) and a broken link were said not to exist, which sent one
    looking for a missing file beside the link that is there. Every command's file and folder
    arguments say it in these words (``scenario file loop is a symbolic link loop ...``)."""
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            if os.path.islink(path):
                return "is a symbolic link loop (it cannot be resolved)"
            return "cannot be resolved (a folder on its way is a symbolic link loop)"
    else:
        return "exists"  # not missing after all (created meanwhile)
    if os.path.islink(path):
        return f"is a broken symbolic link (to {os.readlink(path)}, which does not exist)"
    return "does not exist"


def unresolvable(path: str | Path) -> str | None:
    """:func:`why_missing` for a ``path`` that is a symbolic link loop (or has one on its way),
    else None: an output there cannot be written (the write failed after the work, or
    replaced the link by a file in silence)."""
    try:
        os.stat(path)
    except OSError as err:
        if err.errno == errno.ELOOP:
            return why_missing(path)
    return None


def check_output_file(path: str | Path, option: str, suffixes: Sequence[str] | None = None) -> Path:
    """``path`` as a file critmin can write, checked before any work starts.

    Rejected, with one message naming ``option`` and the path: an existing folder; a suffix
    outside ``suffixes`` (the format is chosen by the suffix, so ``x.xlsx`` would get CSV);
    a parent that is a file; a place where no file can be created (``/proc``, a read-only
    folder); a name the file system refuses (too long). Missing parent folders are fine:
    they are created when the file is written.
    """
    path = Path(path)
    with _path_errors(path, option):
        return _check_output_file(path, option, suffixes)


def _check_output_file(path: Path, option: str, suffixes: Sequence[str] | None) -> Path:
    if loop := unresolvable(path):
        raise OutputPathError(f"{option} {path} {loop}")
    if path.is_dir():
        example = path / ("results" + (suffixes[0] if suffixes else ""))
        raise OutputPathError(f"{option} {path} is a folder: give a file path, e.g. {example}")
    if suffixes is not None and path.suffix.lower() not in suffixes:
        allowed = " or ".join(suffixes)
        hint = did_you_mean(path.suffix, suffixes) if path.suffix else ""
        raise OutputPathError(
            f"{option} {path}: the file name must end in {allowed}, got "
            f"{path.suffix or 'no suffix'!r}{hint}"
        )
    _probe_writable(path.parent, path, option)
    if path.exists() and not os.access(path, os.W_OK):
        raise OutputPathError(f"{option} {path} exists and is read-only")
    return path


def check_outputs_apart(
    files: Mapping[str, Path | None],
    folders: Mapping[str, tuple[Path | None, Collection[str]]] | None = None,
    inputs: Mapping[str, Path | None] | None = None,
) -> None:
    """Refuse, before any work, outputs of one command that would overwrite each other or a
    file the command reads.

    ``files`` maps each option that names a file (``--out``) to its path, ``folders`` each
    option that names a folder (``--csv``) to its path and the names of the files written
    there, ``inputs`` each file read (``"the scenario file"``, ``"the file of scenario field
    'product[0].flows'"``) to its path; ``None`` is an option not given. Refused, with one
    :class:`OutputPathError` naming both: two outputs on one path (``--out x.json --csv
    x.json``: the work was done, then nothing could be written) or one inside the other's
    file; an output that is an input (``simulate s.json --out s.json`` replaced the saved
    scenario by its results; ``--csv .`` beside a flows file ``flows.csv`` replaced the
    user's trade data by the flows table).
    """
    outs: list[tuple[str, Path, frozenset[str] | None]] = [
        (option, Path(path), None) for option, path in files.items() if path is not None
    ]
    outs += [
        (option, Path(path), frozenset(names))
        for option, (path, names) in (folders or {}).items()
        if path is not None
    ]
    for k, (option, path, names) in enumerate(outs):
        for other, other_path, other_names in outs[:k]:
            if _same_path(path, other_path):
                raise OutputPathError(
                    f"{other} {other_path} and {option} {path} name the same path: give each "
                    "output its own"
                )
            for inner, inner_opt, outer, outer_opt, outer_names in (
                (path, option, other_path, other, other_names),
                (other_path, other, path, option, names),
            ):
                if _inside(inner, outer) and (
                    outer_names is None or _key(inner) in _keys(outer, outer_names)
                ):
                    raise OutputPathError(
                        f"{inner_opt} {inner} is "
                        + ("inside" if outer_names is None else "a file written by")
                        + f" {outer_opt} {outer}: give each output its own path"
                    )
        for what, source in (inputs or {}).items():
            if source is None:
                continue
            if _same_path(path, Path(source)):
                raise OutputPathError(
                    f"{option} {path} is {what}: writing there would replace it; give another path"
                )
            if names is not None and _key(Path(source)) in _keys(path, names):
                raise OutputPathError(
                    f"{option} {path} would write {Path(source).name} there, which is {what} "
                    f"({source}): writing there would replace it; give another folder"
                )


def _key(path: Path) -> str:
    """``path`` as one spelling: absolute, symbolic links of its existing part resolved."""
    return os.path.normcase(os.path.realpath(path))


def _keys(folder: Path, names: Collection[str]) -> set[str]:
    return {_key(folder / name) for name in names}


def _same_path(a: Path, b: Path) -> bool:
    """Do ``a`` and ``b`` name one file (one spelling, or two links to one existing file)?"""
    if _key(a) == _key(b):
        return True
    try:
        return os.path.samefile(a, b)
    except (OSError, ValueError):  # either missing (or a name the system refuses)
        return False


def _inside(inner: Path, outer: Path) -> bool:
    """Is ``inner`` below ``outer``?"""
    return _key(inner).startswith(_key(outer).rstrip(os.sep) + os.sep)


def check_input_dir(path: str | Path, option: str) -> Path:
    """``path`` as an existing folder (e.g. ``--source``), else one message naming it."""
    path = Path(path)
    with _path_errors(path, option):
        return _check_input_dir(path, option)


def _check_input_dir(path: Path, option: str) -> Path:
    if not path.exists():
        raise OutputPathError(f"{option} {path} {why_missing(path)}: give an existing folder")
    if not path.is_dir():
        raise OutputPathError(f"{option} {path} is a file: give a folder")
    return path


def check_output_dir(path: str | Path, option: str) -> Path:
    """``path`` as a folder critmin can write into (created if missing), checked up front."""
    path = Path(path)
    with _path_errors(path, option):
        return _check_output_dir(path, option)


def _check_output_dir(path: Path, option: str) -> Path:
    if loop := unresolvable(path):
        raise OutputPathError(f"{option} {path} {loop}")
    if path.exists() and not path.is_dir():
        raise OutputPathError(f"{option} {path} is a file: give a folder")
    _probe_writable(path, path, option)
    return path


def _probe_writable(folder: Path, path: Path, option: str) -> None:
    """Can a file be created in ``folder`` (or, when it does not exist yet, in its nearest
    existing ancestor, where the missing folders would be made)? Tried for real: root passes
    ``os.access`` everywhere, and ``/proc`` refuses new files."""
    ancestor = folder
    while not ancestor.exists() and ancestor != ancestor.parent:
        if ancestor.is_symlink():  # a broken link or a loop: no folder can be made there
            raise OutputPathError(f"{option} {path}: {ancestor} {why_missing(ancestor)}")
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise OutputPathError(f"{option} {path}: {ancestor} is a file, not a folder")
    probes: list[str] = []
    try:
        os.close(_open_temp(ancestor / "critmin-write-test", probes))
    except OSError as err:
        raise OutputPathError(
            f"{option} {path}: cannot create a file in {ancestor} ({err.strerror or err})"
        ) from None
    finally:
        _remove_temps(probes)


def check_input_path(path: str | Path, option: str) -> Path:
    """``path`` as an existing file or folder (``data build --baci``: a zip or its folder),
    else one message naming it (:func:`why_missing`)."""
    path = Path(path)
    with _path_errors(path, option):
        if not path.exists():
            raise OutputPathError(f"{option} {path} {why_missing(path)}")
    return path


def check_input_file(path: str | Path, option: str) -> Path:
    """``path`` as an existing, readable file, else one message naming it."""
    path = Path(path)
    with _path_errors(path, option):
        return _check_input_file(path, option)


def _check_input_file(path: Path, option: str) -> Path:
    if not path.exists():
        raise OutputPathError(f"{option} {path} {why_missing(path)}")
    if path.is_dir():
        raise OutputPathError(f"{option} {path} is a folder: give a file")
    if not os.access(path, os.R_OK):
        raise OutputPathError(f"{option} {path} cannot be read (permission denied)")
    return path


# ----------------------------------------------------------------------------- crash log


def state_dir() -> Path:
    """Where critmin keeps its logs: ``$XDG_STATE_HOME/critmin`` (default
    ``~/.local/state/critmin``), or the temporary folder when that cannot be created."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    folder = Path(base) / "critmin"
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError:
        folder = Path(tempfile.gettempdir()) / "critmin"
        folder.mkdir(parents=True, exist_ok=True)
    return folder


def write_crash_log(exc: BaseException, argv: Sequence[str] | None = None) -> Path:
    """Write the details of an internal error (a bug) to a new log file and return its path:
    the command line, versions and the full traceback, for a bug report."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        critmin_version = version("critmin")
    except PackageNotFoundError:
        critmin_version = "unknown"
    stamp = datetime.now(UTC)
    lines = [
        f"critmin internal error, {stamp.isoformat(timespec='seconds')}",
        f"command: {' '.join(argv if argv is not None else sys.argv)}",
        f"critmin {critmin_version}, Python {platform.python_version()}, {platform.platform()}",
        "",
        *traceback.format_exception(type(exc), exc, exc.__traceback__),
    ]
    path = state_dir() / f"crash-{stamp:%Y%m%dT%H%M%S}-{os.getpid()}.log"
    path.write_text("\n".join(line.rstrip("\n") for line in lines) + "\n", encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- numerical warnings


@contextmanager
def numerical_warnings() -> Iterator[list[str]]:
    """Record numpy's RuntimeWarnings (overflow, invalid value, divide by zero) raised in the
    block instead of printing them; yields the list of distinct messages, in order, so that the
    caller can turn them into a diagnosis. Other warnings pass through unchanged."""
    seen: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", RuntimeWarning)
        try:
            yield seen
        finally:
            others = []
            for w in caught:
                if issubclass(w.category, RuntimeWarning):
                    if str(w.message) not in seen:
                        seen.append(str(w.message))
                else:
                    others.append(w)
    for w in others:
        warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


MEMORY_SHARE = 0.5
"""The share of this machine's memory a run's results may take."""


def physical_memory() -> int | None:
    """This machine's memory in bytes (``None`` where the OS does not say)."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check_results_fit(need: float, what: str, most: Any, advice: str = "") -> None:
    """Refuse, before any work, a run whose results would take more than
    :data:`MEMORY_SHARE` of this machine's memory (``need`` bytes): it would be killed by the
    OS hours later, its results lost. ``what`` names the run (``"10,000 draws of 2
    products"``), ``most(total)`` gives the largest that fits in ``total`` bytes, as text."""
    total = physical_memory()
    if total is None or need <= MEMORY_SHARE * total:
        return
    raise CritminError(
        f"{what} would need about {need / 2**30:,.1f} GiB for their results, more than half "
        f"of this machine's {total / 2**30:,.1f} GiB: use at most {most(MEMORY_SHARE * total)}"
        + (f" ({advice})" if advice else "")
    )


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
"""What a spreadsheet reads as the start of a formula in a CSV cell (OWASP, "CSV
injection"): a text cell starting so gets a leading apostrophe, which spreadsheets show
as text; numbers are untouched. ``-`` too: Excel runs ``-1+1+cmd|' /C calc'!A0`` (a user
product's id) as a formula; the key figures' text ``-0.33%`` is quoted as ``+8.62%`` is."""


def spreadsheet_safe(value: Any) -> Any:
    """``value`` as a CSV cell a spreadsheet shows and never runs: a text starting with one
    of :data:`FORMULA_STARTS` with a leading apostrophe, anything else as it is."""
    return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_STARTS) else value


def spreadsheet_safe_frame(frame: Any) -> Any:
    """A copy of the pandas DataFrame ``frame`` with every text cell :func:`spreadsheet_safe`
    (what every CSV file critmin writes holds: user products' ids, scenario names and
    sweep parameters are text the user typed)."""
    import pandas as pd

    out = frame.copy()
    for col in out.columns:
        if pd.api.types.is_object_dtype(out[col]) or pd.api.types.is_string_dtype(out[col]):
            out[col] = [spreadsheet_safe(v) for v in out[col]]
    return out
