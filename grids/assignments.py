"""Changing which grids an officer patrols (docs/domain.md §1 一格一员, §8 assignment history).

Assignments are never deleted: a change closes the rows that end (`until` = the first day they no
longer hold) and opens new ones, so coverage of a past day is judged by who was assigned that day.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from grids.models import GridAssignment
from people.models import User


def set_officer_grids(
    *, officer: User, grid_ids: Iterable[int], on: dt.date | None = None
) -> tuple[int, int]:
    """From `on` (today by default) `officer` patrols exactly `grid_ids`: open assignments of other
    grids are closed on `on`, grids without an open assignment get one from `on`. An assignment
    that would have started on or after `on` and is no longer wanted ends the day it starts.
    Returns (closed, opened). Side effects: updates and inserts GridAssignment rows, one transaction."""
    on = on or timezone.localdate()
    wanted = set(grid_ids)
    with transaction.atomic():
        open_rows = list(
            GridAssignment.objects.select_for_update().filter(officer=officer, until__isnull=True)
        )
        closed = 0
        for row in open_rows:
            if row.grid_id not in wanted:
                row.until = max(on, row.since)
                row.save(update_fields=["until"])
                closed += 1
        have = {row.grid_id for row in open_rows}
        fresh = [
            GridAssignment(grid_id=g, officer=officer, since=on) for g in sorted(wanted - have)
        ]
        GridAssignment.objects.bulk_create(fresh)
    return closed, len(fresh)
