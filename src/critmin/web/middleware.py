"""ASGI middleware: a hard limit on request body size (413 before the app reads too much), and
``HEAD`` answered as ``GET`` without the body.

The 413 is JSON for the API (``/api/...``, ``?format=json``) and an HTML page for the
dashboard, so a browser that posts an oversized form sees a page, not JSON."""

from __future__ import annotations

import json
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _BodyTooLarge(Exception):
    pass


class BodySizeLimit:
    """Answer 413 to any request whose body exceeds ``max_bytes``: at once when
    ``Content-Length`` says so, else as soon as the streamed body passes the limit."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    def _message(self) -> str:
        return (
            f"the request body is larger than the limit of {self.max_bytes // 1024} KB; "
            "send a smaller scenario"
        )

    async def _reply(self, scope: Scope, send: Send, status: int, message: str) -> None:
        from urllib.parse import parse_qs

        from critmin.web.responses import error_page_html, wants_json_for

        query = parse_qs(scope.get("query_string", b"").decode("latin-1"))
        if wants_json_for(str(scope.get("path", "")), (query.get("format") or [None])[0]):
            body = json.dumps({"error": message, "field": "<body>"}).encode()
            media = b"application/json"
        else:
            body = error_page_html(status, message, "<body>").encode()
            media = b"text/html; charset=utf-8"
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", media),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                await self._reply(scope, send, 400, "invalid Content-Length header")
                return
            if length > self.max_bytes:
                await self._reply(scope, send, 413, self._message())
                return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise _BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _BodyTooLarge:
            if not started:
                await self._reply(scope, send, 413, self._message())


class HeadAsGet:
    """``HEAD`` on any path answers what ``GET`` would, headers only (RFC 9110, 9.3.2): the
    routes are declared for ``GET``, and the ``Allow`` header of ``OPTIONS`` and 405 lists
    ``HEAD`` wherever ``GET`` is."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "HEAD":
            await self.app(scope, receive, send)
            return

        async def headers_only(message: Message) -> None:
            if message["type"] == "http.response.body":
                if not message.get("more_body", False):
                    await send({"type": "http.response.body", "body": b"", "more_body": False})
                return
            await send(message)

        await self.app(dict(scope) | {"method": "GET"}, receive, headers_only)


def first_validation_error(errors: list[Any]) -> tuple[str, str]:
    """(field, message) of FastAPI's first request-validation error: ``query.limit``."""
    if not errors:
        return "<request>", "invalid request"
    e = errors[0]
    loc = [str(x) for x in e.get("loc", ())]
    if e.get("type") == "json_invalid":  # FastAPI's own body parsing: say it in plain words
        problem = str((e.get("ctx") or {}).get("error", "")) or "cannot be read"
        where = f" at character {loc[1]}" if len(loc) > 1 else ""
        return "<body>", f"the request body is not valid JSON: {problem}{where}"
    field = ".".join(loc) or "<request>"
    return field, str(e.get("msg", "invalid value"))
