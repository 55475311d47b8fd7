"""Typed errors of the volunteering service."""

from flask_babel import lazy_gettext as _l

from timebank.user_errors import UserError


class VolunteeringError(UserError):
    message = _l("That is not possible.")


class NotOrganizer(VolunteeringError):
    message = _l("Only organizers and coordinators can do this.")


class TitleRequired(VolunteeringError):
    field = "title"
    message = _l("Give the task a title.")


class InvalidVolunteerCount(VolunteeringError):
    field = "volunteers_needed"
    message = _l("Ask for 1 to 1000 volunteers.")


class TaskCancelled(VolunteeringError):
    message = _l("This task was cancelled.")


class TaskFull(VolunteeringError):
    message = _l("This task has all the volunteers it needs.")


class AlreadyPledged(VolunteeringError):
    message = _l("You have already pledged to help with this task.")


class NotPledged(VolunteeringError):
    message = _l("This pledge is not open (withdrawn, or already marked done).")


class NotYourPledge(VolunteeringError):
    message = _l("This is someone else's pledge.")


class NoSelfKudos(VolunteeringError):
    message = _l("Another organizer marks your own part done.")


class NotActiveMember(VolunteeringError):
    message = _l("Only active members can pledge.")


class TaskNotStarted(VolunteeringError):
    message = _l("This task has not started yet: mark a part done once the task has begun.")
