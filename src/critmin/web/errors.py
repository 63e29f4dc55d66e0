"""Every error the app answers, in one place: user errors are 4xx (or 503 when busy) with one
sentence naming the field, never a traceback; anything else is a bug (500, logged).

| error | status |
|---|---|
| :class:`~critmin.errors.ScenarioError`, request validation, a reused idempotency key, a saved scenario's name, notes or tags beyond their limits | 422 |
| :class:`~critmin.web.services.BadRequestError` and other ``CritminError`` | 400 |
| :class:`~critmin.web.store.NotFoundError`, unknown path | 404 |
| method not allowed | 405 (with ``Allow``) |
| :class:`~critmin.web.store.StoreFullError`, an edit form opened before another edit (:class:`~critmin.web.store.EditConflictError`) | 409 |
| an API edit whose ``If-Match`` is not the scenario's ``edit_key`` any more (:class:`~critmin.web.store.StaleEditError`) | 412 |
| :class:`~critmin.web.services.TooLargeError` | 413 |
| :class:`~critmin.web.services.UnsupportedMediaError` | 415 |
| :class:`~critmin.web.services.BusyError`, a simulation over the time limit, the database locked, read-only or full (:class:`~critmin.web.store.StoreUnavailableError`) | 503 (with ``Retry-After``) |
| the client gone before its body arrived (``ClientDisconnect``) | none (nobody to answer; not logged as a bug) |
"""

from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect

from critmin.errors import CritminError, ScenarioError, each_error
from critmin.web.middleware import first_validation_error
from critmin.web.responses import error_response
from critmin.web.routes.allow import allowed_methods
from critmin.web.services import (
    BadRequestError,
    BusyError,
    InvalidInputError,
    TooLargeError,
    UnsupportedMediaError,
)
from critmin.web.store import (
    EditConflictError,
    IdempotencyConflictError,
    NotFoundError,
    SavedFieldError,
    StaleEditError,
    StoreFullError,
    StoreUnavailableError,
)

log = logging.getLogger("critmin.web")


def status_of(exc: CritminError) -> int:
    """The HTTP status of a user error."""
    for kind, status in (
        (ScenarioError, 422),
        (IdempotencyConflictError, 422),
        (InvalidInputError, 422),
        (SavedFieldError, 422),
        (BadRequestError, 400),
        (NotFoundError, 404),
        (BusyError, 503),
        (TooLargeError, 413),
        (UnsupportedMediaError, 415),
        (StoreFullError, 409),
        (StaleEditError, 412),
        (EditConflictError, 409),
    ):
        if isinstance(exc, kind):
            return status
    return 400


def install_error_handlers(app: FastAPI) -> None:
    """Register the handlers on ``app``."""

    @app.exception_handler(CritminError)
    async def critmin_error(request: Request, exc: CritminError) -> Response:
        status = status_of(exc)
        if isinstance(exc, StoreUnavailableError):  # the operator's to fix: one line, no trace
            log.warning("%s %s: %s", request.method, request.url.path, exc)
        headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, BusyError) else None
        field = getattr(exc, "field", None)
        if isinstance(exc, TooLargeError):
            field = "<body>"
        refused = each_error(exc) if isinstance(exc, ScenarioError) else None
        return error_response(request, status, str(exc), field, headers, refused)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> Response:
        field, message = first_validation_error(list(exc.errors()))
        return error_response(request, 422, f"{field}: {message}", field)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        headers = dict(getattr(exc, "headers", None) or {})
        status = exc.status_code
        allow = allowed_methods(request.app, request.scope) if status == 405 else []
        if status == 405 and not allow:  # only the OPTIONS catch-all matched: no such path
            status = 404
        if status == 405:
            headers["Allow"] = ", ".join(allow)
            message = f"method {request.method} is not allowed here; allowed: {', '.join(allow)}"
        elif status == 404:
            message = "no such page or endpoint"
        else:
            message = str(exc.detail)
        return error_response(request, status, message, headers=headers or None)

    @app.exception_handler(ClientDisconnect)
    async def client_gone(request: Request, _exc: ClientDisconnect) -> Response:
        # the client closed the connection while sending its body: nothing was read, so
        # nothing was saved; there is nobody to answer and it is not a bug
        log.debug(
            "%s %s: the client went away before its body arrived", request.method, request.url.path
        )
        return Response(status_code=400)

    @app.exception_handler(Exception)
    async def internal_error(request: Request, exc: Exception) -> Response:  # pragma: no cover
        log.exception("internal error on %s", request.url.path)
        return error_response(
            request,
            500,
            f"internal error ({type(exc).__name__}); this is a bug in critmin, please report it",
        )
