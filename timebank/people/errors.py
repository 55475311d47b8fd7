"""Typed errors of the people service."""

from flask_babel import lazy_gettext as _l


class PeopleError(Exception):
    message = _l("That is not possible.")
    field: str | None = None

    def __str__(self) -> str:
        return str(self.message)


class EmailTaken(PeopleError):
    field = "email"
    message = _l("An account with this email already exists. Log in instead.")


class AlreadyMember(PeopleError):
    message = _l("You are already a member of this group.")


class NotPending(PeopleError):
    message = _l("This membership is not waiting for approval.")


class InvalidToken(PeopleError):
    message = _l("This link is invalid or has expired. Ask for a new one.")


class WrongPassword(PeopleError):
    field = "current_password"
    message = _l("The current password is not right.")
