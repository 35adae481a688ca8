"""The lockout backend (django-axes, docs/security.md) for every sign-in that comes with a request.

`authenticate()` without a request (a script, the test client's `login()`) has no client address
and no form to lock: django-axes would refuse it outright; here it is simply not counted."""

from __future__ import annotations

from axes.backends import AxesStandaloneBackend


class LockoutBackend(AxesStandaloneBackend):
    def authenticate(self, request, username=None, password=None, **kwargs):
        if request is None:
            return None
        return super().authenticate(request, username=username, password=password, **kwargs)
