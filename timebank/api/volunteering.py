"""Volunteer tasks over the API: list, pledge, withdraw (the volunteering service)."""

from flask import g

from timebank.api import schemas
from timebank.api.core import ApiBlueprint, fail, refuse
from timebank.extensions import db
from timebank.models import Pledge, VolunteerTask
from timebank.policy import can
from timebank.volunteering import service as volunteering
from timebank.volunteering.errors import VolunteeringError

blp = ApiBlueprint("volunteering_api", __name__, url_prefix="/api/v1",
                   description="Volunteer tasks and pledges (kudos, not money)")


def _task_json(task: VolunteerTask, places: dict[int, int]) -> dict:
    mine = volunteering.pledge_of(task, g.membership)
    return {"id": task.id, "title": task.title, "description": task.description or "",
            "starts_at": task.starts_at, "volunteers_needed": task.volunteers_needed,
            "places_taken": places.get(task.id, 0), "status": str(task.status.value),
            "my_pledge_id": mine.id if mine is not None else None}


def _pledge_json(pledge: Pledge) -> dict:
    return {"id": pledge.id, "task_id": pledge.task_id, "status": str(pledge.status.value)}


@blp.route("/tasks", methods=["GET"])
@blp.operation("volunteering.view")
@blp.response(200, schemas.TaskSchema(many=True))
def tasks():
    """Upcoming tasks, then recent ones."""
    found = volunteering.upcoming_tasks() + volunteering.recent_tasks()
    places = volunteering.place_counts(found)
    return [_task_json(task, places) for task in found]


@blp.route("/tasks/<int(max=2147483647):task_id>/pledge", methods=["POST"])
@blp.operation("volunteering.pledge", scope="write")
@blp.response(201, schemas.PledgeSchema)
def pledge(task_id: int):
    """Pledge to help with a task."""
    task = db.session.get(VolunteerTask, task_id)
    if task is None:
        fail(404)
    try:
        row = volunteering.pledge(task=task, membership=g.membership)
    except VolunteeringError as error:
        refuse(error)
    return _pledge_json(row), 201


@blp.route("/pledges/<int(max=2147483647):pledge_id>/withdraw", methods=["POST"])
@blp.operation("volunteering.withdraw", scope="write")
@blp.response(200, schemas.PledgeSchema)
def withdraw(pledge_id: int):
    """Withdraw your own pledge."""
    row = db.session.get(Pledge, pledge_id)
    if row is None:
        fail(404)
    if not can(g.membership, "volunteering.withdraw", row):
        fail(403, "Only your own pledge can be withdrawn.")
    try:
        row = volunteering.withdraw(pledge=row, membership=g.membership)
    except VolunteeringError as error:
        refuse(error)
    return _pledge_json(row)
