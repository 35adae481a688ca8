"""THE workflow of a case (docs/domain.md §4): one table, one transition function.

`TABLE` maps (status, action) to a `Rule`: where the case goes, who may do it, what the action
needs. `transition()` is the only code that changes a case's status; `report_case()` is the only
code that creates one. Both write exactly one append-only `CaseEvent` per action, in the same
transaction as the change. `allowed_actions()` is derived from the same table and drives the UI
buttons and the API's `allowed_actions`.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from alerts.outbox import notify_event, recipients
from backend import counters
from cases import deadlines
from cases.dispatch_rules import dispatch_automatically
from cases.models import (
    OPEN_STATUSES,
    STEP_OF_STATUS,
    Case,
    CaseEvent,
    DailySerial,
    PendingRequest,
    Photo,
    SmallClass,
    Source,
    Status,
    Step,
    StepLimit,
    validate_attributes,
)
from people.models import Organisation, Role, User

S = Status
OFFICER, ACCEPTOR, SHIFT_LEADER = Role.OFFICER, Role.ACCEPTOR, Role.SHIFT_LEADER
DISPATCHER, UNIT, VIEWER = Role.DISPATCHER, Role.UNIT_MEMBER, Role.VIEWER
PRE_REGISTRATION = (S.REPORTED, S.VERIFYING, S.PENDING_REGISTRATION)


@dataclass(frozen=True)
class Rule:
    """`to`: the next status (None: stays), or the next status per outcome."""

    to: str | dict[str, str] | None
    roles: frozenset[str]
    needs: tuple[
        str, ...
    ] = ()  # inputs: reason, unit, outcome, photos, duplicate_of, amount, location, assignee
    answers: str = ""  # the pending request this action approves or denies
    opens: str = ""  # the pending request this action files


def _r(to, roles, *needs, answers="", opens="") -> Rule:
    return Rule(to, frozenset(roles), tuple(needs), answers, opens)


TABLE: dict[tuple[str, str], Rule] = {
    (S.REPORTED, "send_verify"): _r(S.VERIFYING, {ACCEPTOR}),
    (S.VERIFYING, "verify"): _r(
        {"confirmed": S.REPORTED, "not_confirmed": S.REJECTED}, {OFFICER}, "outcome"
    ),
    (S.REPORTED, "accept"): _r(S.PENDING_REGISTRATION, {ACCEPTOR}),
    (S.REPORTED, "reject"): _r(S.REJECTED, {ACCEPTOR}, "reason"),
    (S.REPORTED, "self_handle"): _r(S.CLOSING, {OFFICER}, "photos"),
    (S.PENDING_REGISTRATION, "register"): _r(S.DISPATCHING, {SHIFT_LEADER}),
    (S.PENDING_REGISTRATION, "decline"): _r(S.REJECTED, {SHIFT_LEADER}, "reason"),
    (S.DISPATCHING, "dispatch"): _r(S.HANDLING, {DISPATCHER}, "unit"),
    (S.HANDLING, "request_return"): _r(None, {UNIT}, "reason", opens=PendingRequest.RETURN),
    (S.HANDLING, "approve_return"): _r(S.DISPATCHING, {DISPATCHER}, answers=PendingRequest.RETURN),
    (S.HANDLING, "deny_return"): _r(None, {DISPATCHER}, "reason", answers=PendingRequest.RETURN),
    (S.HANDLING, "request_extension"): _r(
        None, {UNIT}, "reason", "amount", opens=PendingRequest.EXTENSION
    ),
    (S.HANDLING, "approve_extension"): _r(None, {DISPATCHER}, answers=PendingRequest.EXTENSION),
    (S.HANDLING, "deny_extension"): _r(
        None, {DISPATCHER}, "reason", answers=PendingRequest.EXTENSION
    ),
    (S.HANDLING, "request_suspension"): _r(None, {UNIT}, "reason", opens=PendingRequest.SUSPENSION),
    (S.HANDLING, "approve_suspension"): _r(
        S.SUSPENDED, {DISPATCHER}, answers=PendingRequest.SUSPENSION
    ),
    (S.HANDLING, "deny_suspension"): _r(
        None, {DISPATCHER}, "reason", answers=PendingRequest.SUSPENSION
    ),
    (S.SUSPENDED, "resume"): _r(S.HANDLING, {DISPATCHER}),
    (S.HANDLING, "feedback"): _r(S.CHECKING, {UNIT}, "photos"),
    # 二级派遣 inside a unit (docs/units.md): its leader names a member; the unit stays the holder.
    (S.HANDLING, "assign"): _r(None, {UNIT}, "assignee"),
    (S.CHECKING, "check"): _r(
        {"pass": S.CLOSING, "fail": S.HANDLING}, {OFFICER}, "outcome", "photos"
    ),
    (S.CLOSING, "close"): _r(S.CLOSED, {SHIFT_LEADER}),
    **{
        (s, "merge"): _r(S.MERGED, {ACCEPTOR, SHIFT_LEADER}, "duplicate_of")
        for s in PRE_REGISTRATION
    },
    **{(s, "relocate"): _r(None, {ACCEPTOR}, "location") for s in PRE_REGISTRATION},
    **{(s, "void"): _r(S.VOIDED, {SHIFT_LEADER}, "reason") for s in OPEN_STATUSES},
    **{(s, "supervise"): _r(None, {SHIFT_LEADER, VIEWER}) for s in OPEN_STATUSES},
}
ACTIONS = sorted({action for _status, action in TABLE} | {"report"})
OUTCOMES = {"verify": ("confirmed", "not_confirmed"), "check": ("pass", "fail")}
REPORT_ROLES = frozenset({OFFICER, ACCEPTOR, Role.PUBLIC})


# The words for the table's actions and outcomes (the timeline, the buttons, the phone's forms).
# One place: the pages read them through describe() and never keep their own copy.
ACTION_LABELS = {
    "report": pgettext_lazy("case action", "Report"),
    "send_verify": pgettext_lazy("case action", "Send for verification"),
    "verify": pgettext_lazy("case action", "Verify on site"),
    "accept": pgettext_lazy("case action", "Accept"),
    "reject": pgettext_lazy("case action", "Reject"),
    "self_handle": pgettext_lazy("case action", "Self-handle"),
    "register": pgettext_lazy("case action", "Register"),
    "decline": pgettext_lazy("case action", "Decline to register"),
    "dispatch": pgettext_lazy("case action", "Dispatch"),
    "request_return": pgettext_lazy("case action", "Ask to return"),
    "approve_return": pgettext_lazy("case action", "Approve the return"),
    "deny_return": pgettext_lazy("case action", "Deny the return"),
    "request_extension": pgettext_lazy("case action", "Ask for an extension"),
    "approve_extension": pgettext_lazy("case action", "Approve the extension"),
    "deny_extension": pgettext_lazy("case action", "Deny the extension"),
    "request_suspension": pgettext_lazy("case action", "Ask for suspension"),
    "approve_suspension": pgettext_lazy("case action", "Approve the suspension"),
    "deny_suspension": pgettext_lazy("case action", "Deny the suspension"),
    "resume": pgettext_lazy("case action", "Resume handling"),
    "feedback": pgettext_lazy("case action", "Disposal feedback"),
    "assign": pgettext_lazy("case action", "Assign"),
    "check": pgettext_lazy("case action", "Check on site"),
    "close": pgettext_lazy("case action", "Close"),
    "merge": pgettext_lazy("case action", "Merge"),
    "relocate": pgettext_lazy("case action", "Correct the location"),
    "void": pgettext_lazy("case action", "Void"),
    "supervise": pgettext_lazy("case action", "Supervise"),
}
OUTCOME_LABELS = {
    "confirmed": pgettext_lazy("outcome", "Confirmed"),
    "not_confirmed": pgettext_lazy("outcome", "Not confirmed"),
    "pass": pgettext_lazy("outcome", "Passed"),
    "fail": pgettext_lazy("outcome", "Failed (rework)"),
}
# The request field each `Rule.needs` entry is sent as (the transition API's names).
INPUT_FIELDS = {"amount": "amount_minutes"}


def describe() -> dict:
    """The table as data, for the pages and `GET /api/workflow` (docs/api.md): per action its
    label, the statuses it starts from, the roles that take it, its inputs (each "required" or
    "optional"), whether a reason is required, and its outcomes with where each leads and whether
    it needs a photo. Labels are in the active language. Derived from TABLE: nothing restated."""
    actions: dict[str, dict] = {}
    for (status, action), rule in TABLE.items():
        entry = actions.setdefault(
            action,
            {
                "key": action,
                "label": str(ACTION_LABELS[action]),
                "from": [],
                "roles": sorted(rule.roles),
                "inputs": _inputs_of(action, rule),
                "reason_required": "reason" in rule.needs,
                "photos_required": "photos" in rule.needs and action not in OUTCOMES,
                "outcomes": [],
                "to": None,
                "answers": rule.answers or None,
                "opens": rule.opens or None,
            },
        )
        entry["from"].append(status)
        if isinstance(rule.to, dict):
            entry["outcomes"] = [
                {
                    "key": o,
                    "label": str(OUTCOME_LABELS[o]),
                    "to": rule.to[o],
                    "photos_required": "photos" in rule.needs
                    and not (action == "check" and o == "fail"),
                }
                for o in OUTCOMES[action]
            ]
        else:
            entry["to"] = rule.to
    actions["report"] = {  # not a row of the table: report_case() makes the case
        "key": "report",
        "label": str(ACTION_LABELS["report"]),
        "from": [],
        "roles": sorted(REPORT_ROLES),
        "inputs": {
            "category": "required",
            "description": "optional",
            "photos": "optional",
            "self_handle": "optional",
        },
        "reason_required": False,
        "photos_required": False,
        "outcomes": [],
        "to": S.REPORTED,
        "answers": None,
        "opens": None,
    }
    return {
        "statuses": [
            {"key": s.value, "label": str(s.label), "open": s.value in OPEN_STATUSES} for s in S
        ],
        "actions": actions,
    }


def _inputs_of(action: str, rule: Rule) -> dict[str, str]:
    """Every action records an optional reason (the note on the event) and optional photos; the
    rule's needs make some required. Feedback on an illegal-construction (ledger) case also needs
    `disposition` (and `demolished_m2` for a demolition): the case detail says when (`ledger_entry`)."""
    inputs = {"reason": "optional", "photos": "optional"}
    for need in rule.needs:
        inputs[INPUT_FIELDS.get(need, need)] = "required"
    if action == "check":
        inputs["photos"] = "required unless outcome is fail"
    if action == "feedback":
        inputs.update(
            disposition="required on a ledger case", demolished_m2="required for demolish"
        )
    return inputs


class TransitionNotAllowed(Exception):
    """The action is not possible in the case's current state (→ HTTP 409)."""

    def __init__(self, message: str, case: Case) -> None:
        super().__init__(message)
        self.case = case


