"""What every route shares: the scenario store, the simulation runner and the limits.

:func:`create_app <critmin.web.app.create_app>` puts one :class:`WebContext` on
``app.state.web``; routes receive it with ``Depends(get_context)``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request

from critmin.scenario import Scenario
from critmin.web import services
from critmin.web.figures import saved_figures
from critmin.web.responses import links
from critmin.web.services import Limits, SimulationRunner
from critmin.web.store import MAX_TAG_CHARS, MAX_TAGS, ScenarioStore, StoreFullError


@dataclass
class WebContext:
    """The store, runner and limits of one app."""

    store: ScenarioStore
    runner: SimulationRunner
    limits: Limits
    ready: threading.Event = field(default_factory=threading.Event)

    async def simulate(self, scenario: Scenario) -> dict[str, Any]:
        """The results contract of a validated scenario, computed on the worker pool."""
        result: dict[str, Any] = await self.runner.run(services.run_simulation, scenario)
        return result

    async def check(self, scenario: Scenario) -> None:
        """Resolve countries and products without solving (on the worker pool)."""
        await self.runner.run(services.check_resolves, scenario)

    async def uncertainty(self, data: dict[str, Any], draws: int, seed: int) -> dict[str, Any]:
        """Monte Carlo draws of a scenario's data (at most ``limits.max_uncertainty_draws``)."""
        if draws > self.limits.max_uncertainty_draws:
            raise services.InvalidInputError(
                "query.draws",
                f"at most {self.limits.max_uncertainty_draws} draws per request on the server, "
                f"got {draws}; run larger analyses with `critmin uncertainty`",
            )
        scenario = services.web_scenario(data, self.limits)
        result: dict[str, Any] = await self.runner.run(
            services.run_uncertainty,
            scenario,
            draws,
            seed,
            self.limits.simulate_timeout_s,
            self.runner.check_stop,
        )
        return result

    def save(
        self,
        scenario: dict[str, Any],
        result: dict[str, Any] | None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Save a scenario with its result and key figures; the entry with its links (and
        ``"replayed": True`` when ``idempotency_key`` was seen before: nothing new saved)."""
        if idempotency_key is None:  # a replay is answered even when the store is full
            self.ensure_room()
        entry = self.store.save(
            scenario,
            result,
            figures=None if result is None else saved_figures(result),
            idempotency_key=idempotency_key,
            max_saved=self.limits.max_saved_scenarios,
        )
        return entry.to_dict() | links(entry.id) | ({"replayed": True} if entry.replayed else {})

    def ensure_room(self) -> None:
        """Raise :class:`StoreFullError` when the store holds the maximum number of saves."""
        if self.store.count() >= self.limits.max_saved_scenarios:
            raise StoreFullError(  # early, before any work; store.save counts again
                f"the database holds {self.limits.max_saved_scenarios} saved "
                "scenarios, the maximum; delete some first"
            )

    def entries(self, tags: list[str] | None = None) -> list[dict[str, Any]]:
        """Saved scenarios with their links, newest first; with ``tags`` (``?tag=`` repeated
        or comma-separated, see :func:`query_tags`), those that carry every one of them."""
        return [e.to_dict() | links(e.id) for e in self.store.entries(tag=tags)]


def query_tags(values: list[str] | None) -> list[str]:
    """The tags of ``?tag=a&tag=b`` or ``?tag=a,b``: trimmed, lower-cased, unique, in the
    order given; a list's filter keeps the scenarios tagged with all of them (only the last
    was used). More tags than a scenario may hold, or one too long, is a 422 naming
    ``query.tag``."""
    words: list[str] = []
    for value in values or []:
        for word in value.split(","):
            word = word.strip().lower()
            if len(word) > MAX_TAG_CHARS:
                raise services.InvalidInputError(
                    "query.tag", f"a tag has at most {MAX_TAG_CHARS} characters, got {len(word):,}"
                )
            if word and word not in words:
                words.append(word)
    if len(words) > MAX_TAGS:
        raise services.InvalidInputError(
            "query.tag", f"at most {MAX_TAGS} tags (a scenario has no more), got {len(words)}"
        )
    return words


def get_context(request: Request) -> WebContext:
    """The app's :class:`WebContext` (a FastAPI dependency)."""
    ctx: WebContext = request.app.state.web
    return ctx
