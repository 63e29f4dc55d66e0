"""Ctrl-C stops `critmin uncertainty`, `critmin paths` and `critmin coalition` promptly and
cleanly: status 130, one line, no traceback, no process left behind, no partial output file."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
EXAMPLE1 = REPO / "examples" / "01_lithium_floor_levy.toml"
NDPR_PATHS = REPO / "examples" / "paths" / "ndpr_floor_2026_2035.toml"
COALITION = REPO / "examples" / "coalition_core.toml"
CRITMIN = Path(sys.executable).parent / "critmin"


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process and its threads so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _wait_until_solving(
    proc: subprocess.Popen[bytes], cpu: float = 4.0, limit: float = 60.0
) -> None:
    """Wait until the command has used ``cpu`` seconds of CPU: past imports, data and solver
    loading (about 2 s of CPU), so it is in the draws. A fixed sleep is not enough on a busy
    machine, where start-up alone can take longer than the sleep."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < limit:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        if _cpu_seconds(proc.pid) >= cpu:
            return
        time.sleep(0.1)
    raise AssertionError(f"the command used less than {cpu} s of CPU in {limit} s")


def _descendants(pid: int) -> set[int]:
    """Processes whose parent chain leads to ``pid`` (from /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry.name))
    out: set[int] = set()
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            out.add(child)
            todo.append(child)
    return out


@pytest.fixture(scope="module")
def compiled_draw_kernels() -> None:
    """Run a few draws first, so that the compiled draw kernels are in Numba's cache: the
    interrupted command must be solving draws, not compiling them (Numba's compiler is not
    interruptible, and on a fresh checkout this test may be the first to need them)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    for workers in ("1", "2"):
        cmd = [str(CRITMIN), "uncertainty", str(EXAMPLE1), "-n", "20", "--workers", workers]
        subprocess.run([*cmd, "--json"], env=env, capture_output=True, timeout=600, check=True)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize("workers", [1, 2])
@pytest.mark.usefixtures("compiled_draw_kernels")
def test_sigint_stops_uncertainty_within_two_seconds(tmp_path: Path, workers: int) -> None:
    out = tmp_path / "u.json"
    draws = tmp_path / "draws.csv"
    cmd = [str(CRITMIN), "uncertainty", str(EXAMPLE1), "-n", "400000", "--workers", str(workers)]
    cmd += ["--out", str(out), "--draws-out", str(draws), "--no-progress"]
    code, elapsed, text, _, alive = _interrupt(cmd, _solving(4.0))  # draws being solved
    assert code == 130, text
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert "Traceback" not in text
    assert text.strip().splitlines()[-1] == "critmin: interrupted"
    assert len(text.strip().splitlines()) == 1, text
    assert not out.exists() and not draws.exists()
    assert list(tmp_path.iterdir()) == []  # no temporary file left either
    assert alive == []


def _interrupt(
    cmd: list[str],
    ready: Callable[[subprocess.Popen[bytes]], None],
    env: dict[str, str] | None = None,
    group: bool = False,
    signum: int = signal.SIGINT,
) -> tuple[int, float, str, set[int], list[int]]:
    """Start ``cmd``, send SIGINT (or ``signum``) once ``ready(proc)`` returns (to the
    process, or with ``group`` to its whole process group, as a terminal's Ctrl-C does);
    returns its exit
    status, how long it took to stop, its stderr, its child processes just before the signal
    and those still running after it stopped. The context manager closes the pipes whatever
    happens (an unclosed pipe of a failed run would surface later as a ResourceWarning in an
    unrelated test)."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src"), **(env or {})}
    with subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, start_new_session=group
    ) as proc:
        try:
            ready(proc)
            helpers = _descendants(proc.pid)
            t = time.monotonic()
            if group:
                os.killpg(proc.pid, signum)
            else:
                proc.send_signal(signum)
            _, err = proc.communicate(timeout=20)
            elapsed = time.monotonic() - t
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.communicate()
    time.sleep(0.2)  # let ended helpers be reaped
    alive = [p for p in helpers if _state(p) not in ("gone", "Z")]
    return proc.returncode, elapsed, err.decode(), helpers, alive


def _state(pid: int) -> str:
    """A process's state letter (``Z``: a zombie, ended but not yet reaped; ``gone``)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "gone"


