"""The SQLite store of saved scenarios survives crashes mid-write."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from webutil import EXAMPLE1_DICT

from critmin.web.store import NotFoundError, ScenarioStore

RESULT = {"scenario": "x", "converged": True, "products": {"p": {"value": 1.5}}}


def test_wal_mode_and_round_trip(tmp_path: Path) -> None:
    store = ScenarioStore(tmp_path / "s.sqlite3")
    entry = store.save(EXAMPLE1_DICT, RESULT)
    assert (tmp_path / "s.sqlite3-wal").exists() or store.integrity_ok()
    got, scenario = store.get(entry.id)
    assert scenario == EXAMPLE1_DICT and got.has_result and got.converged
    assert store.result(entry.id) == RESULT
    assert [e.id for e in store.entries()] == [entry.id]
    store.delete(entry.id)
    with pytest.raises(NotFoundError):
        store.get(entry.id)


def test_exception_inside_the_transaction_rolls_back(tmp_path: Path) -> None:
    store = ScenarioStore(tmp_path / "s.sqlite3")
    kept = store.save(EXAMPLE1_DICT, RESULT)
    with pytest.raises(RuntimeError), store.transaction() as conn:
        conn.execute(
            "INSERT INTO scenarios (id, name, created, scenario, products) "
            "VALUES ('half', 'half', 'now', '{}', '')"
        )
        conn.execute("DELETE FROM scenarios WHERE id = ?", (kept.id,))
        raise RuntimeError("crash inside the transaction")
    assert [e.id for e in store.entries()] == [kept.id]
    assert store.result(kept.id) == RESULT
    assert store.integrity_ok()


def test_a_non_json_result_never_half_saves(tmp_path: Path) -> None:
    store = ScenarioStore(tmp_path / "s.sqlite3")
    with pytest.raises(ValueError):
        store.save(EXAMPLE1_DICT, {"bad": float("nan")})
    assert store.count() == 0


CHILD = textwrap.dedent("""
    import json, os, signal, sys
    from critmin.web.store import ScenarioStore
    store = ScenarioStore(sys.argv[1])
    mode = sys.argv[2]
    big = {"payload": "x" * 2_000_000}
    if mode == "mid-transaction":
        with store.transaction() as conn:
            conn.execute("INSERT INTO scenarios (id, name, created, scenario, result, products) "
                         "VALUES ('doomed', 'doomed', 'now', '{}', ?, '')", (json.dumps(big),))
            os.kill(os.getpid(), signal.SIGKILL)   # killed before COMMIT
    else:  # save in a loop until killed from outside
        while True:
            entry = store.save({"name": "loop", "product": [{"id": "p"}]}, big)
            print(entry.id, flush=True)
