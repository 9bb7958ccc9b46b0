"""Request size limits: a body over the limit is answered 413 in the error shape, before the endpoint runs.

A declared Content-Length over the limit is refused at once; a body sent without one (chunked) is counted
as it arrives and refused when it passes the limit. Uploads (`upload_prefix`) get their own, larger limit.
"""

from __future__ import annotations

import json

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pipecast.api.errors import body


def body_too_large(limit: int) -> HTTPException:
    """Raised from `receive` when a streamed body passes the limit; FastAPI re-raises HTTPExceptions met while
    reading a body, so the error handlers answer it as a 413."""
    return HTTPException(413, f"request body over the limit of {limit} bytes")


class BodyLimit:
    def __init__(self, app: ASGIApp, *, max_body: int, max_upload: int, upload_prefix: str) -> None:
        self.app = app
        self.max_body = max_body
        self.max_upload = max_upload
        self.upload_prefix = upload_prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload if str(scope.get("path", "")).startswith(self.upload_prefix) else self.max_body
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                too_big = False
            if too_big:
                await self._refuse(scope, send, limit)
                return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise body_too_large(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, tracked)
        except HTTPException as exc:
            if exc.status_code != 413:
                raise
            if not started:
                await self._refuse(scope, send, limit)

    async def _refuse(self, scope: Scope, send: Send, limit: int) -> None:
        scope.setdefault("state", {})["error_message"] = f"request body over {limit} bytes"
        content = json.dumps(body("payload_too_large", f"request body over the limit of {limit} bytes")).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": content})