def _solving(cpu: float) -> Callable[[subprocess.Popen[bytes]], None]:
    return lambda proc: _wait_until_solving(proc, cpu=cpu)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize(("workers", "cpu"), [(1, 2.5), (2, 4.0), (2, 6.0)])
def test_sigint_stops_paths_within_two_seconds(tmp_path: Path, workers: int, cpu: float) -> None:
    """`critmin paths` (the NdPr example: the central paths, then 2,000 draws of five
    mechanisms, about a minute of work) interrupted at several points of its draws: it used
    to wait for its worker processes to finish their chunks (10-16 s) and once crashed; the
    draws now run on threads that stop within a year's equilibrium."""
    html = tmp_path / "paths.html"
    csv_dir = tmp_path / "tables"
    cmd = [str(CRITMIN), "paths", str(NDPR_PATHS), "-n", "2000", "--workers", str(workers)]
    cmd += ["--html", str(html), "--csv", str(csv_dir), "--no-progress"]
    code, elapsed, text, helpers, alive = _interrupt(cmd, _solving(cpu))
    assert code == 130, text
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert "Traceback" not in text
    assert text.strip().splitlines() == ["critmin: interrupted"], text
    assert list(tmp_path.iterdir()) == []  # no HTML page, no tables, no temporary file
    assert helpers == set() and alive == []  # threads, not processes


def _coalition_workers_solving(proc: subprocess.Popen[bytes]) -> None:
    """Wait until `critmin coalition`'s two workers (and the resource tracker) run, then 1.5 s
    more: the workers are solving."""
    t0 = time.monotonic()
    while len(_descendants(proc.pid)) < 3 and time.monotonic() - t0 < 60:
        assert proc.poll() is None, proc.stderr.read().decode() if proc.stderr else ""
        time.sleep(0.05)
    time.sleep(1.5)


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.parametrize(
    ("signum", "group", "code", "line"),
    [
        (signal.SIGINT, True, 130, "critmin: interrupted"),
        (signal.SIGTERM, False, 143, "critmin: terminated"),
    ],
    ids=["ctrl-c to the group", "SIGTERM to the command alone"],
)
def test_coalition_and_its_worker_processes_stop_at_once(
    tmp_path: Path, signum: int, group: bool, code: int, line: str
) -> None:
    """`critmin coalition` with its two worker processes (16 players, 3,000 sampled orders:
    about 10 s of work), stopped once the workers solve. Ctrl-C from a terminal (SIGINT to
    the whole process group): it used to wait 3-7 s for the workers to finish their jobs and
    leave multiprocessing's resource tracker behind; the workers, which now ignore Ctrl-C and
    end with their parent, are terminated at once. SIGTERM to the command alone (its workers
    get no signal) ended it at once with status -15 and no message; it now ends its workers
    and stops as on Ctrl-C, with status 143."""
    out = tmp_path / "coalition.json"
    cmd = [str(CRITMIN), "coalition", str(COALITION), "--members-as-players", "--sampled"]
    cmd += ["3000", "--workers", "2", "--no-cache", "--no-progress", "--out", str(out)]
    cache = {"CRITMIN_CACHE_DIR": str(tmp_path / "cache")}
    status, elapsed, text, helpers, alive = _interrupt(
        cmd, _coalition_workers_solving, cache, group=group, signum=signum
    )
    assert len(helpers) >= 3  # two workers and the resource tracker
    assert status == code, text
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert text.strip().splitlines() == [line], text
    assert not out.exists()
    assert alive == []


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.usefixtures("compiled_draw_kernels")
def test_sigterm_stops_uncertainty_like_ctrl_c(tmp_path: Path) -> None:
    """SIGTERM (``kill``, ``timeout``) used to end the process at once: status -15, no
    message, the temporary output files left in the user's folder. It now stops as Ctrl-C
    does, with status 143 and one line."""
    out = tmp_path / "u.json"
    draws = tmp_path / "draws.csv"
    cmd = [str(CRITMIN), "uncertainty", str(EXAMPLE1), "-n", "400000", "--workers", "2"]
    cmd += ["--out", str(out), "--draws-out", str(draws), "--no-progress"]
    code, elapsed, text, _, alive = _interrupt(cmd, _solving(4.0), signum=signal.SIGTERM)
    assert code == 143, text
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert text.strip().splitlines() == ["critmin: terminated"], text
    assert list(tmp_path.iterdir()) == []  # no output, no temporary file
    assert alive == []


