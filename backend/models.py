"""Infrastructure rows: the scheduler's lease, the reference caches' token."""

from __future__ import annotations

from django.db import models


class Lease(models.Model):
    """Who runs a singleton job loop, until when. Taken and renewed with one conditional UPDATE,
    so two processes never both hold it (backend/scheduler.py)."""

    name = models.CharField(max_length=40, primary_key=True)
    holder = models.CharField(max_length=64)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"{self.name} held by {self.holder} until {self.expires_at:%H:%M:%S}"


class ReferenceVersion(models.Model):
    """The token the per-process caches of reference rows are keyed by (backend/reference.py):
    replaced by database triggers on every write to a reference table."""

    name = models.CharField(max_length=40, primary_key=True)
    token = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.name}: {self.token}"
