"""Issue #16, item 5: the embedded server (`manage.py serve`, Daphne) refuses a body over
MAX_REQUEST_BODY_BYTES with 413 while it arrives — by its Content-Length, or by counting a
chunked stream — and the process does not grow by the upload (RSS from /proc)."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from tests.scaled import topo

ROOT = Path(__file__).resolve().parent.parent
MB = 1024 * 1024


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")


@pytest.fixture(scope="module")
def server():
    if not Path("/proc/self/status").exists():
        pytest.skip("needs /proc for the process size")
    data = tempfile.mkdtemp(prefix="gridcase-bodylimit-")
    env = {
        **os.environ,
        "DEBUG": "0",
        "SECRET_KEY": "b" * 50,
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "HTTPS": "0",
        "STATIC_MANIFEST": "0",
        "GRIDCASE_DATA_DIR": data,
        "DATABASE_URL": "",
        "REDIS_URL": "",
        "DJANGO_SETTINGS_MODULE": "backend.settings",
        "LOG_LEVEL": "WARNING",
        "GRIDCASE_DEMO": "0",
    }
    env.pop("MAX_REQUEST_BODY_BYTES", None)  # the default limit, 20 MiB
    port = topo.free_port()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "serve", "--no-scheduler", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        topo.wait_for_port(port, process, "manage.py serve", 30)
        yield process, port
    finally:
        process.terminate()
        process.wait(10)


def _upload(port: int, *, declared: int | None, send_up_to: int) -> bytes:
    """POST /api/cases/ anonymously; send body bytes until the server answers (or send_up_to).
    Returns what the server answered."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = [
        b"POST /api/cases/ HTTP/1.1",
        b"Host: 127.0.0.1",
        b"Content-Type: application/octet-stream",
    ]
    head.append(
        f"Content-Length: {declared}".encode()
        if declared is not None
        else b"Transfer-Encoding: chunked"
    )
    sock.sendall(b"\r\n".join(head) + b"\r\n\r\n")
    chunk = b"x" * MB
    answer = b""
    sent = 0
    try:
        while sent < send_up_to:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            sock.sendall(
                chunk if declared is not None else b"%x\r\n" % len(chunk) + chunk + b"\r\n"
            )
            sent += len(chunk)
    except (BrokenPipeError, ConnectionResetError):
        pass
    deadline = time.monotonic() + 20
    try:
        while time.monotonic() < deadline:
            part = sock.recv(65536)
            if not part:
                break
            answer += part
            if b"\r\n\r\n" in answer and answer.endswith(b"}"):
                break
    except (ConnectionResetError, TimeoutError):
        pass
    sock.close()
    return answer


@pytest.mark.parametrize("how", ["declared", "streamed"])
def test_an_upload_over_the_limit_is_a_413_and_the_server_does_not_grow(server, how):
    process, port = server
    before = _rss(process.pid)
    if how == "declared":
        answer = _upload(port, declared=300 * MB, send_up_to=300 * MB)
    else:
        answer = _upload(port, declared=None, send_up_to=150 * MB)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert b'"too_large"' in answer
    grown = _rss(process.pid) - before
    assert grown < 50 * MB, f"the server grew by {grown / MB:.0f} MB"
    assert process.poll() is None


def test_a_body_under_the_limit_still_reaches_the_application(server):
    _process, port = server
    body = b'{"category": 1}'
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        b"POST /api/cases/ HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
        b"Content-Length: %d\r\nConnection: close\r\n\r\n" % len(body) + body
    )
    answer = b""
    while part := sock.recv(65536):
        answer += part
    sock.close()
    assert answer.startswith(b"HTTP/1.1 403"), answer[:200]  # anonymous: Django answered