class VersionConflict(Exception):
    """The case changed since the caller read it (→ HTTP 409, or 412 for If-Match)."""

    def __init__(self, case: Case, seen: int) -> None:
        super().__init__(
            _("The case has changed (version %(now)d, you saw %(seen)d): reload it and try again.")
            % {"now": case.version, "seen": seen}
        )
        self.case = case


@dataclass
class Inputs:
    """What an action may carry; `Rule.needs` says which are required."""

    reason: str = ""
    outcome: str = ""
    unit: Organisation | None = None
    duplicate_of: Case | None = None
    duplicate_ref: str = ""  # what the caller named, when it matched no visible case
    amount_minutes: int | None = None
    location: tuple[float | None, float | None, str] | None = None  # lon, lat, address
    photos: Sequence[dict] = field(default_factory=tuple)  # stored photo records (cases.photos)
    assignee: User | None = None  # assign: a member of the case's unit
    # feedback on an illegal-construction (ledger) case: demolish/rectify/legalise/confiscate (campaigns)
    disposition: str = ""
    demolished_m2: Decimal | None = None


# --- who may act -----------------------------------------------------------------------------


def _acts_on_case(case: Case, actor: User, action: str) -> bool:
    """Organisation and grid checks beyond the role: whose case is this to act on?"""
    from cases.access import can_view_case, is_officer_of_grid

    if actor.role == OFFICER:
        if action == "self_handle":
            return case.reporter_id == actor.pk and is_officer_of_grid(actor, case.grid_id)
        return is_officer_of_grid(actor, case.grid_id)
    if actor.role == UNIT:
        if action == "assign" and not may_assign(actor):
            return False
        return case.unit_id is not None and case.unit_id == actor.organisation_id
    return can_view_case(actor, case)


