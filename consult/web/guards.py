"""ASGI layers around the whole app: request body caps and the security headers.

They wrap everything, Starlette's own error handling included, so the headers are on every
response (a 404 for an unknown path, a 500 from a bug) and no body is buffered past its cap
whatever route it is for. FastAPI reads and parses a body before a route's dependencies run, so
the cap is what keeps a 300 MB POST without credentials from growing the server: a request that
carries no session cookie and no ``Authorization`` header may send ``ANONYMOUS_BODY_BYTES``
(the login form needs far less); any other ``max_bytes`` (CONSULT_MAX_REQUEST_BYTES). A declared
``Content-Length`` over the cap is refused before a byte is read; a chunked body is counted as it
arrives and cut off at the cap.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
#: Body bytes accepted from a request that carries no credentials at all.
ANONYMOUS_BODY_BYTES = 64 * 1024
#: Set on every response; the first only when the app did not set its own.
DEFAULT_HEADERS = ((b"content-security-policy", CSP.encode()),)
FIXED_HEADERS = ((b"x-content-type-options", b"nosniff"), (b"x-frame-options", b"DENY"),
                 (b"referrer-policy", b"no-referrer"))


class SecurityHeaders:
    """Adds the security headers (and ``Cache-Control: no-store`` off /static) to every
    response, error responses included: pages carry patient data."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = str(scope.get("path", "")).startswith("/static/")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", [])
                           if k.lower() not in {f[0] for f in FIXED_HEADERS}]
                present = {k.lower() for k, _ in headers}
                headers += [h for h in DEFAULT_HEADERS if h[0] not in present]
                headers += list(FIXED_HEADERS)
                if not static:
                    headers = [(k, v) for k, v in headers if k.lower() != b"cache-control"]
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _credentials(scope: Scope) -> bool:
    for key, value in scope.get("headers", []):
        if key == b"authorization" and value.strip():
            return True
        if key == b"cookie" and b"consult_session=" in value:
            return True
    return False


class BodyLimit:
    """Refuses (413) a request body over its cap, counting before anything reads it."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 anonymous_bytes: int = ANONYMOUS_BODY_BYTES) -> None:
        self.app, self.max_bytes, self.anonymous_bytes = app, max_bytes, anonymous_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        cap = self.max_bytes if _credentials(scope) else min(self.max_bytes,
                                                             self.anonymous_bytes)
        for key, value in scope.get("headers", []):
            if key == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = cap + 1
                if declared > cap:
                    await _refuse(send, cap)
                    return
        seen = 0
        started = refused = False

        async def counted() -> Message:
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:  # answer now; the app sees the client go away
                    if not started:
                        await _refuse(send, cap)
                    refused = True
                    return {"type": "http.disconnect"}
            return message

        async def watch(message: Message) -> None:
            nonlocal started
            if refused:
                return  # we answered already
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watch)
        except Exception:
            if not refused:
                raise


async def _refuse(send: Send, cap: int) -> None:
    body = json.dumps({"detail": f"The request body is over the {cap:,} byte limit "
                                 "(CONSULT_MAX_REQUEST_BYTES; log in first for the full limit)."
                       }).encode()
    await send({"type": "http.response.start", "status": 413,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})
