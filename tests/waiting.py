"""The one place tests pause: wait for a condition, with a deadline.

A test never sleeps a fixed time and hopes: it names what it waits for (`condition`), how long
that may take at most (`timeout`, generous: the machine is shared and slow) and what failed when
it does not come (`message`). A wait returns as soon as the condition holds, so a fast machine
is not slowed down and a slow one gets its full budget. Waiting for a port is
`deploy.topology.wait_for_port` (the topology's own, also used by tests/scaled.py).
"""

from __future__ import annotations

import asyncio
import inspect
import time
from collections.abc import Callable
from typing import Any


class WaitTimeout(AssertionError):
    """The condition did not hold within the timeout (an assertion: the test fails, naming it)."""


def wait_until(
    condition: Callable[[], Any], timeout: float, message: str, *, interval: float = 0.05
) -> Any:
    """Call `condition()` until it returns something truthy, and return that; WaitTimeout naming
    `message` once `timeout` seconds have passed. `interval`: the pause between two calls."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{message} (not within {timeout:g} s)")
        time.sleep(min(interval, max(0.0, deadline - time.monotonic())))


async def wait_until_async(
    condition: Callable[[], Any], timeout: float, message: str, *, interval: float = 0.05
) -> Any:
    """`wait_until` for a test's event loop: `condition` may be a coroutine function; the pauses
    let the loop run (a WebSocket keeps reading meanwhile)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"{message} (not within {timeout:g} s)")
        await asyncio.sleep(min(interval, max(0.0, deadline - time.monotonic())))
