"""The named cast of the workflow tests (one named cast per suite) and helpers that drive a case through
the real workflow to any state."""

from __future__ import annotations

import io
from dataclasses import dataclass

from django.test import Client
from PIL import Image

from cases import photos, workflow
from cases.models import Case, SmallClass, Status
from grids.models import Grid
from people.models import Organisation, Role, User
from tests.factories import make_area, make_grid, make_organisation, make_small_class, make_user

# Two grids in different streets, ~100 m squares.
GRID_A = (120.700, 31.300, 120.701, 31.301)
GRID_B = (120.760, 31.330, 120.761, 31.331)
IN_A = (120.7005, 31.3005)


@dataclass
class Cast:
    grid: Grid
    other_grid: Grid
    officer: User
    officer_elsewhere: User
    acceptor: User
    shift_leader: User
    dispatcher: User
    viewer: User
    unit: Organisation
    unit_member: User
    other_unit: Organisation
    other_unit_member: User
    public: User
    category: SmallClass

    def by_role(self, role: str) -> User:
        return {
            Role.OFFICER: self.officer,
            Role.ACCEPTOR: self.acceptor,
            Role.SHIFT_LEADER: self.shift_leader,
            Role.DISPATCHER: self.dispatcher,
            Role.VIEWER: self.viewer,
            Role.UNIT_MEMBER: self.unit_member,
            Role.PUBLIC: self.public,
        }[role]

    def client(self, user: User) -> Client:
        """A logged-in test client per user, made once."""
        clients = self.__dict__.setdefault("_clients", {})
        if user.pk not in clients:
            clients[user.pk] = Client()
            clients[user.pk].force_login(user)
        return clients[user.pk]


def make_cast() -> Cast:
    officer, officer_elsewhere = make_user(username="officer"), make_user(username="officer_b")
    grid = make_grid(code="320505006001001", bounds=GRID_A, officers=[officer])
    other = make_grid(code="320506009001001", bounds=GRID_B, officers=[officer_elsewhere])
    centre = make_organisation(kind=Organisation.Kind.CENTRE, code="centre")
    make_area(code="320505")
    unit = make_organisation(kind=Organisation.Kind.HANDLING_UNIT, code="unit-a", name="执法大队")
    other_unit = make_organisation(
        kind=Organisation.Kind.HANDLING_UNIT, code="unit-b", name="环卫所"
    )
    category = make_small_class(big_class=None, name="私搭乱建")
    category.big_class.standard.active = True
    category.big_class.standard.save()
    return Cast(
        grid=grid,
        other_grid=other,
        officer=officer,
        officer_elsewhere=officer_elsewhere,
        acceptor=make_user(role=Role.ACCEPTOR, username="acceptor", organisation=centre),
        shift_leader=make_user(role=Role.SHIFT_LEADER, username="shiftleader", organisation=centre),
        dispatcher=make_user(role=Role.DISPATCHER, username="dispatcher", organisation=centre),
        viewer=make_user(role=Role.VIEWER, username="viewer", organisation=centre),
        unit=unit,
        unit_member=make_user(role=Role.UNIT_MEMBER, username="unit", organisation=unit),
        other_unit=other_unit,
        other_unit_member=make_user(
            role=Role.UNIT_MEMBER, username="unit2", organisation=other_unit
        ),
        public=make_user(role=Role.PUBLIC, username="citizen"),
        category=category,
    )


def jpeg_bytes(size=(64, 48), color=(200, 80, 40)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, "JPEG")
    return buffer.getvalue()


def photo_record() -> dict:
    """A real processed and stored photo, in the shape the workflow attaches to events."""
    processed = photos.process_photo(jpeg_bytes(), filename="after.jpg")
    return photos.photo_record(processed, photos.store_photo(processed))


def report(cast: Cast, *, by: User | None = None, at=IN_A, **fields) -> Case:
    by = by or cast.officer
    return workflow.report_case(
        workflow.Report(category=cast.category, lon=at[0], lat=at[1], **fields), reporter=by
    )


def act(case: Case, action: str, actor: User, **inputs) -> Case:
    case.refresh_from_db()
    workflow.transition(
        case, action, actor=actor, version=case.version, inputs=workflow.Inputs(**inputs)
    )
    case.refresh_from_db()
    return case


# The path from `reported` to each state, as (action, role, inputs) steps.
def path_to(cast: Cast, status: str) -> list[tuple[str, User, dict]]:
    dispatched = [
        ("accept", cast.acceptor, {}),
        ("register", cast.shift_leader, {}),
        ("dispatch", cast.dispatcher, {"unit": cast.unit}),
    ]
    return {
        Status.REPORTED: [],
        Status.VERIFYING: [("send_verify", cast.acceptor, {})],
        Status.PENDING_REGISTRATION: [("accept", cast.acceptor, {})],
        Status.DISPATCHING: dispatched[:2],
        Status.HANDLING: dispatched,
        Status.SUSPENDED: dispatched
        + [
            ("request_suspension", cast.unit_member, {"reason": "施工"}),
            ("approve_suspension", cast.dispatcher, {}),
        ],
        Status.CHECKING: dispatched
        + [("feedback", cast.unit_member, {"photos": [photo_record()]})],
        Status.CLOSING: dispatched
        + [
            ("feedback", cast.unit_member, {"photos": [photo_record()]}),
            ("check", cast.officer, {"outcome": "pass", "photos": [photo_record()]}),
        ],
        Status.CLOSED: dispatched
        + [
            ("feedback", cast.unit_member, {"photos": [photo_record()]}),
            ("check", cast.officer, {"outcome": "pass", "photos": [photo_record()]}),
            ("close", cast.shift_leader, {}),
        ],
        Status.REJECTED: [("reject", cast.acceptor, {"reason": "不属实"})],
        Status.VOIDED: [("void", cast.shift_leader, {"reason": "重复录入"})],
        Status.MERGED: [("merge", cast.acceptor, {"duplicate_of": None})],  # filled in by case_in
    }[status]


def case_in(cast: Cast, status: str) -> Case:
    case = report(cast)
    for action, actor, inputs in path_to(cast, status):
        if action == "merge":
            inputs = {"duplicate_of": report(cast)}
        case = act(case, action, actor, **inputs)
    assert case.status == status
    return case