def may_assign(actor: User) -> bool:
    """二级派遣: a leader of a handling unit that uses it (Organisation.secondary_dispatch)."""
    org = actor.organisation if actor.organisation_id else None
    return bool(
        actor.role == UNIT and actor.unit_leader and org is not None and org.secondary_dispatch
    )


def allowed_actions(case: Case, actor: User, *, seen: bool = False) -> list[str]:
    """The actions `actor` may take on `case` now, in table order (drives buttons and the API).
    `seen`: the caller read `case` through `visible_cases(actor)`, so the visibility check that
    decides for the centre's roles is already made: a list of rows asks no query per row."""
    result = []
    acts: dict[str, bool] = {}  # _acts_on_case differs by action only for these: ask once each
    for (status, action), rule in TABLE.items():
        if status != case.status or actor.role not in rule.roles:
            continue
        if rule.answers and case.pending_request != rule.answers:
            continue
        if rule.opens and case.pending_request:
            continue
        own = action if action in ("self_handle", "assign") else ""
        if own not in acts:
            centre_seen = seen and actor.role not in (OFFICER, UNIT)
            acts[own] = centre_seen or _acts_on_case(case, actor, action)
        if acts[own]:
            result.append(action)
    return result


# --- the transition --------------------------------------------------------------------------


