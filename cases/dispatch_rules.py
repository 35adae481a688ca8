"""Which handling unit a case goes to (the city's responsibility list 权责清单, issue 23).

`suggest_unit(case)` answers the console's suggested unit: the dispatch rule of the case's small
class (or of its big class) whose area prefix is the longest prefix of the case's grid code; among
rules as specific as each other a small-class rule beats a big-class one, then the lower priority
number wins. Without a matching rule, the small class's default handling unit (its case standard).
Inactive units are never suggested.

`dispatch_automatically(case, now=...)` is called by the workflow right after `register`: when an
administrator has switched automatic dispatch on for the case's small class and a unit is
suggested, the case is dispatched through `cases.workflow.transition()` by the system actor — a
dispatcher account named `system` in an organisation of its own (code `system`, no area: the whole
city), with no usable password, so nobody can sign in as it. The event is an ordinary `dispatch`
event (the timeline shows "系统", the metrics count it as any dispatch).
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from cases.models import AutoDispatch, Case, DispatchRule, SmallClass
from people.models import Organisation, Role, User

log = logging.getLogger(__name__)
SYSTEM_USERNAME = "system"
SYSTEM_ORGANISATION = "system"


@dataclass(frozen=True)
class _Rule:
    small_class_id: int | None
    big_class_id: int | None
    prefix: str
    priority: int
    unit: Organisation

    def rank(self) -> tuple:
        """Sort key: longest prefix, then small class before big class, then priority."""
        return (-len(self.prefix), 0 if self.small_class_id else 1, self.priority, self.unit.pk)


class RuleBook:
    """The dispatch rules, read once (the console's queues ask for up to 800 rows at a time)."""

    def __init__(self) -> None:
        self.by_small: dict[int, list[_Rule]] = {}
        self.by_big: dict[int, list[_Rule]] = {}
        rows = DispatchRule.objects.select_related("unit").filter(
            unit__active=True, unit__kind=Organisation.Kind.HANDLING_UNIT
        )
        for row in rows:
            rule = _Rule(
                row.small_class_id, row.big_class_id, row.area_prefix, row.priority, row.unit
            )
            if row.small_class_id:
                self.by_small.setdefault(row.small_class_id, []).append(rule)
            else:
                self.by_big.setdefault(row.big_class_id, []).append(rule)

    def rule_unit(self, small_class: SmallClass, grid_code: str | None) -> Organisation | None:
        """The unit the rules send `small_class` to at `grid_code` (None: outside every grid, where
        only whole-city rules apply); None when no rule matches."""
        code = grid_code or ""
        candidates = [
            r
            for r in (
                *self.by_small.get(small_class.pk, ()),
                *self.by_big.get(small_class.big_class_id, ()),
            )
            if code.startswith(r.prefix) and (code or not r.prefix)
        ]
        return min(candidates, key=_Rule.rank).unit if candidates else None


def suggest_unit(case: Case, *, book: RuleBook | None = None) -> Organisation | None:
    """The handling unit suggested for `case` (see the module docstring). Reads only."""
    book = book or RuleBook()
    unit = book.rule_unit(case.category, case.grid.code if case.grid_id else None)
    if unit is None:
        standard = getattr(case.category, "case_standard", None)
        unit = standard.default_handling_unit if standard else None
    if unit is None or not unit.active or unit.kind != Organisation.Kind.HANDLING_UNIT:
        return None
    return unit


def system_actor() -> User:
    """The account automatic actions are recorded under (created on first use)."""
    organisation, _created = Organisation.objects.get_or_create(
        code=SYSTEM_ORGANISATION,
        defaults={"name": "系统", "kind": Organisation.Kind.CENTRE, "area": None, "active": False},
    )
    user = User.objects.filter(username=SYSTEM_USERNAME).first()
    if user is None:
        user = User(
            username=SYSTEM_USERNAME,
            first_name="系统",
            role=Role.DISPATCHER,
            organisation=organisation,
        )
        user.set_unusable_password()
        user.save()
    return user


def auto_dispatch_on(small_class: SmallClass) -> bool:
    return AutoDispatch.objects.filter(small_class=small_class, enabled=True).exists()


def dispatch_automatically(case: Case, *, now: dt.datetime | None = None):
    """Dispatch a just-registered `case` by the system when its small class asks for it and a unit
    is suggested; returns the dispatch event, or None when nothing was done. A dispatch the
    workflow refuses (the unit was closed meanwhile) leaves the case waiting for a dispatcher, and
    is logged; the registration stands."""
    from cases import workflow

    case = Case.objects.select_related(
        "category__case_standard__default_handling_unit", "grid"
    ).get(pk=case.pk)
    if not auto_dispatch_on(case.category):
        return None
    unit = suggest_unit(case)
    if unit is None:
        return None
    try:
        with transaction.atomic():
            return workflow.transition(
                case,
                "dispatch",
                actor=system_actor(),
                version=case.version,
                inputs=workflow.Inputs(unit=unit),
                now=now,
            )
    except (ValidationError, PermissionDenied, workflow.TransitionNotAllowed) as refused:
        log.warning("automatic dispatch of case %s refused: %s", case.number, refused)
        return None
