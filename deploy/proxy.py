"""The front of the local topology when nginx is not installed: a small asyncio reverse proxy.

    python deploy/proxy.py --listen 8000 --web 127.0.0.1:8001 --ws 127.0.0.1:8002,127.0.0.1:8003

It reads the head of each client connection's first request and routes the whole connection:
`/ws/…` to the ASGI ports (round robin), everything else to the gunicorn port. After that it
only copies bytes both ways, so WebSocket upgrades, keep-alive and bodies pass unchanged.
Routing per connection is enough here because browsers open every WebSocket on a connection
of its own; nginx (docker-compose.yml, deploy/nginx.conf) routes per request. Headers are not
rewritten: the local topology serves plain HTTP (`HTTPS=0`), so there is no scheme to forward.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import signal

HEAD_LIMIT = 64 * 1024
CHUNK = 256 * 1024


def _address(text: str) -> tuple[str, int]:
    host, _, port = text.rpartition(":")
    return host or "127.0.0.1", int(port)


async def _copy(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(CHUNK):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        try:
            if writer.can_write_eof():
                writer.write_eof()
        except OSError:
            pass


class Proxy:
    def __init__(self, web: tuple[str, int], ws: list[tuple[str, int]]) -> None:
        self.web = web
        self.ws = itertools.cycle(ws or [web])

    def route(self, head: bytes) -> tuple[str, int]:
        request_line = head.split(b"\r\n", 1)[0].split(b" ")
        path = request_line[1] if len(request_line) > 1 else b"/"
        return next(self.ws) if path.startswith(b"/ws/") else self.web

    async def handle(
        self, client_reader: asyncio.StreamReader, client_writer: asyncio.StreamWriter
    ) -> None:
        upstream_writer = None
        try:
            try:
                head = await client_reader.readuntil(b"\r\n\r\n")
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                return
            try:
                upstream_reader, upstream_writer = await asyncio.open_connection(*self.route(head))
            except OSError:
                client_writer.write(
                    b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
                )
                await client_writer.drain()
                return
            upstream_writer.write(head)
            await asyncio.gather(
                _copy(client_reader, upstream_writer), _copy(upstream_reader, client_writer)
            )
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            for writer in (client_writer, upstream_writer):
                if writer is not None:
                    writer.close()


async def serve(listen: tuple[str, int], web: tuple[str, int], ws: list[tuple[str, int]]) -> None:
    proxy = Proxy(web, ws)
    server = await asyncio.start_server(proxy.handle, *listen, limit=HEAD_LIMIT, backlog=2048)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with server:
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--listen", required=True, help="[host:]port to listen on")
    parser.add_argument("--web", required=True, help="host:port of the WSGI (gunicorn) server")
    parser.add_argument(
        "--ws", default="", help="comma-separated host:port of the ASGI servers for /ws/"
    )
    args = parser.parse_args()
    listen = _address(args.listen if ":" in args.listen else f"127.0.0.1:{args.listen}")
    ws = [_address(a) for a in args.ws.split(",") if a]
    asyncio.run(serve(listen, _address(args.web), ws))


if __name__ == "__main__":
    main()