def transition(
    case: Case,
    action: str,
    *,
    actor: User,
    version: int | None,
    inputs: Inputs | None = None,
    now: dt.datetime | None = None,
) -> CaseEvent:
    """Apply `action` to `case` as `actor`; return the event it wrote.

    Steps, always the same: lock the case row; refuse a stale `version` (VersionConflict); find the
    table row (TransitionNotAllowed); check role (PermissionDenied) and the actor's organisation or
    grid (PermissionDenied); check the inputs the row needs (ValidationError); apply the action's
    side effects, set the status, bump the version; write one CaseEvent with the photos attached.
    Nothing is written when any check fails.
    """
    inputs = inputs or Inputs()
    now = now or timezone.now()
    with transaction.atomic():
        case = Case.objects.select_for_update().get(pk=case.pk)
        rule = _checked(case, action, actor=actor, version=version, inputs=inputs)
        from_status, unit_before = case.status, case.unit
        to_status = _target(case, rule, inputs)
        data = EFFECTS.get(action, _no_effect)(case, inputs, now)
        if to_status != from_status:
            data.update(_leave_step(case, from_status, now))
            _enter_step(case, to_status, now)
        case.status = to_status
        case.version += 1
        case.save()
        event = CaseEvent.objects.create(
            case=case,
            seq=case.version,
            action=action,
            from_status=from_status,
            to_status=to_status,
            actor=actor,
            actor_role=actor.role,
            unit=case.unit or unit_before,
            at=now,
            reason=inputs.reason,
            data=data,
        )
        _attach_photos(case, event, inputs.photos, actor, stage=action)
        notify_event(event)
        if (
            action == "register"
        ):  # small classes the city dispatches automatically (cases/dispatch_rules.py)
            dispatch_automatically(case, now=now)
        if action in (
            "feedback",
            "check",
            "relocate",
        ):  # the ledger (docs/domain.md §12): dispositions, place
            from campaigns import ledger

            ledger.after_event(case, event, now=now)
    return event


def _checked(case: Case, action: str, *, actor: User, version: int | None, inputs: Inputs) -> Rule:
    """Every check of `transition()`, in its order; the rule that applies, or the first refusal."""
    if version is not None and version != case.version:
        raise VersionConflict(case, version)
    rule = TABLE.get((case.status, action))
    if rule is None:
        raise TransitionNotAllowed(_not_possible(case, action), case)
    if actor.role not in rule.roles:
        raise PermissionDenied(
            _("Your role (%(role)s) may not %(action)s a case.")
            % {"role": actor.get_role_display() or "—", "action": action}
        )
    if not _acts_on_case(case, actor, action):
        raise PermissionDenied(_("This case is not yours to %(action)s.") % {"action": action})
    _check_pending(case, rule, action)
    _check_inputs(case, rule, action, inputs)
    return rule


def check_transition(
    case: Case, action: str, *, actor: User, version: int | None, inputs: Inputs
) -> None:
    """Run the checks of `transition()` without writing anything (no lock either): the API calls it
    before it writes a request's photo files, so a refused action leaves no file behind.
    `inputs.photos` only needs to say how many photos come. `transition()` checks again under its lock."""
    _checked(case, action, actor=actor, version=version, inputs=inputs)


