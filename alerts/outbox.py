"""Who is told what (docs/domain.md §9), written as stored notifications in the caller's transaction.

`notify_event(event)` is called by the workflow for every case event, inside its transaction.
Recipients, exactly as docs/domain.md §9 lists them:
- report: new report in my grid / area → the grid's officers (not the reporter) and the acceptors
  whose area holds the grid (outside-grid reports: the city's acceptors);
- send_verify → the grid's officers (verify task); feedback → the grid's officers (check task);
- dispatch → the members of the unit it was dispatched to;
- request_return / request_extension / request_suspension → the dispatchers of the area;
- check failed → the unit's members (rework);
- approve_* / deny_* of a request → the members of the unit that asked (request answered);
- assign (二级派遣 inside a unit) → the member it was assigned to;
- supervise → the unit's members (or, before dispatch, the area's dispatchers).
Deadline warnings and overdue (scheduler) go to the unit's members and the area's dispatchers.
A new illegal construction (docs/domain.md §12, campaigns/ledger.py) → the members of the street's office
and the centre's shift leaders and viewers whose area holds the grid (`new_construction_recipients`).
After commit the relay is woken to push; the live-map change is queued for it too.
Each alert about a case carries `link`, where its reader opens the case: the unit desk for handling
unit members (their phones open /m/task?id= themselves), the task page for officers.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from alerts.models import AlertCounter, Kind, Notification
from alerts.realtime import case_summary, live_groups
from backend import counters
from people.models import Role, User


def area_members(case, role: str):
    """People of `role` whose organisation's area holds the case's grid (or the whole city). Not the
    people of a closed organisation (nor the `system` account's: cases/dispatch_rules.py)."""
    scope = Q(organisation__area__isnull=True)
    if case.grid_id:
        code = case.grid.code
        scope |= Q(organisation__area__code__in=[code[:6], code[:9], code[:12]])
    return User.objects.filter(
        scope, role=role, is_active=True, organisation__isnull=False, organisation__active=True
    )


def grid_officers(case):
    if not case.grid_id:
        return User.objects.none()
    from grids.models import GridAssignment

    assigned = GridAssignment.objects.in_force().filter(grid_id=case.grid_id).values("officer_id")
    return User.objects.filter(pk__in=assigned, role=Role.OFFICER, is_active=True)


def unit_members(case):
    if not case.unit_id:
        return User.objects.none()
    return User.objects.filter(organisation_id=case.unit_id, role=Role.UNIT_MEMBER, is_active=True)


ANSWERS = (
    "approve_return",
    "deny_return",
    "approve_extension",
    "deny_extension",
    "approve_suspension",
    "deny_suspension",
)


def new_construction_recipients(case) -> list[User]:
    """A new 违建台账 entry: every active member of the street office of the case's street, and the
    centre's shift leaders and viewers (领导) whose area holds the grid or is the city."""
    from people.models import Organisation

    centre = area_members(case, Role.SHIFT_LEADER) | area_members(case, Role.VIEWER)
    users = list(centre.filter(organisation__kind=Organisation.Kind.CENTRE))
    if case.grid_id:
        users += list(
            User.objects.filter(
                organisation__kind=Organisation.Kind.STREET_OFFICE,
                organisation__area__code=case.grid.code[:9],
                is_active=True,
            )
        )
    return list({u.pk: u for u in users}.values())


def recipients(event) -> tuple[str, list[User]] | None:
    """(kind, users) for a case event, or None when nobody is to be told."""
    case, action = event.case, event.action
    if action == "report":  # the grid's officers but the reporter, and the area's acceptors
        users = grid_officers(case).exclude(pk=event.actor_id) | area_members(case, Role.ACCEPTOR)
        return Kind.NEW_REPORT, list(users)
    if action == "send_verify":
        return Kind.VERIFY_TASK, list(grid_officers(case))
    if action == "feedback":
        return Kind.CHECK_TASK, list(grid_officers(case))
    if action == "dispatch":
        return Kind.DISPATCHED, list(unit_members(case))
    if action in ("request_return", "request_extension", "request_suspension"):
        return Kind.APPROVAL_REQUEST, list(area_members(case, Role.DISPATCHER))
    if action == "check" and event.data.get("rework"):
        return Kind.REWORK, list(unit_members(case))
    if action in ANSWERS and event.unit_id:
        users = User.objects.filter(
            organisation_id=event.unit_id, role=Role.UNIT_MEMBER, is_active=True
        )
        return Kind.REQUEST_ANSWERED, list(users)
    if action == "assign" and case.assignee_id:
        return Kind.ASSIGNED, [case.assignee]
    if action == "supervise":
        users = unit_members(case) if case.unit_id else area_members(case, Role.DISPATCHER)
        return Kind.SUPERVISED, list(users)
    return None


def notify_event(event, *, told: tuple[str, list[User]] | None = None) -> list[Notification]:
    """Store the alerts for `event` and queue its live-map change; call inside its transaction.
    `told`: `recipients(event)` when the caller read it before taking a lock."""
    case = event.case
    transaction.on_commit(lambda: _queue_live(case, event.action))
    found = told if told is not None else recipients(event)
    if not found:
        return []
    kind, users = found
    extra = {"action": event.action} if kind in (Kind.REQUEST_ANSWERED, Kind.ASSIGNED) else None
    return notify(users, kind, case=case, event=event, at=event.at, extra=extra)


def link_for(user: User, case) -> str | None:
    """Where `user` opens `case` from an alert: the unit desk, or the officer's task page."""
    if case is None:
        return None
    if user.role == Role.UNIT_MEMBER:
        return f"/desk/?case={case.pk}"
    if user.role == Role.OFFICER:
        return f"/m/task?id={case.pk}"
    return None


def notify(
    users,
    kind: str,
    *,
    case=None,
    event=None,
    at: dt.datetime | None = None,
    extra: dict | None = None,
) -> list[Notification]:
    """One numbered notification per distinct user, in the current transaction; wakes the relay
    after commit."""
    at = at or timezone.now()
    summary = case_summary(case) if case is not None else None
    made = []
    with transaction.atomic(savepoint=False):  # all or nothing with the caller's transaction
        for user in {u.pk: u for u in users}.values():
            payload = {
                "seq": 0,
                "type": kind,
                "at": at.isoformat(),
                "case": summary,
                **(extra or {}),
            }
            if (link := link_for(user, case)) is not None:
                payload["link"] = link
            seq = counters.next_value(AlertCounter, "user", user.pk)
            payload["seq"] = seq
            made.append(
                Notification(
                    user=user,
                    seq=seq,
                    kind=kind,
                    case=case,
                    event=event,
                    payload=payload,
                    created_at=at,
                )
            )
        Notification.objects.bulk_create(made)
    if made:
        from alerts import relay

        transaction.on_commit(relay.wake)
    return made


def _queue_live(case, action: str) -> None:
    from alerts import relay

    # `case` is the object the transaction saved (report_case's, or transition's locked copy):
    # at commit it holds what was written.
    relay.queue_live(
        {"type": "case.changed", "action": action, "case": case_summary(case)},
        live_groups(case, reported=action == "report"),
    )
