"""The request body limit of the ASGI server (issue #16 item 5; docs/security.md).

`BodyLimit` wraps the HTTP application: a declared Content-Length over the limit is answered 413
before a byte of the body is read; a body without one (chunked) is counted as it streams and
cut off with 413 the moment it passes the limit — the application is told the client left
(Django then drops the request). So an upload of any size costs the process at most the limit.
The same limit is nginx's `client_max_body_size` (deploy/nginx.conf).
"""

from __future__ import annotations

import json


def _answer(status: int, detail: str, code: str) -> tuple[dict, dict]:
    body = json.dumps({"detail": detail, "code": code}).encode()
    start = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class BodyLimit:
    def __init__(self, app, *, limit: int | None = None) -> None:
        self.app = app
        self._limit = limit

    @property
    def limit(self) -> int:
        if self._limit is not None:
            return self._limit
        from django.conf import settings

        return settings.MAX_REQUEST_BODY_BYTES

    async def __call__(self, scope, receive, send):
        if scope.get("type") != "http":
            return await self.app(scope, receive, send)
        limit = self.limit
        declared = [v for k, v in scope.get("headers", []) if k.lower() == b"content-length"]
        if declared:
            try:
                length = int(declared[0])
            except ValueError:
                length = -1
            if length < 0:
                return await self._refuse(
                    send, 400, "Content-Length is not a number.", "bad_request"
                )
            if length > limit:
                return await self._refuse(
                    send, 413, f"The request body is larger than {limit} bytes.", "too_large"
                )
        seen = 0
        over = False
        started = False

        async def counted_receive():
            nonlocal seen, over
            if over:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    over = True
                    return {
                        "type": "http.disconnect"
                    }  # the application stops reading and answers nothing
            return message

        async def guarded_send(message):
            nonlocal started
            if over:
                return
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        await self.app(scope, counted_receive, guarded_send)
        if over and not started:
            await self._refuse(
                send, 413, f"The request body is larger than {limit} bytes.", "too_large"
            )

    @staticmethod
    async def _refuse(send, status: int, detail: str, code: str) -> None:
        start, body = _answer(status, detail, code)
        await send(start)
        await send(body)


def install_daphne_limit() -> None:
    """Make Daphne refuse an oversized body while it is still arriving.

    Daphne (Twisted) receives the whole body into a temporary file and then queues all of it for
    the application at once — so an ASGI middleware alone answers 413 only after the process
    has read the upload and held it in memory. This request class counts the body as Twisted
    delivers it: a Content-Length over the limit, or streamed bytes passing it, get a 413 on the
    wire and the connection closed; nothing more is read. Installed by `manage.py serve`.
    """
    from daphne import http_protocol
    from django.conf import settings

    if getattr(http_protocol.WebRequest, "body_limited", False):
        return
    base = http_protocol.WebRequest

    class LimitedWebRequest(base):
        body_limited = True

        def gotLength(self, length):  # noqa: N802 - Twisted's name
            self.body_seen, self.body_refused = 0, False
            if length is not None and length > settings.MAX_REQUEST_BODY_BYTES:
                self._refuse_body()
                return
            super().gotLength(length)

        def handleContentChunk(self, data):  # noqa: N802 - Twisted's name
            if self.body_refused:
                return
            self.body_seen += len(data)
            if self.body_seen > settings.MAX_REQUEST_BODY_BYTES:
                self._refuse_body()
                return
            super().handleContentChunk(data)

        def _refuse_body(self) -> None:
            import io

            self.body_refused = True
            if getattr(self, "content", None) is not None:
                self.content.close()  # what arrived so far is dropped; process() sees a closed request
            self.content = io.BytesIO()
            self.content.close()
            start, body = _answer(
                413,
                f"The request body is larger than {settings.MAX_REQUEST_BODY_BYTES} bytes.",
                "too_large",
            )
            head = (
                b"HTTP/1.1 413 Payload Too Large\r\n"
                + b"".join(name + b": " + value + b"\r\n" for name, value in start["headers"])
                + b"\r\n"
            )
            self.channel.transport.write(head + body["body"])
            self.channel.transport.loseConnection()

    http_protocol.WebRequest = LimitedWebRequest