def _not_possible(case: Case, action: str) -> str:
    if action not in ACTIONS:
        return _("There is no action %(action)r.") % {"action": action}
    return _("A case that is “%(status)s” cannot %(action)s.") % {
        "status": case.get_status_display(),
        "action": action,
    }


def _check_pending(case: Case, rule: Rule, action: str) -> None:
    if rule.answers and case.pending_request != rule.answers:
        raise TransitionNotAllowed(
            _("There is no pending %(kind)s request to answer.") % {"kind": rule.answers}, case
        )
    if rule.opens and case.pending_request:
        raise TransitionNotAllowed(
            _("A %(kind)s request is already waiting for the dispatcher.")
            % {"kind": case.pending_request},
            case,
        )


def _check_inputs(case: Case, rule: Rule, action: str, inputs: Inputs) -> None:
    errors: dict[str, str] = {}
    if "reason" in rule.needs and not inputs.reason.strip():
        errors["reason"] = _("A reason is required to %(action)s.") % {"action": action}
    if "outcome" in rule.needs and inputs.outcome not in OUTCOMES[action]:
        errors["outcome"] = _("outcome must be one of %(choices)s.") % {
            "choices": ", ".join(OUTCOMES[action])
        }
    if "unit" in rule.needs:
        unit = inputs.unit
        if unit is None or unit.kind != Organisation.Kind.HANDLING_UNIT or not unit.active:
            errors["unit"] = _("Choose an active handling unit.")
    if "amount" in rule.needs and not (inputs.amount_minutes and inputs.amount_minutes > 0):
        errors["amount_minutes"] = _(
            "The extension asked for must be a positive number of minutes."
        )
    if "duplicate_of" in rule.needs:
        errors.update(_duplicate_errors(case, inputs.duplicate_of, inputs.duplicate_ref))
    if "assignee" in rule.needs:
        who = inputs.assignee
        if (
            who is None
            or who.organisation_id != case.unit_id
            or who.role != UNIT
            or not who.is_active
        ):
            errors["assignee"] = _("Choose an active member of the unit that holds the case.")
    if "location" in rule.needs and inputs.location is None:
        errors["location"] = _("Give lon and lat, or an address.")
    photo_needed = "photos" in rule.needs and not (action == "check" and inputs.outcome == "fail")
    if photo_needed and not inputs.photos:
        errors["photos"] = _("At least one photo is required to %(action)s.") % {"action": action}
    if action == "feedback":  # a ledger case's feedback names its disposition (docs/domain.md §12)
        from campaigns import ledger

        errors.update(
            ledger.disposition_errors(
                case, disposition=inputs.disposition, demolished_m2=inputs.demolished_m2
            )
        )
    if errors:
        raise ValidationError(errors)


def _duplicate_errors(case: Case, other: Case | None, ref: str) -> dict[str, str]:
    if other is None and ref:
        return {"duplicate_of": _("No visible case %(ref)s.") % {"ref": ref}}
    if other is None:
        return {"duplicate_of": _("Name the case this one duplicates.")}
    if other.pk == case.pk:
        return {"duplicate_of": _("A case cannot duplicate itself.")}
    if not other.is_open:
        return {"duplicate_of": _("Case %(number)s is no longer open.") % {"number": other.number}}
    return {}


def _target(case: Case, rule: Rule, inputs: Inputs) -> str:
    if rule.to is None:
        return case.status
    if isinstance(rule.to, dict):
        return rule.to[inputs.outcome]
    return rule.to


# --- step clocks (docs/domain.md §5): each waiting status has a step limit; on-time is recorded -----


def _enter_step(case: Case, status: str, now: dt.datetime) -> None:
    """Start the clock of the step `status` waits for (the disposal clock is the case deadline)."""
    step = STEP_OF_STATUS.get(status)
    if step is None or step == Step.DISPOSE:
        return
    limit, unit = StepLimit.limit_for(step)
    case.step_started_at = now
    case.step_deadline = deadlines.add_limit(now, limit=limit, unit=unit).at


def _leave_step(case: Case, status: str, now: dt.datetime) -> dict:
    """The step done by leaving `status`, with its on-time flag, as recorded on the event: metrics
    read these flags and never recompute history with today's calendar."""
    step = STEP_OF_STATUS.get(status)
    if step is None or step == Step.DISPOSE or case.step_deadline is None:
        return {}
    deadline, case.step_started_at, case.step_deadline = case.step_deadline, None, None
    return {"step": step, "step_deadline": deadline.isoformat(), "step_on_time": now <= deadline}