""")


def _child(db: Path, mode: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", CHILD, str(db), mode],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_process_killed_mid_transaction_keeps_previous_saves(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    store = ScenarioStore(db)
    kept = [store.save(EXAMPLE1_DICT, RESULT).id for _ in range(3)]
    with _child(db, "mid-transaction") as proc:
        _out, err = proc.communicate(timeout=60)
    assert proc.returncode == -signal.SIGKILL, err
    fresh = ScenarioStore(db)
    assert fresh.integrity_ok()
    assert sorted(e.id for e in fresh.entries()) == sorted(kept)
    with pytest.raises(NotFoundError):
        fresh.get("doomed")
    assert fresh.save(EXAMPLE1_DICT, RESULT).id  # still writable


def test_process_killed_while_saving_in_a_loop(tmp_path: Path) -> None:
    db = tmp_path / "s.sqlite3"
    with _child(db, "loop") as proc:
        assert proc.stdout is not None
        committed = [proc.stdout.readline().strip() for _ in range(3)]  # three commits done
        time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    assert all(committed), "the child did not save"
    store = ScenarioStore(db)
    assert store.integrity_ok()
    ids = {e.id for e in store.entries()}
    assert set(committed) <= ids  # every reported commit survived
    for sid in ids:  # and nothing is half-written
        assert store.result(sid)["payload"] == "x" * 2_000_000


def test_runs_are_addressed_by_their_scenario_and_pruned(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from critmin.web import store as store_module

    store = ScenarioStore(tmp_path / "s.sqlite3")
    rid = store.put_run(EXAMPLE1_DICT, RESULT)
    assert store.put_run(dict(reversed(EXAMPLE1_DICT.items())), RESULT) == rid  # key order
    assert store.run(rid) == (EXAMPLE1_DICT, RESULT)
    monkeypatch.setattr(store_module, "MAX_RUNS", 3)
    ids = [store.put_run(EXAMPLE1_DICT | {"name": f"n{i}"}, RESULT) for i in range(5)]
    with pytest.raises(NotFoundError):
        store.run(ids[0])
    assert store.run(ids[-1])[0]["name"] == "n4"


def test_a_schema_1_database_is_upgraded_in_place(tmp_path: Path) -> None:
    import sqlite3

    db = tmp_path / "old.sqlite3"
    with sqlite3.connect(db) as conn:
        conn.execute(
            "CREATE TABLE scenarios (id TEXT PRIMARY KEY, name TEXT NOT NULL, created TEXT NOT "
            "NULL, scenario TEXT NOT NULL, result TEXT, converged INTEGER, products TEXT NOT NULL)"
        )
        conn.execute(
            "INSERT INTO scenarios VALUES ('old1', 'Old', '2026-01-01T00:00:00Z', ?, NULL, NULL, "
            "'lithium_carbonate')",
            (json.dumps(EXAMPLE1_DICT),),
        )
    store = ScenarioStore(db)
    [entry] = store.entries()
    assert (entry.id, entry.notes, entry.tags, entry.figures) == ("old1", "", [], None)
    assert store.update("old1", tags="a, b").tags == ["a", "b"]
    assert store.integrity_ok()


def test_names_notes_and_tags_beyond_their_limits_are_refused_not_cut(tmp_path: Path) -> None:
    from critmin.web.store import MAX_NAME_CHARS, MAX_TAGS, SavedFieldError

    store = ScenarioStore(tmp_path / "s.sqlite3")
    entry = store.save(EXAMPLE1_DICT, RESULT, notes="kept", tags=["a", "b"])
    for kwargs, field in (
        ({"name": "x" * (MAX_NAME_CHARS + 1)}, "name"),
        ({"name": "   "}, "name"),
        ({"notes": "n" * 10_001}, "notes"),
        ({"tags": [f"t{i}" for i in range(MAX_TAGS + 1)]}, "tags"),
        ({"tags": [",".join(f"t{i}" for i in range(300))]}, "tags"),  # commas inside an item
        ({"tags": ["x" * 51]}, "tags"),
    ):
        with pytest.raises(SavedFieldError) as info:
            store.update(entry.id, **kwargs)  # type: ignore[arg-type]
        assert info.value.field == field
    got, _ = store.get(entry.id)  # nothing changed by the refused edits
    assert got.name == EXAMPLE1_DICT["name"] and got.notes == "kept" and got.tags == ["a", "b"]
    with pytest.raises(SavedFieldError):
        store.save(EXAMPLE1_DICT | {"name": "y" * 100_000}, RESULT)
    # a copy of a scenario whose name is at the limit still fits
    long = store.save(EXAMPLE1_DICT | {"name": "z" * MAX_NAME_CHARS}, RESULT)
    copy = store.duplicate(long.id)
    assert copy.name.endswith(" (copy)") and len(copy.name) <= MAX_NAME_CHARS


def test_the_tag_filter_matches_the_tag_not_a_pattern(tmp_path: Path) -> None:
    store = ScenarioStore(tmp_path / "s.sqlite3")
    tagged = store.save(EXAMPLE1_DICT, RESULT, tags=["eu_zone"])
    store.save(EXAMPLE1_DICT, RESULT)
    assert [e.id for e in store.entries(tag="eu_zone")] == [tagged.id]
    assert store.entries(tag="%") == [] and store.entries(tag="eu%") == []
    assert store.entries(tag="eu_zon") == [] and store.entries(tag="_u_zone") == []


def test_a_file_that_is_not_a_database_is_refused_and_left_as_it_is(tmp_path: Path) -> None:
    from critmin.errors import CritminError

    other = tmp_path / "notes.txt"
    other.write_text("an analyst's notes, not a database\n" * 50)
    before = other.read_bytes()
    with pytest.raises(CritminError) as info:
        ScenarioStore(other)
    assert "is not a scenario database" in str(info.value)
    assert other.read_bytes() == before
    with pytest.raises(CritminError, match="is a folder"):
        ScenarioStore(tmp_path)


def test_serve_checks_where_it_listens_before_starting() -> None:
    import socket

    from critmin.errors import CritminError
    from critmin.web.app import check_listen

    with pytest.raises(CritminError, match="not a host name or address"):
        check_listen("no_such_host.invalid", 8000)
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with pytest.raises(CritminError, match=r"cannot listen on 127\.0\.0\.1"):
            check_listen("127.0.0.1", port)
    check_listen("127.0.0.1", port)  # free again


def test_ids_with_table_count_only_present_tables(tmp_path: Path) -> None:
    """``ids_with_table``: a table or a non-empty array of them counts; a missing key, ``null``
    and an empty array do not (a scenario saved with ``"chain": []`` has no chain)."""
    store = ScenarioStore(tmp_path / "s.sqlite3")
    plain = store.save(EXAMPLE1_DICT, None).id
    empty = store.save(EXAMPLE1_DICT | {"name": "b", "chain": [], "paths": None}, None).id
    paths = store.save(EXAMPLE1_DICT | {"name": "c", "paths": {"floor_usd_per_t": 1.0}}, None).id
    chain = store.save(EXAMPLE1_DICT | {"name": "d", "chain": [{"id": "lithium"}]}, None).id
    assert store.ids_with_table("paths") == {paths}
    assert store.ids_with_table("chain") == {chain}
    assert plain not in store.ids_with_table("paths") | store.ids_with_table("chain")
    assert empty not in store.ids_with_table("paths") | store.ids_with_table("chain")
    with pytest.raises(ValueError):
        store.ids_with_table("paths') OR 1=1 --")