FULL_ZONE = REPO / "examples" / "04_full_zone_all_products.toml"


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_sigint_while_the_workbook_is_filled_stops_at_once(tmp_path: Path) -> None:
    """`critmin simulate --xlsx` on every product (about 1 s of solving, then 4-5 s filling the
    workbook's sheets), interrupted while the sheets are filled: pandas' ExcelWriter saved the
    whole workbook on its way out of the interrupted block, 3-4 s, before the command could
    stop; the user's earlier workbook stays as it was."""
    env = {**os.environ, "PYTHONPATH": str(REPO / "src")}
    subprocess.run(  # the solver compiled, so that the command below is past it at 2.5 s of CPU
        [str(CRITMIN), "simulate", str(FULL_ZONE), "--json"],
        env=env,
        capture_output=True,
        timeout=600,
        check=True,
    )
    xlsx = tmp_path / "zone.xlsx"
    xlsx.write_bytes(b"the user's earlier workbook")
    cmd = [str(CRITMIN), "simulate", str(FULL_ZONE), "--xlsx", str(xlsx)]
    code, elapsed, text, _, _ = _interrupt(cmd, _solving(2.5))  # the sheets being filled
    assert code == 130, text
    assert elapsed < 1.0, f"took {elapsed:.2f} s to stop"
    assert text.strip().splitlines() == ["critmin: interrupted"], text
    assert xlsx.read_bytes() == b"the user's earlier workbook"
    assert list(tmp_path.iterdir()) == [xlsx]


