"""Saved scenarios, shareable runs and idempotency keys in one embedded SQLite file.

Durability: the database runs in WAL mode with ``synchronous=FULL``; every save is a single
transaction (scenario, result, key figures and the idempotency key together), so a server
killed mid-write leaves the previous saves intact and the interrupted one absent, never
half-written. Each call opens its own short-lived connection, so the store is safe to use from
the web server's worker threads.

Three tables:

- ``scenarios``: what an analyst saved (name, notes, tags, the scenario, its result and its key
  figures for the list page);
- ``runs``: every designer run, addressed by the hash of its scenario (``/runs/{id}``: a
  shareable address; the same scenario always gets the same id), pruned to the newest
  :data:`MAX_RUNS`; saving a run copies its result, it does not run the model again;
- ``idempotency``: ``Idempotency-Key`` header -> the scenario that request saved, so a save
  retried after a lost reply creates one scenario.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import secrets
import sqlite3
import threading
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from critmin.errors import CritminError
from critmin.numbers import read_json
from critmin.scenario.raw_checks import control_character
from critmin.web.services import BusyError

SCHEMA_VERSION = 2
MAX_RUNS = 500
"""Designer runs kept for their shareable addresses (the oldest are dropped beyond this); their
results are stored zlib-compressed (a 40-product result is a few MB of JSON, about a tenth of
that compressed)."""
MAX_TAGS = 20
MAX_TAG_CHARS = 50
MAX_NAME_CHARS = 200
MAX_NOTES_CHARS = 10_000
"""Limits of what an analyst writes on a saved scenario: the same through the API, the
designer and the edit form; beyond them a save or an edit is refused with a message
(:class:`SavedFieldError`), never cut short in silence."""
_SCHEMA = """
CREATE TABLE IF NOT EXISTS scenarios (
    id           TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    created      TEXT NOT NULL,
    scenario     TEXT NOT NULL,   -- the scenario as JSON (same schema as the TOML file)
    result       TEXT,            -- the results contract as JSON, or NULL if not run
    converged    INTEGER,         -- 1/0, NULL if not run
    products     TEXT NOT NULL    -- comma-separated product ids
);
CREATE INDEX IF NOT EXISTS scenarios_created ON scenarios (created);
CREATE TABLE IF NOT EXISTS runs (
    id           TEXT PRIMARY KEY,  -- hash of the canonical scenario JSON
    created      TEXT NOT NULL,
    scenario     TEXT NOT NULL,
    result       BLOB NOT NULL    -- zlib-compressed JSON
);
CREATE INDEX IF NOT EXISTS runs_created ON runs (created);
CREATE TABLE IF NOT EXISTS idempotency (
    key          TEXT PRIMARY KEY,
    body_hash    TEXT NOT NULL,
    scenario_id  TEXT NOT NULL,
    created      TEXT NOT NULL
);
"""
_ADDED_COLUMNS = {  # schema 1 -> 2: columns added to scenarios
    "notes": "TEXT NOT NULL DEFAULT ''",
    "tags": "TEXT NOT NULL DEFAULT ''",
    "figures": "TEXT",  # key figures as JSON (critmin.web.figures.saved_figures)
}
_ENTRY_COLUMNS = "id, name, created, products, result IS NOT NULL, converged, notes, tags, figures"


BUSY_TIMEOUT_S = 10.0
"""How long a write waits for another writer of the database file (SQLite's busy timeout)
before the request is answered 503 (:class:`StoreUnavailableError`)."""

MAX_WAITING_WRITES = 8
"""Writes that may wait for the database at once (:meth:`ScenarioStore.transaction`); one
more waits at most :data:`WRITE_QUEUE_S`, then is answered 503. Each waiting write holds one of
the server's worker threads (40, shared by every plain route): 45 saves waiting on a database
another program had locked took all of them, and ``/api/health`` answered after 8.7 s."""
WRITE_QUEUE_S = 1.0


class NotFoundError(CritminError):
    """No saved scenario (or run) with this id."""


class StoreUnavailableError(BusyError):
    """The database file cannot be read or written right now: locked by another process past
    :data:`BUSY_TIMEOUT_S`, read-only, or on a full disk (HTTP 503 with ``Retry-After``).
    Nothing was written: every save is one transaction. ``transient``: a lock, which passes
    (the designer counts down to a retry); else the operator must act."""

    def __init__(self, message: str, retry_after: int, transient: bool) -> None:
        self.transient = transient
        super().__init__(message, retry_after)


def _unavailable(path: Path, err: sqlite3.Error) -> StoreUnavailableError:
    """One sentence for SQLite's operational errors (a server fault, not the user's)."""
    text = str(err)
    if "unable to open" in text or "no such table" in text:
        return StoreUnavailableError(
            f"the scenario database {path} is missing (deleted, moved or replaced while the "
            "server ran?); nothing was saved. Tell the server's operator: put the file back, "
            "or restart the server to begin a new one",
            60,
            transient=False,
        )
    if "locked" in text or "busy" in text:
        return StoreUnavailableError(
            f"the scenario database {path} is locked by another program (waited "
            f"{BUSY_TIMEOUT_S:g} s); nothing was changed, retry in 5 s",
            5,
            transient=True,
        )
    if "readonly" in text or "read-only" in text:
        why = "it is read-only (check the file's and its folder's permissions)"
    elif "full" in text:
        why = "the disk is full"
    else:
        why = text
    return StoreUnavailableError(
        f"the scenario database {path} cannot be written: {why}; nothing was saved. Tell the "
        "server's operator",
        60,
        transient=False,
    )


class StoreFullError(CritminError):
    """The scenario database holds the maximum number of saved scenarios (HTTP 409)."""


class EditConflictError(CritminError):
    """An edit form opened before another edit of the same scenario (HTTP 409): saving it
    would undo that edit."""

    field = "loaded"


class StaleEditError(EditConflictError):
    """An API edit whose ``If-Match`` names an ``edit_key`` the scenario no longer has (HTTP
    412, RFC 9110 section 13.1.1): it was read before another edit, which it would undo."""

    field = "If-Match"


class IdempotencyConflictError(CritminError):
    """An ``Idempotency-Key`` reused with a different request body (HTTP 422)."""

    field = "Idempotency-Key"


def default_db_path() -> Path:
    """``$CRITMIN_DB`` or ``~/.local/share/critmin/scenarios.sqlite3``."""
    env = os.environ.get("CRITMIN_DB")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "critmin" / "scenarios.sqlite3"


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def canonical_json(data: Any) -> str:
    """Sorted keys, no spaces: equal data gives equal text (and equal hashes)."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def run_id(scenario: dict[str, Any]) -> str:
    """The address of a run: the first 16 hex digits of SHA-256 of the canonical scenario."""
    return hashlib.sha256(canonical_json(scenario).encode()).hexdigest()[:16]


