"""The per-process caches of reference rows (backend/reference.py): triggers on every reference
table replace one token on any write — bulk, queryset and raw SQL included — and a create reads
that token once."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from backend import reference
from cases.models import Case, SmallClass, StepLimit
from cases.serializers import available_classes
from grids.models import Grid
from tests.cast import IN_A, make_cast
from worktime.clock import current_calendar
from worktime.models import WorkingDay

pytestmark = pytest.mark.django_db


def create(client, category_id: int):
    return client.post(
        "/api/cases/",
        {"category": category_id, "lon": IN_A[0], "lat": IN_A[1], "description": "堆物"},
        content_type="application/json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )


def test_every_reference_table_has_its_triggers():
    assert reference.installed_triggers() >= reference.expected_triggers(connection.vendor)
    assert reference.token() is not None


def test_a_migrate_puts_back_a_trigger_a_table_rebuild_dropped():
    name = sorted(reference.expected_triggers(connection.vendor))[0]
    table = name.removeprefix("reference_").rsplit("_", 1)[0]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(f'DROP TRIGGER "{name}" ON "{name.removeprefix("reference_")}"')
        else:
            assert table in reference.tables()
            cursor.execute(f'DROP TRIGGER "{name}"')
    assert name not in reference.installed_triggers()
    call_command("migrate", verbosity=0)
    assert name in reference.installed_triggers()


def test_a_queryset_update_without_signals_is_seen_by_the_next_create():
    cast = make_cast()
    client = cast.client(cast.officer)
    assert create(client, cast.category.pk).status_code == 201  # the cache now holds the class
    SmallClass.objects.filter(pk=cast.category.pk).update(active=False)  # no save(), no signal
    refused = create(client, cast.category.pk)
    assert refused.status_code == 400 and "category" in refused.json()
    SmallClass.objects.filter(pk=cast.category.pk).update(active=True)
    assert create(client, cast.category.pk).status_code == 201


def test_a_raw_sql_change_of_a_step_limit_moves_the_next_deadline():
    cast = make_cast()
    client = cast.client(cast.officer)
    StepLimit.objects.update_or_create(
        step="accept", defaults={"time_limit": 10, "time_limit_unit": "minutes"}
    )
    first = Case.objects.get(pk=create(client, cast.category.pk).json()["id"])
    assert first.step_deadline - first.step_started_at == dt.timedelta(minutes=10)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {StepLimit._meta.db_table} SET time_limit = 25 WHERE step = 'accept'"
        )
    second = Case.objects.get(pk=create(client, cast.category.pk).json()["id"])
    assert second.step_deadline - second.step_started_at == dt.timedelta(minutes=25)


def test_a_rolled_back_change_is_not_left_in_the_cache():
    cast = make_cast()
    name = available_classes()[cast.category.pk].name
    with pytest.raises(RuntimeError), transaction.atomic():
        SmallClass.objects.filter(pk=cast.category.pk).update(name="改了又撤回")
        assert available_classes()[cast.category.pk].name == "改了又撤回"
        raise RuntimeError("roll back")
    assert available_classes()[cast.category.pk].name == name


def test_a_bulk_update_of_working_days_is_seen_by_the_calendar():
    day = dt.date(2026, 12, 7)  # a Monday
    WorkingDay.objects.update_or_create(date=day, defaults={"is_workday": True, "source": "manual"})
    assert current_calendar().is_workday(day) is True
    WorkingDay.objects.filter(date=day).update(is_workday=False)  # updated_at not touched
    assert current_calendar().is_workday(day) is False


def test_a_grid_renamed_in_bulk_is_named_so_in_the_next_answer():
    cast = make_cast()
    client = cast.client(cast.officer)
    create(client, cast.category.pk)
    grid = Grid.objects.get(code=create(client, cast.category.pk).json()["grid"]["code"])
    Grid.objects.filter(pk=grid.pk).update(name="新名字网格")
    assert create(client, cast.category.pk).json()["grid"]["name"] == "新名字网格"


def test_a_create_reads_the_token_once_and_no_reference_row():
    cast = make_cast()
    client = cast.client(cast.officer)
    create(client, cast.category.pk)  # fills the caches
    with CaptureQueriesContext(connection) as queries:
        assert create(client, cast.category.pk).status_code == 201
    sql = [q["sql"] for q in queries.captured_queries]
    assert sum(reference.TABLE in s for s in sql) == 1
    for table in reference.tables():
        assert not any(f'FROM "{table}"' in s for s in sql), table


def test_an_accept_reads_no_reference_row_and_no_outline():
    """The live-map change and the answer take the grid, the class and its duplicate radius from
    the caches; the case's own read leaves the grid's and the community's outlines out."""
    cast = make_cast()
    made = create(cast.client(cast.officer), cast.category.pk).json()
    acceptor = cast.client(cast.acceptor)
    acceptor.get("/api/cases/")  # the acceptor's session and the caches are warm
    with CaptureQueriesContext(connection) as queries:
        answer = acceptor.post(
            f"/api/cases/{made['id']}/transition",
            {"action": "accept", "version": made["version"]},
            content_type="application/json",
        )
    assert answer.status_code == 200, answer.content
    sql = [q["sql"] for q in queries.captured_queries]
    for table in ("cases_smallclass", "cases_casestandard", "worktime_workingday"):
        assert not any(f'FROM "{table}"' in s for s in sql), table
    assert not any('"grids_grid"."geometry"' in s for s in sql), "\n".join(sql)
    assert not any('"grids_area"."derived_geometry"' in s for s in sql)
    assert answer.json()["grid"]["code"] == made["grid"]["code"]