SLOW_FINALIZER = """
import sys, time
from critmin.cli import app, main

class Slow:
    def __del__(self):
        sys.stderr.write("in __del__\\n")
        sys.stderr.flush()
        t = time.monotonic()
        while time.monotonic() - t < 3:
            sum(range(1000))

@app.command("slow-finalizer")
def slow_finalizer():
    Slow()  # dropped at once: its __del__ runs here
    print("went on")

sys.argv = ["critmin", "slow-finalizer"]
main()
"""


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
def test_sigint_in_a_finalizer_is_not_lost(tmp_path: Path) -> None:
    """Ctrl-C that lands in a ``__del__`` (or another finalizer the garbage collector runs):
    Python printed the interrupt's traceback as an "Exception ignored in" and dropped it, and
    the command ran on to its end with status 0 (seen once on `critmin data build`, which
    then wrote its dataset). It is delivered again at the command's next line."""

    def in_finalizer(proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        assert proc.stderr.readline() == b"in __del__\n"
        time.sleep(0.2)

    cmd = [sys.executable, "-c", SLOW_FINALIZER]
    code, elapsed, text, _, _ = _interrupt(cmd, in_finalizer)
    assert code == 130, text
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert text.strip().splitlines() == ["critmin: interrupted"], text


def test_ctrl_c_while_data_build_writes_leaves_the_earlier_dataset(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`critmin data build --source` interrupted while it writes its tables: it replaced them
    one by one (new tables beside the old manifest, whose checksums then failed) and left a
    ``.parquet.tmp`` behind; now every file is made first and all are renamed together."""
    import pandas as pd

    from critmin.data.build import write_reference

    out = tmp_path / "dataset"
    out.mkdir()
    earlier = {name: f"earlier {name}".encode() for name in ("products.parquet", "manifest.json")}
    for name, blob in earlier.items():
        (out / name).write_bytes(blob)
    to_parquet = pd.DataFrame.to_parquet
    calls: list[int] = []

    def interrupted_second(self: pd.DataFrame, *args: object, **kwargs: object) -> object:
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return to_parquet(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(pd.DataFrame, "to_parquet", interrupted_second)
    tables = {"products": pd.DataFrame({"a": [1]}), "elasticities": pd.DataFrame({"b": [2]})}
    with pytest.raises(KeyboardInterrupt):
        write_reference(tables, [], tmp_path, out)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == earlier


SLOW_IMPORTS = """
import sys, time

class SlowImports:  # the commands' imports, made to take a while
    def find_spec(self, name, path, target=None):
        if name == "critmin.cli.assess":
            sys.stderr.write("importing the commands\\n")
            sys.stderr.flush()
            time.sleep(5)
        return None

sys.meta_path.insert(0, SlowImports())
from critmin.cli import main  # what the `critmin` script runs
sys.argv = ["critmin", "assess"]
main()
"""


def test_sigint_while_the_commands_are_imported() -> None:
    """Ctrl-C in a command's first 0.1 s, while Typer and the commands are imported (before
    main() installs its handler): it printed a KeyboardInterrupt traceback of the imports and
    the process ended by the signal; now one line and status 130 there too."""

    def importing(proc: subprocess.Popen[bytes]) -> None:
        assert proc.stderr is not None
        assert proc.stderr.readline() == b"importing the commands\n"

    code, elapsed, text, _, _ = _interrupt([sys.executable, "-c", SLOW_IMPORTS], importing)
    assert code == 130, text
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert text.strip().splitlines() == ["critmin: interrupted"], text


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="needs /proc")
@pytest.mark.usefixtures("compiled_draw_kernels")
def test_sigint_while_uncertainty_writes_keeps_every_earlier_file(tmp_path: Path) -> None:
    """`critmin uncertainty -o FILE --draws-out CSV` interrupted once it starts writing: the
    JSON was written first, on its own, then the draws' table was made and written, so Ctrl-C
    in between replaced the user's earlier JSON and wrote no draws (status 130 all the same);
    now the JSON and the draws are written together, all or none."""
    out = tmp_path / "u.json"
    draws = tmp_path / "draws.csv"
    out.write_text("the user's earlier results\n")
    cmd = [str(CRITMIN), "uncertainty", str(EXAMPLE1), "-n", "100000", "--workers", "2"]
    cmd += ["--out", str(out), "--draws-out", str(draws), "--no-progress"]

    def writing(proc: subprocess.Popen[bytes]) -> None:
        t0 = time.monotonic()
        while not any(p.name.startswith(".") for p in tmp_path.iterdir()):
            assert proc.poll() is None and time.monotonic() - t0 < 60
            time.sleep(0.001)

    code, elapsed, text, _, _ = _interrupt(cmd, writing)
    assert code == 130, text
    assert elapsed < 2.0, f"took {elapsed:.2f} s to stop"
    assert text.strip().splitlines() == ["critmin: interrupted"], text
    assert out.read_text() == "the user's earlier results\n"
    assert sorted(tmp_path.iterdir()) == [out]  # no draws, no temporary file


def _raise_interrupt(*args: object, **kwargs: object) -> None:
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    ("command", "late", "outputs"),
    [
        (  # the JSON, then the page (its charts)
            ["coalition", str(COALITION), "--no-progress"],
            "critmin.coalition.figures.coalition_figures",
            {"--out": "c.json", "--html": "c.html"},
        ),
        (  # the page, then the table
            ["sweep", str(EXAMPLE1), "--param", "policy[0].price_usd_per_t", "--values", "1e4,2e4"],
            "critmin.sweep.SweepResult.frame",
            {"--out": "s.html", "--csv": "s.csv"},
        ),
        (  # the tables, then the page
            ["paths", str(NDPR_PATHS), "-n", "0", "--years", "2026-2028", "--no-progress"],
            "critmin.report.paths_page.render_paths_page",
            {"--csv": "tables", "--html": "p.html"},
        ),
    ],
)
def test_ctrl_c_between_two_outputs_leaves_both_as_they_were(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    command: list[str],
    late: str,
    outputs: dict[str, str],
) -> None:
    """`critmin coalition -o --html`, `sweep -o --csv` and `paths --csv --html` wrote their first
    output, then made the second: Ctrl-C in between left the new first file beside the user's
    earlier second one (status 130). Every output is now made first, then all are written
    together: all, or none replaced. Ctrl-C comes as a KeyboardInterrupt where the second
    output is made."""
    from typer.testing import CliRunner

    from critmin.cli import app

    paths = {option: tmp_path / name for option, name in outputs.items()}
    for path in paths.values():
        target = path / "warnings.csv" if path.suffix == "" else path
        target.parent.mkdir(exist_ok=True)
        target.write_text("the user's earlier file\n")
    before = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*"))
    monkeypatch.setattr(late, _raise_interrupt)
    args = [*command, *(x for option, path in paths.items() for x in (option, str(path)))]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 130, result.output
    assert sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*")) == before
    for p in tmp_path.rglob("*"):
        assert p.is_dir() or p.read_text() == "the user's earlier file\n", p
