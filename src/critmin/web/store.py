"""Saved scenarios and their results in one embedded SQLite file.

Durability: the database runs in WAL mode with ``synchronous=FULL``; every save is a single
transaction (scenario and result together), so a server killed mid-write leaves the previous
saves intact and the interrupted one absent, never half-written. Each call opens its own
short-lived connection, so the store is safe to use from the web server's worker threads.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from critmin.errors import CritminError

SCHEMA_VERSION = 1
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
"""


class NotFoundError(CritminError):
    """No saved scenario with this id."""


def default_db_path() -> Path:
    """``$CRITMIN_DB`` or ``~/.local/share/critmin/scenarios.sqlite3``."""
    env = os.environ.get("CRITMIN_DB")
    if env:
        return Path(env)
    base = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share")
    return base / "critmin" / "scenarios.sqlite3"


@dataclass(frozen=True)
class SavedScenario:
    """One row, without the (possibly large) result."""

    id: str
    name: str
    created: str
    products: list[str]
    has_result: bool
    converged: bool | None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "created": self.created,
            "products": self.products,
            "has_result": self.has_result,
            "converged": self.converged,
        }


class ScenarioStore:
    """CRUD for saved scenarios in a SQLite file (created on first use)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as conn:
            mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
            if str(mode).lower() != "wal":  # pragma: no cover - filesystems without WAL
                raise CritminError(f"cannot use WAL mode for {self.path} (got {mode})")
            conn.executescript(_SCHEMA)
            conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        try:
            conn = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        except sqlite3.Error as err:
            raise CritminError(f"cannot open the scenario database {self.path}: {err}") from None
        try:
            conn.execute("PRAGMA synchronous=FULL")
            conn.execute("PRAGMA foreign_keys=ON")
            yield conn
        finally:
            conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        with self._connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # ------------------------------------------------------------------ writes
    def save(self, scenario: dict[str, Any], result: dict[str, Any] | None = None) -> SavedScenario:
        """Save a scenario (and its result) in one transaction; returns the new row."""
        sid = secrets.token_hex(6)
        created = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        name = str(scenario.get("name") or "unnamed")
        products = [str(p.get("id")) for p in scenario.get("product", []) if isinstance(p, dict)]
        converged = None if result is None else bool(result.get("converged"))
        with self.transaction() as conn:
            conn.execute(
                "INSERT INTO scenarios (id, name, created, scenario, result, converged, products)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    sid,
                    name,
                    created,
                    json.dumps(scenario, allow_nan=False),
                    None if result is None else json.dumps(result, allow_nan=False),
                    None if converged is None else int(converged),
                    ",".join(products),
                ),
            )
        return SavedScenario(sid, name, created, products, result is not None, converged)

    def delete(self, sid: str) -> None:
        """Delete a saved scenario; raises :class:`NotFoundError` if there is none."""
        with self.transaction() as conn:
            cur = conn.execute("DELETE FROM scenarios WHERE id = ?", (sid,))
            if cur.rowcount == 0:
                raise NotFoundError(f"no saved scenario {sid!r}")

    # ------------------------------------------------------------------ reads
    @staticmethod
    def _row(row: tuple[Any, ...]) -> SavedScenario:
        sid, name, created, products, has_result, converged = row
        return SavedScenario(
            str(sid),
            str(name),
            str(created),
            [p for p in str(products).split(",") if p],
            bool(has_result),
            None if converged is None else bool(converged),
        )

    def entries(self, limit: int = 500) -> list[SavedScenario]:
        """Saved scenarios, newest first."""
        with self._connect() as conn:
            rows = conn.execute(
                "SELECT id, name, created, products, result IS NOT NULL, converged "
                "FROM scenarios ORDER BY created DESC, rowid DESC LIMIT ?",
                (limit,),
            ).fetchall()
        return [self._row(r) for r in rows]

    def get(self, sid: str) -> tuple[SavedScenario, dict[str, Any]]:
        """The row and its scenario dict; raises :class:`NotFoundError`."""
        with self._connect() as conn:
            row = conn.execute(
                "SELECT id, name, created, products, result IS NOT NULL, converged, scenario "
                "FROM scenarios WHERE id = ?",
                (sid,),
            ).fetchone()
        if row is None:
            raise NotFoundError(f"no saved scenario {sid!r}")
        scenario: dict[str, Any] = json.loads(row[6])
        return self._row(row[:6]), scenario

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
        data: dict[str, Any] = json.loads(row[0])
        return data

    def count(self) -> int:
        with self._connect() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM scenarios").fetchone()[0])

    def integrity_ok(self) -> bool:
        """SQLite's own integrity check."""
        with self._connect() as conn:
            return str(conn.execute("PRAGMA integrity_check").fetchone()[0]) == "ok"
