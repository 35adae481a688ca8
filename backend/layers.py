"""The embedded default's channel layer.

Channels' InMemoryChannelLayer sweeps every channel and group for expired messages on every
receive and group_send, so one message to N sockets costs O(N²) (docs/performance.md: 1,000 members
243 ms, 10,000 members 50 s). The sweep only drops stale messages and memberships; doing it at
most once a second keeps the same behaviour and makes a broadcast O(N) (bench/fanout).
"""

from __future__ import annotations

import time

from channels.layers import InMemoryChannelLayer

SWEEP_INTERVAL = 1.0


class SweepingInMemoryChannelLayer(InMemoryChannelLayer):
    _last_sweep = 0.0

    def _clean_expired(self):
        now = time.monotonic()
        if now - self._last_sweep >= SWEEP_INTERVAL:
            self._last_sweep = now
            super()._clean_expired()