# --- side effects per action: each returns the data recorded on the event ------------------


def _no_effect(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
    return {}


def _dispatch(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
    """To one unit. The first dispatch starts the clock; a re-dispatch after a return keeps it."""
    case.unit, case.assignee = inputs.unit, None
    first = case.dispatched_at is None
    data = {"unit": inputs.unit.pk, "unit_name": inputs.unit.name, "first": first}
    if first:
        case.dispatched_at = now
        standard = getattr(case.category, "case_standard", None)
        limit, unit = (
            (standard.time_limit, standard.time_limit_unit) if standard else (1, "work_days")
        )
        computed = deadlines.add_limit(now, limit=limit, unit=unit)
        case.deadline = computed.at
        data.update(limit=limit, limit_unit=unit, calendar_fallback=list(computed.fallback_years))
    data["deadline"] = case.deadline.isoformat() if case.deadline else None
    return data


def _open_request(kind: str) -> Callable[[Case, Inputs, dt.datetime], dict]:
    def effect(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
        case.pending_request = kind
        case.pending_amount_minutes = (
            inputs.amount_minutes if kind == PendingRequest.EXTENSION else None
        )
        return {"request": kind, "amount_minutes": case.pending_amount_minutes}

    return effect


def _answer(approved: bool) -> Callable[[Case, Inputs, dt.datetime], dict]:
    def effect(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
        kind, amount = case.pending_request, case.pending_amount_minutes
        case.pending_request, case.pending_amount_minutes = PendingRequest.NONE, None
        data = {"request": kind, "approved": approved}
        if approved and kind == PendingRequest.EXTENSION and case.deadline:
            case.deadline = _later_by(case, case.deadline, amount or 0)
            data.update(amount_minutes=amount, deadline=case.deadline.isoformat())
        if approved and kind == PendingRequest.SUSPENSION:
            case.suspended_since = now
        if approved and kind == PendingRequest.RETURN:
            data["returned_by"] = case.unit_id
            case.unit = case.assignee = None
        return data

    return effect


def _later_by(case: Case, moment: dt.datetime, minutes: float) -> dt.datetime:
    """`minutes` of the case's time after `moment`: working minutes, or plain ones if urgent."""
    if case.urgent:
        return moment + dt.timedelta(minutes=minutes)
    return deadlines.add_working_minutes(moment, round(minutes)).at


def _resume(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
    """The clock was paused: the deadline moves by the (working) time spent suspended."""
    since = case.suspended_since or now
    paused = (
        (now - since).total_seconds() / 60 if case.urgent else deadlines.working_minutes(since, now)
    )
    case.suspended_seconds += int(paused * 60)
    case.suspended_since = None
    if case.deadline:
        case.deadline = _later_by(case, case.deadline, paused)
    return {
        "suspended_minutes": round(paused, 1),
        "deadline": case.deadline.isoformat() if case.deadline else None,
    }


def _feedback(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
    from campaigns.ledger import disposition_data

    case.disposed_at = now
    return {
        "on_time": case.deadline is None or now <= case.deadline,
        **disposition_data(inputs.disposition, inputs.demolished_m2),
    }


def _check(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
    return {"outcome": inputs.outcome, "rework": inputs.outcome == "fail"}


def _verify(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
    return {"outcome": inputs.outcome}


def _close(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
    case.closed_at = now
    passed_on_time = case.deadline is None or (
        case.disposed_at is not None and case.disposed_at <= case.deadline
    )
    return {"on_time": passed_on_time}


def _merge(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
    case.duplicate_of = inputs.duplicate_of
    return {
        "duplicate_of": inputs.duplicate_of.pk,
        "duplicate_of_number": inputs.duplicate_of.number,
    }


def _supervise(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
    case.supervised = True
    return {}


def _relocate(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
    lon, lat, address = inputs.location
    before = {"lon": case.lon, "lat": case.lat, "grid": case.grid_id, "address": case.address}
    _place(case, lon, lat, address)
    return {
        "before": before,
        "after": {"lon": case.lon, "lat": case.lat, "grid": case.grid_id, "address": case.address},
    }


def _assign(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
    before = case.assignee_id
    case.assignee = inputs.assignee
    return {
        "assignee": inputs.assignee.pk,
        "assignee_name": inputs.assignee.get_full_name() or inputs.assignee.username,
        "before": before,
    }


def _self_handle(case: Case, inputs: Inputs, now: dt.datetime) -> dict:
    case.disposed_at = now
    return {}


EFFECTS: dict[str, Callable[[Case, Inputs, dt.datetime], dict]] = {
    "dispatch": _dispatch,
    "request_return": _open_request(PendingRequest.RETURN),
    "request_extension": _open_request(PendingRequest.EXTENSION),
    "request_suspension": _open_request(PendingRequest.SUSPENSION),
    "approve_return": _answer(True),
    "deny_return": _answer(False),
    "approve_extension": _answer(True),
    "deny_extension": _answer(False),
    "approve_suspension": _answer(True),
    "deny_suspension": _answer(False),
    "resume": _resume,
    "feedback": _feedback,
    "check": _check,
    "verify": _verify,
    "close": _close,
    "merge": _merge,
    "supervise": _supervise,
    "relocate": _relocate,
    "self_handle": _self_handle,
    "assign": _assign,
}


def _attach_photos(
    case: Case, event: CaseEvent, photos: Sequence[dict], actor: User, *, stage: str
) -> list[Photo]:
    stage = stage if stage in Photo.Stage.values else Photo.Stage.REPORT
    return Photo.objects.bulk_create(
        [Photo(case=case, event=event, stage=stage, uploaded_by=actor, **p) for p in photos]
    )


# --- creating a case -------------------------------------------------------------------------


def _place(case: Case, lon: float | None, lat: float | None, address: str) -> None:
    """Set the location and the grid it falls in (docs/domain.md §1; nothing is refused for its location)."""
    from grids.geo import grid_row, locate

    case.lon, case.lat, case.address = lon, lat, address or case.address
    if lon is None or lat is None:
        case.grid, case.outside_grid = None, True
        return
    found = locate(lon, lat)
    case.outside_grid = found.outside
    # For the alerts, the live map and the answer: the cached row with its community, no geometry.
    case.grid = grid_row(found.grid_id) if found.grid_id else None


def next_case_number(now: dt.datetime) -> str:
    """YYYYMMDD + 5-digit daily serial in Asia/Shanghai. Call inside the creating transaction: the
    serial row stays locked until commit, and a rolled-back case gives its number back."""
    day = timezone.localdate(now)
    return f"{day:%Y%m%d}{counters.next_value(DailySerial, 'day', day):05d}"


@dataclass(frozen=True)
class Made:
    """What report_case wrote besides the case row (set as `case.made` on the case it returns)."""

    event: CaseEvent
    photos: list[Photo]


@dataclass
class Report:
    """What a reporter submits."""

    category: SmallClass
    source: str = Source.PATROL
    lon: float | None = None
    lat: float | None = None
    address: str = ""
    description: str = ""
    attributes: dict = field(default_factory=dict)
    client_uuid: uuid.UUID | None = None
    occurred_at: dt.datetime | None = None
    contact: dict = field(default_factory=dict)
    photos: Sequence[dict] = field(default_factory=tuple)
    evidence_flags: list[str] = field(default_factory=list)
    # True when `category` was read through SmallClass.objects.available() in this request
    # (the API's serializer does): report_case then does not ask again.
    category_checked: bool = False


def check_report(
    report: Report, *, reporter: User | None, self_handle: bool = False, photos: int | None = None
) -> None:
    """Every check `report_case()` makes, without writing anything: the API runs it before it
    writes a request's photo files. `photos`: how many photos come (default: `report.photos`).

    With `self_handle` (an officer fixed the problem on the spot, docs/domain.md §4) the checks of the
    table's self_handle row run too: an officer, at least one (after-)photo, a point in one of the
    officer's grids."""
    if reporter is not None and reporter.role not in REPORT_ROLES:
        raise PermissionDenied(
            _("Your role (%(role)s) does not report cases.") % {"role": reporter.get_role_display()}
        )
    if (
        not report.category_checked
        and not SmallClass.objects.available().filter(pk=report.category.pk).exists()
    ):
        raise ValidationError(
            {"category": _("Category %(code)s is not in use.") % {"code": report.category.code}}
        )
    validate_attributes(report.category, report.attributes)
    if not self_handle:
        return
    from cases.access import is_officer_of_grid
    from grids.geo import locate

    rule = TABLE[(S.REPORTED, "self_handle")]
    if reporter is None or reporter.role not in rule.roles:
        raise PermissionDenied(
            _("Your role (%(role)s) may not %(action)s a case.")
            % {"role": reporter.get_role_display() if reporter else "—", "action": "self_handle"}
        )
    if not (report.photos if photos is None else photos):
        raise ValidationError(
            {
                "photos": _("At least one photo is required to %(action)s.")
                % {"action": "self_handle"}
            }
        )
    grid_id = (
        locate(report.lon, report.lat).grid_id
        if report.lon is not None and report.lat is not None
        else None
    )
    if not is_officer_of_grid(reporter, grid_id):
        raise PermissionDenied(
            _("This case is not yours to %(action)s.") % {"action": "self_handle"}
        )


def report_case(
    report: Report,
    *,
    reporter: User | None,
    now: dt.datetime | None = None,
    also: Callable[[Case], object] | None = None,
    self_handle: bool = False,
) -> Case:
    """Create a case in `reported` with its first event ("report").

    Rules: officers, acceptors (hotline) and the public report; the category must be available;
    the attributes must match the category's schema (ValidationError names the field); the
    location is placed on a grid or flagged outside. A `client_uuid` seen before returns the case
    made then, unchanged (an offline phone's retry a week later is the same case).
    `also(case)` runs inside the creating transaction (the API links its idempotency record).
    A new case comes back with `case.made` (its event and photos) and its category, grid and
    reporter loaded: `case_detail(case, user, fresh=True)` answers without reading them again.

    `self_handle`: the reporting officer fixed it on the spot. The case is reported and
    self-handled in ONE transaction, after every check of both (`check_report`): a refused
    self-handle stores nothing. `report.photos` are then the self-handle's after-photos.
    """
    now = now or timezone.now()
    if reporter is not None and reporter.role not in REPORT_ROLES:
        raise PermissionDenied(
            _("Your role (%(role)s) does not report cases.") % {"role": reporter.get_role_display()}
        )
    if report.client_uuid and (
        existing := Case.objects.filter(client_uuid=report.client_uuid).first()
    ):
        return existing
    check_report(report, reporter=reporter, self_handle=self_handle)
    standard = getattr(report.category, "case_standard", None)
    case = Case(
        category=report.category,
        source=report.source,
        description=report.description,
        attributes=report.attributes,
        client_uuid=report.client_uuid,
        occurred_at=report.occurred_at,
        reporter=reporter,
        reporter_contact=report.contact,
        reported_at=now,
        urgent=bool(standard and standard.urgency == "urgent"),
        evidence_flags=report.evidence_flags,
    )
    _place(case, report.lon, report.lat, report.address)
    _enter_step(case, S.REPORTED, now)
    event = CaseEvent(
        case=case,
        seq=1,
        action="report",
        from_status="",
        to_status=S.REPORTED,
        actor=reporter,
        actor_role=reporter.role if reporter else Role.PUBLIC,
        at=now,
        data={"source": report.source, "grid": case.grid_id},
    )
    told = recipients(event)  # reads only: done before the day's serial row is locked
    from campaigns.ledger import plan_report

    ledger_plan = plan_report(
        case, now=now
    )  # None unless an illegal-construction class (docs/domain.md §12)
    try:
        with transaction.atomic():
            case.number = next_case_number(now)  # from here to commit, other reports wait
            case.save()
            event.case = case
            event.save(force_insert=True)
            photos = (
                []
                if self_handle
                else _attach_photos(case, event, report.photos, reporter, stage="report")
            )
            notify_event(event, told=told)
            if ledger_plan is not None:
                ledger_plan.write(case, event)
            if also is not None:
                also(case)
            if self_handle:
                transition(
                    case,
                    "self_handle",
                    actor=reporter,
                    version=case.version,
                    inputs=Inputs(photos=report.photos),
                    now=now,
                )
    except IntegrityError:
        if report.client_uuid and (
            existing := Case.objects.filter(client_uuid=report.client_uuid).first()
        ):
            return existing  # a concurrent request with the same client id won
        raise
    if self_handle:
        case.refresh_from_db()
    case.made = Made(event, photos)
    return case