def _pack(result: dict[str, Any]) -> bytes:
    return zlib.compress(json.dumps(result, allow_nan=False).encode(), 6)


def _hash(scenario: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(scenario).encode()).hexdigest()


class SavedFieldError(CritminError):
    """A name, notes or tags beyond their limits (HTTP 422), naming the field."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


def clean_tags(tags: list[str] | str) -> list[str]:
    """Tags as a sorted list of distinct, trimmed, lower-case words (commas separate, also
    inside a list's items; blank ones are dropped). More than :data:`MAX_TAGS` or one longer
    than :data:`MAX_TAG_CHARS` raises :class:`SavedFieldError`."""
    items = [tags] if isinstance(tags, str) else list(tags)
    words = {t.strip().lower() for item in items for t in str(item).split(",") if t.strip()}
    for word in words:
        _no_control("tags", word)
    long = [t for t in words if len(t) > MAX_TAG_CHARS]
    if long:
        raise SavedFieldError(
            "tags", f"a tag has at most {MAX_TAG_CHARS} characters, got {len(long[0]):,}"
        )
    if len(words) > MAX_TAGS:
        raise SavedFieldError("tags", f"at most {MAX_TAGS} tags, got {len(words)}")
    return sorted(words)


def _no_control(field_name: str, text: str) -> None:
    """The scenario layer's rule for text (:func:`critmin.scenario.raw_checks.control_character`):
    no control character, which would reach a terminal as a command, and which the saved
    scenario would then fail to validate with (a name renamed so could no longer be opened)."""
    if control_character(text) is not None:
        raise SavedFieldError(
            field_name, "holds a control character (such as an escape code or a NUL)"
        )


def check_name(name: str) -> str:
    """A saved scenario's name, trimmed: not blank, at most :data:`MAX_NAME_CHARS`."""
    name = name.strip()
    if not name:
        raise SavedFieldError("name", "a saved scenario needs a name")
    _no_control("name", name)
    if len(name) > MAX_NAME_CHARS:
        raise SavedFieldError("name", f"at most {MAX_NAME_CHARS} characters, got {len(name):,}")
    return name


def check_notes(notes: str) -> str:
    """Notes of at most :data:`MAX_NOTES_CHARS` characters."""
    _no_control("notes", notes)
    if len(notes) > MAX_NOTES_CHARS:
        raise SavedFieldError(
            "notes", f"at most {MAX_NOTES_CHARS:,} characters, got {len(notes):,}"
        )
    return notes


@dataclass(frozen=True)
class SavedScenario:
    """One row, without the (possibly large) result."""

    id: str
    name: str
    created: str
    products: list[str]
    has_result: bool
    converged: bool | None
    notes: str = ""
    tags: list[str] = field(default_factory=list)
    figures: list[dict[str, Any]] | None = None
    replayed: bool = field(default=False, compare=False)
    """Returned by :meth:`ScenarioStore.save` for an ``Idempotency-Key`` seen before: the
    entry saved then, nothing new written (not part of :meth:`to_dict`)."""

    @property
    def edit_key(self) -> str:
        """A fingerprint of what the edit form changes (name, notes, tags): a form that
        carries an older one was opened before another edit, and would undo it."""
        text = json.dumps([self.name, self.notes, self.tags], ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "products": self.products,
            "has_result": self.has_result,
            "converged": self.converged,
            "notes": self.notes,
            "tags": self.tags,
            "edit_key": self.edit_key,
            "figures": self.figures,
        }


class ScenarioStore:
    """CRUD for saved scenarios and runs in a SQLite file (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._writers = threading.BoundedSemaphore(MAX_WAITING_WRITES)
        if self.path.is_dir():
            raise CritminError(f"the scenario database {self.path} is a folder: give a file")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._open()
        except sqlite3.DatabaseError as err:  # another file (not SQLite), or a damaged one
            raise CritminError(
                f"{self.path} is not a scenario database ({err}); it was left as it is: give "
                "another --db path"
            ) from None

    def _open(self) -> None:
        """WAL mode, the schema, and the columns later versions added."""
        with self._connect(create=True) as conn:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - filesystems without WAL
                raise CritminError(f"cannot use WAL mode for {self.path} (got {mode})")
            conn.executescript(_SCHEMA)
            have = {row[1] for row in conn.execute("PRAGMA table_info(scenarios)")}
            for column, decl in _ADDED_COLUMNS.items():
                if column not in have:
                    conn.execute(f"ALTER TABLE scenarios ADD COLUMN {column} {decl}")
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _connect(self, create: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection; only ``create`` (when the store is opened) makes a missing file: a
        database deleted or moved while the server runs is answered 503, not replaced by an
        empty one in silence."""
        target = str(self.path) if create else self.path.absolute().as_uri() + "?mode=rw"
        try:
            conn = sqlite3.connect(
                target, timeout=BUSY_TIMEOUT_S, isolation_level=None, uri=not create
            )
        except sqlite3.Error as err:
            if create:
                raise CritminError(
                    f"cannot open the scenario database {self.path}: {err}"
                ) from None
            raise _unavailable(self.path, err) from None
        try:
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            yield conn
        except sqlite3.OperationalError as err:  # locked, read-only, disk full: not a bug
            raise _unavailable(self.path, err) from None
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any exception. At most
        :data:`MAX_WAITING_WRITES` wait for the database at once; another is answered 503 after
        :data:`WRITE_QUEUE_S` (the database is held by another program, or very busy)."""
        if not self._writers.acquire(timeout=WRITE_QUEUE_S):
            raise StoreUnavailableError(
                f"the scenario database {self.path} is busy: {MAX_WAITING_WRITES} writes are "
                "already waiting for it (locked by another program?); nothing was changed, "
                "retry in 5 s",
                5,
                transient=True,
            )
        try:
            with self._connect() as conn:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        finally:
            self._writers.release()

    # ------------------------------------------------------------------ writes
    def save(
        self,
        scenario: dict[str, Any],
        result: dict[str, Any] | None = None,
        *,
        figures: list[dict[str, Any]] | None = None,
        notes: str = "",
        tags: list[str] | None = None,
        idempotency_key: str | None = None,
        max_saved: int | None = None,
    ) -> SavedScenario:
        """Save a scenario (and its result) in one transaction; returns the new row.

        With ``idempotency_key``: a key seen before with the same scenario returns the row it
        saved then (nothing new is written; ``replayed`` is true); with another scenario it
        raises :class:`IdempotencyConflictError`. With ``max_saved``: a store holding that many
        scenarios raises :class:`StoreFullError`, counted inside the transaction so that
        saves racing for the last place cannot pass the limit."""
        sid = secrets.token_hex(6)
        created = _now()
        name = check_name(str(scenario.get("name") or "unnamed"))
        notes = check_notes(notes)
        products = [str(p.get("id")) for p in scenario.get("product", []) if isinstance(p, dict)]
        converged = None if result is None else bool(result.get("converged"))
        scenario_text = json.dumps(scenario, allow_nan=False)
        tag_list = clean_tags(tags or [])
        with self.transaction() as conn:
            if idempotency_key is not None:
                seen = self._idempotent(conn, idempotency_key, scenario)
                if seen is not None:
                    return replace(seen, replayed=True)
                conn.execute(
                    "INSERT OR REPLACE INTO idempotency (key, body_hash, scenario_id, created) "
                    "VALUES (?, ?, ?, ?)",
                    (idempotency_key, _hash(scenario), sid, created),
                )
            if max_saved is not None:
                held = int(conn.execute("SELECT COUNT(*) FROM scenarios").fetchone()[0])
                if held >= max_saved:
                    raise StoreFullError(
                        f"the database holds {max_saved} saved scenarios, the maximum; delete "
                        "some first"
                    )
            conn.execute(
                "INSERT INTO scenarios (id, name, created, scenario, result, converged, products,"
                " notes, tags, figures) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    sid,
                    name,
                    created,
                    scenario_text,
                    None if result is None else json.dumps(result, allow_nan=False),
                    None if converged is None else int(converged),
                    ",".join(products),
                    notes,
                    ",".join(tag_list),
                    None if figures is None else json.dumps(figures, allow_nan=False),
                ),
            )
        return SavedScenario(
            sid, name, created, products, result is not None, converged, notes, tag_list, figures
        )

    def _idempotent(
        self, conn: sqlite3.Connection, key: str, scenario: dict[str, Any]
    ) -> SavedScenario | None:
        seen = conn.execute(
            "SELECT body_hash, scenario_id FROM idempotency WHERE key = ?", (key,)
        ).fetchone()
        if seen is None:
            return None
        if seen[0] != _hash(scenario):
            raise IdempotencyConflictError(
                f"the Idempotency-Key {key!r} was already used for another scenario; use a new "
                "key for a new save"
            )
        row = conn.execute(f"SELECT {_ENTRY_COLUMNS} FROM scenarios WHERE id = ?", (seen[1],))
        found = row.fetchone()
        return None if found is None else self._row(found)

    def idempotent_entry(self, key: str, scenario: dict[str, Any]) -> SavedScenario | None:
        """The scenario saved earlier under ``key`` (``None`` if none); raises
        :class:`IdempotencyConflictError` when the key was used for another scenario."""
        with self._connect() as conn:
            return self._idempotent(conn, key, scenario)

    def update(
        self,
        sid: str,
        *,
        name: str | None = None,
        notes: str | None = None,
        tags: list[str] | str | None = None,
        expect_key: str | None = None,
    ) -> SavedScenario:
        """Rename a saved scenario (its scenario's ``name`` too) or change its notes or tags.
        With ``expect_key`` (the :attr:`SavedScenario.edit_key` the editing form was drawn
        with), an entry edited since then raises :class:`EditConflictError`, checked in the
        same transaction as the write."""
        name = None if name is None else check_name(name)
        notes = None if notes is None else check_notes(notes)
        tag_text = None if tags is None else ",".join(clean_tags(tags))
        with self.transaction() as conn:
            row = conn.execute("SELECT scenario FROM scenarios WHERE id = ?", (sid,)).fetchone()
            if row is None:
                raise NotFoundError(f"no saved scenario {sid!r}")
            if expect_key is not None:
                now = conn.execute(
                    f"SELECT {_ENTRY_COLUMNS} FROM scenarios WHERE id = ?", (sid,)
                ).fetchone()
                if self._row(now).edit_key != expect_key:
                    raise EditConflictError(
                        "this scenario was changed (in another tab, or by someone else) after "
                        "this page was opened, and saving would undo that: reload the page to "
                        "see the changes, then edit again. Nothing was changed."
                    )
            if name is not None:
                scenario = json.loads(row[0]) | {"name": name}
                conn.execute(
                    "UPDATE scenarios SET name = ?, scenario = ? WHERE id = ?",
                    (name, json.dumps(scenario, allow_nan=False), sid),
                )
            if notes is not None:
                conn.execute("UPDATE scenarios SET notes = ? WHERE id = ?", (notes, sid))
            if tag_text is not None:
                conn.execute("UPDATE scenarios SET tags = ? WHERE id = ?", (tag_text, sid))
            entry = conn.execute(
                f"SELECT {_ENTRY_COLUMNS} FROM scenarios WHERE id = ?", (sid,)
            ).fetchone()
        return self._row(entry)

    def duplicate(self, sid: str, name: str | None = None) -> SavedScenario:
        """A copy of a saved scenario (result, notes and tags included) under a new id."""
        entry, scenario = self.get(sid)
        new_name = f"{entry.name[: MAX_NAME_CHARS - 7]} (copy)" if name is None else name
        result = self.result(sid) if entry.has_result else None
        return self.save(
            scenario | {"name": new_name},
            result,
            figures=entry.figures,
            notes=entry.notes,
            tags=entry.tags,
        )

    def delete(self, sid: str) -> None:
        """Delete a saved scenario; raises :class:`NotFoundError` if there is none."""
        with self.transaction() as conn:
            cur = conn.execute("DELETE FROM scenarios WHERE id = ?", (sid,))
            if cur.rowcount == 0:
                raise NotFoundError(f"no saved scenario {sid!r}")
            conn.execute("DELETE FROM idempotency WHERE scenario_id = ?", (sid,))

    def put_run(self, scenario: dict[str, Any], result: dict[str, Any]) -> str:
        """Keep a designer run under its address (:func:`run_id`); returns the id."""
        rid = run_id(scenario)
        with self.transaction() as conn:
            conn.execute(
                "INSERT OR REPLACE INTO runs (id, created, scenario, result) VALUES (?, ?, ?, ?)",
                (rid, _now(), canonical_json(scenario), _pack(result)),
            )
            conn.execute(
                "DELETE FROM runs WHERE id NOT IN "
                "(SELECT id FROM runs ORDER BY created DESC, rowid DESC LIMIT ?)",
                (MAX_RUNS,),
            )
        return rid

    # ------------------------------------------------------------------ reads
    @staticmethod
    def _row(row: tuple[Any, ...]) -> SavedScenario:
        sid, name, created, products, has_result, converged, notes, tags, figures = row
        return SavedScenario(
            str(sid),
            str(name),
            str(created),
            [p for p in str(products).split(",") if p],
            bool(has_result),
            None if converged is None else bool(converged),
            str(notes or ""),
            [t for t in str(tags or "").split(",") if t],
            None if figures is None else json.loads(figures),
        )

    def entries(
        self, limit: int = 500, tag: str | Sequence[str] | None = None
    ) -> list[SavedScenario]:
        """Saved scenarios, newest first; with ``tag`` (one tag or several), only those that
        carry every tag given (``["li", "draft"]``: tagged both ``li`` and ``draft``)."""
        query = f"SELECT {_ENTRY_COLUMNS} FROM scenarios"
        params: list[Any] = []
        wanted = [tag] if isinstance(tag, str) else list(tag or [])
        words = sorted({w.strip().lower() for w in wanted if w and w.strip()})
        if words:  # the tag itself, not a LIKE pattern (% and _ are plain characters)
            query += " WHERE " + " AND ".join(["instr(',' || tags || ',', ?) > 0"] * len(words))
            params.extend(f",{w}," for w in words)
        with self._connect() as conn:
            rows = conn.execute(
                query + " ORDER BY created DESC, rowid DESC LIMIT ?", (*params, limit)
            ).fetchall()
        return [self._row(r) for r in rows]

    def ids_with_table(self, table: str) -> set[str]:
        """Ids of the saved scenarios whose scenario has a top-level ``table`` (e.g.
        ``"paths"``) or a non-empty array of them (``"chain"``); ``null`` and ``[]`` do not
        count. For menus that offer only the scenarios a page can run."""
        if not table.isidentifier():
            raise ValueError(f"not a table name: {table!r}")
        path = f"$.{table}"
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id FROM scenarios WHERE json_type(scenario, ?) = 'object' OR "
                "(json_type(scenario, ?) = 'array' AND json_array_length(scenario, ?) > 0)",
                (path, path, path),
            ).fetchall()
        return {str(r[0]) for r in rows}

    def get(self, sid: str) -> tuple[SavedScenario, dict[str, Any]]:
        """The row and its scenario dict; raises :class:`NotFoundError`."""
        with self._connect() as conn:
            row = conn.execute(
                f"SELECT {_ENTRY_COLUMNS}, scenario FROM scenarios WHERE id = ?", (sid,)
            ).fetchone()
        if row is None:
            raise NotFoundError(f"no saved scenario {sid!r}")
        scenario: dict[str, Any] = json.loads(row[-1])
        return self._row(row[:-1]), scenario

    def result(self, sid: str) -> dict[str, Any]:
        """The saved results contract; raises :class:`NotFoundError` (no scenario / no result)."""
        with self._connect() as conn:
            row = conn.execute("SELECT result FROM scenarios WHERE id = ?", (sid,)).fetchone()
        if row is None:
            raise NotFoundError(f"no saved scenario {sid!r}")
        if row[0] is None:
            raise NotFoundError(
                f"saved scenario {sid!r} has no result (it was saved without running)"
            )
        data: dict[str, Any] = read_json(row[0])
        return data

    def run(self, rid: str) -> tuple[dict[str, Any], dict[str, Any]]:
        """A designer run's scenario and result; raises :class:`NotFoundError`."""
        with self._connect() as conn:
            row = conn.execute("SELECT scenario, result FROM runs WHERE id = ?", (rid,)).fetchone()
        if row is None:
            raise NotFoundError(
                f"no run {rid!r}: runs are kept for the newest {MAX_RUNS}; save a scenario "
                "to keep it"
            )
        return json.loads(row[0]), read_json(zlib.decompress(row[1]))

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM scenarios").fetchone()[0])

    def integrity_ok(self) -> bool:
        """SQLite's own integrity check."""
        with self._connect() as conn:
            return str(conn.execute("PRAGMA integrity_check").fetchone()[0]) == "ok"
