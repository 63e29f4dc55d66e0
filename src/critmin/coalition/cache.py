"""A file cache of solved coalition markets, so that repeated runs are instant.

One JSON file per market (``<cache dir>/coalition/<market key>.json``): the market key is a
SHA-256 over everything the solution depends on (the product's baseline arrays and elasticities,
the scenario's policies, market shocks (``[[shock]]``) and watch list, the year,
:data:`CACHE_VERSION`), so a change of data, scenario or objective definitions never reads a
stale entry. Inside, entries are keyed by the
zone's member mask over the market's countries (packed bits, hex): the coalition as that market
sees it. Values are the quantities of :data:`critmin.coalition.markets.QUANTITIES`.

Safe against corruption: files are written atomically (temporary file, fsync, rename:
:func:`critmin.util.write_json_atomic`), carry a checksum of their entries, and a file that
cannot be read or fails its checksum is ignored (and then rewritten) with a note. Two runs
writing the same file at once lose at most each other's new entries, never the file.

The folder is ``$CRITMIN_CACHE_DIR``, else ``$XDG_CACHE_HOME/critmin``, else the platform's
user cache folder (``~/.cache/critmin`` on Linux, ``~/Library/Caches/critmin`` on macOS,
``%LOCALAPPDATA%/critmin/Cache`` on Windows).
"""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path

import numpy as np

from critmin.data.dataset import user_cache_dir
from critmin.errors import WriteFailedError
from critmin.util import write_json_atomic

__all__ = ["CACHE_VERSION", "CoalitionCache", "default_cache_dir", "mask_key"]

CACHE_VERSION = 1
"""Bump when the cached quantities change meaning (an old file is then never read)."""


def default_cache_dir() -> Path:
    """The user's cache folder for critmin (module docstring;
    :func:`critmin.data.dataset.user_cache_dir`)."""
    return user_cache_dir()


def mask_key(mask: np.ndarray) -> str:
    """A member mask as a compact text key (packed bits, hex)."""
    return np.packbits(np.asarray(mask, dtype=np.bool_)).tobytes().hex()


def _checksum(entries: dict[str, list[float]]) -> str:
    text = json.dumps(entries, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


class CoalitionCache:
    """Read and extend the cached markets in ``directory`` (``None``: no caching at all)."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory / "coalition" if directory is not None else None
        self.notes: list[str] = []

    def _path(self, market_key: str) -> Path | None:
        return self.directory / f"{market_key}.json" if self.directory is not None else None

    def load(self, market_key: str) -> dict[str, np.ndarray]:
        """The cached entries of one market (empty when absent, unreadable or corrupt)."""
        path = self._path(market_key)
        if path is None:
            return {}
        try:
            found = path.is_file()
        except OSError as err:  # a folder it cannot search: an internal error, once a market
            self.notes.append(
                f"the cache folder {path.parent} cannot be read ({err.strerror or err}): "
                "no cache is used"
            )
            self.directory = None
            return {}
        if not found:
            return {}
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["entries"]
            ok = (
                data.get("version") == CACHE_VERSION
                and data.get("market") == market_key
                and isinstance(entries, dict)
                and data.get("checksum") == _checksum(entries)
            )
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
            ok = False
        if not ok:
            self.notes.append(f"cache file {path.name} was unreadable or corrupt: ignored")
            return {}
        return {k: np.asarray(v, dtype=np.float64) for k, v in entries.items()}

    def store(self, market_key: str, new: dict[str, np.ndarray]) -> None:
        """Add entries to a market's file (entries with a non-finite value are not kept)."""
        path = self._path(market_key)
        if path is None or not new:
            return
        entries = {k: [float(x) for x in v] for k, v in self.load(market_key).items()}
        for key, values in new.items():
            row = [float(x) for x in values]
            if all(math.isfinite(x) for x in row):
                entries[key] = row
        try:
            write_json_atomic(
                path,
                {
                    "version": CACHE_VERSION,
                    "market": market_key,
                    "checksum": _checksum(entries),
                    "entries": entries,
                },
            )
        except WriteFailedError as err:  # the results stand; only the cache is lost
            # (the default cache folder, not checked as --cache-dir is: a run that had done
            # its work failed with exit 1, or a folder it cannot search was an internal error)
            self.notes.append(f"the cache was not written ({err}); the results are not cached")
            self.directory = None
