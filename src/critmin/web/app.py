"""The critmin web app: a JSON API (OpenAPI at ``/openapi.json``, Swagger UI at ``/docs``
served from local files) and a dashboard.

:func:`create_app` only assembles: the shared :class:`~critmin.web.context.WebContext`, the
body-size guard, the error handlers (:mod:`critmin.web.errors`) and the routers:

| router | what |
|---|---|
| :mod:`~critmin.web.routes.api` | ``/api/...``: data, metrics, simulate, runs, compare |
| :mod:`~critmin.web.routes.api_scenarios` | ``/api/scenarios...``: saved scenarios |
| :mod:`~critmin.web.routes.pages` | ``/overview``, ``/sources`` |
| :mod:`~critmin.web.routes.designer` | ``/designer`` |
| :mod:`~critmin.web.routes.exports` | ``/api/.../tables/{table}.csv``, ``.../workbook.xlsx`` |
| :mod:`~critmin.web.routes.saved` | ``/scenarios...``, ``/runs/{id}``, ``/compare`` |
| :mod:`~critmin.web.routes.sweep` | ``/sweep``, ``/api/sweep`` |
| :mod:`~critmin.web.routes.assets` | ``/assets/...``, ``/docs`` |
| :mod:`~critmin.web.routes.allow` | ``OPTIONS`` on every path (``Allow``) |

Every dashboard page has a JSON twin (``?format=json``). Bad input never gives a 5xx. Limits
are in :class:`critmin.web.services.Limits`. Run with ``critmin serve``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from types import FrameType
from typing import Any

from fastapi import Depends, FastAPI

from critmin import __version__
from critmin.web import services
from critmin.web.context import WebContext
from critmin.web.errors import install_error_handlers
from critmin.web.middleware import BodySizeLimit, HeadAsGet
from critmin.web.openapi import install_openapi
from critmin.web.queryparams import refuse_unknown_query
from critmin.web.routes import (
    allow,
    api,
    api_scenarios,
    assets,
    coalition,
    designer,
    exports,
    pages,
    paths,
    saved,
    sweep,
)
from critmin.web.services import Limits, SimulationRunner
from critmin.web.store import ScenarioStore, default_db_path

log = logging.getLogger("critmin.web")
SHUTDOWN_GRACE_S = 10
"""On Ctrl-C or SIGTERM, seconds the requests in flight have to finish before uvicorn cancels
them (a backstop: the simulation runner answers its waiting requests 503 at once)."""
DESCRIPTION = (
    "Design and stress-test a critical-minerals preferential trade zone on real public data. "
    "`POST /api/simulate` takes a scenario (the schema of the TOML scenario file, as JSON "
    "with `Content-Type: application/json`; bundled products only) and returns the results "
    'contract. Errors are `{"error": message, "field": name}`; a busy server answers 503 '
    "with `Retry-After`. Back to the dashboard: [/overview](/overview)."
)


def create_app(
    db_path: str | Path | None = None, limits: Limits | None = None, warm_up: bool = False
) -> FastAPI:
    """Build the FastAPI app. ``db_path``: SQLite file for saved scenarios (default
    :func:`critmin.web.store.default_db_path`); ``warm_up`` loads the data and the overview
    in a background thread at startup."""
    limits = limits or Limits()
    ctx = WebContext(ScenarioStore(db_path or default_db_path()), SimulationRunner(limits), limits)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        ctx.runner.stopping.clear()  # a stopped app served again
        if warm_up:
            threading.Thread(
                target=_warm, args=(ctx.ready,), name="critmin-warm-up", daemon=True
            ).start()
        else:
            ctx.ready.set()
        yield
        ctx.runner.shutdown()

    app = FastAPI(
        title="critmin",
        version=__version__,
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by routes.assets from local files
        redoc_url=None,
        dependencies=[Depends(refuse_unknown_query)],  # /api/: a misspelt parameter is a 422
    )
    app.add_middleware(BodySizeLimit, max_bytes=limits.max_body_bytes)
    app.add_middleware(HeadAsGet)
    app.state.web = ctx
    install_error_handlers(app)
    for module in (
        api,
        api_scenarios,
        exports,
        pages,
        designer,
        saved,
        sweep,
        coalition,
        paths,
        assets,
        allow,
    ):
        app.include_router(module.router)
    install_openapi(app)
    return app


def _warm(ready: threading.Event) -> None:
    """Load the data and compute the default overview so the first page is fast; then set
    ``ready`` (reported by ``/api/health``)."""
    try:
        services.world(2024)
        services.assess_records([], [], [], [], 2024)
        from critmin.model import warm_up

        warm_up()  # the solver's compiled kernels
    except Exception:  # pragma: no cover - warm-up is best effort
        log.exception("warm-up failed")
    finally:
        ready.set()


def check_listen(host: str, port: int) -> None:
    """That the server can listen on ``host:port``, checked before anything starts: an
    unknown host name or a port in use is one message (uvicorn would print its own error
    after the banner and exit with status 3)."""
    import socket

    from critmin.errors import CritminError

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as err:
        raise CritminError(f"--host {host!r}: not a host name or address here ({err})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as err:
            raise CritminError(
                f"cannot listen on {host}:{port} ({err.strerror or err}): is another server "
                "using that port? (--port to choose another)"
            ) from None


def serve(host: str = "127.0.0.1", port: int = 8000, db_path: str | Path | None = None) -> None:
    """Run the dashboard and API with uvicorn (blocking)."""
    import uvicorn

    check_listen(host, port)
    path = Path(db_path) if db_path else default_db_path()
    app = create_app(path, warm_up=True)
    print(
        f"critmin {__version__}: dashboard http://{host}:{port}/overview · API docs "
        f"http://{host}:{port}/docs · scenarios in {path}"
    )
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=SHUTDOWN_GRACE_S,
    )
    _server_class()(config, app.state.web.runner.stop).run()


def _server_class() -> Any:
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, telling the simulation runner as soon as Ctrl-C or SIGTERM
        arrives: uvicorn waits for the requests in flight before the app's shutdown, and a
        request waiting for a Monte Carlo run would otherwise hold the exit for up to its
        time limit (60 s and more)."""

        def __init__(self, config: uvicorn.Config, on_exit: Callable[[], None]) -> None:
            super().__init__(config)
            self._on_exit = on_exit

        def handle_exit(self, sig: int, frame: FrameType | None) -> None:
            self._on_exit()
            super().handle_exit(sig, frame)

    return Server


__all__ = ["create_app", "serve"]
