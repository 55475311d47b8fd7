"""Typed errors of the people service."""

from flask_babel import lazy_gettext as _l

from timebank.user_errors import UserError


class PeopleError(UserError):
    message = _l("That is not possible.")


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


class InvitationOnly(PeopleError):
    message = _l("This timebank takes new members by invitation only. Ask a coordinator "
                 "for an invitation.")


class LastCoordinator(PeopleError):
    field = "role"
    message = _l("The group needs at least one active coordinator: make someone else "
                 "coordinator first.")


class NotActive(PeopleError):
    message = _l("This membership is not active.")


class NotSuspended(PeopleError):
    message = _l("This membership is not suspended.")


class NotYourself(PeopleError):
    message = _l("You cannot do this to your own membership.")


class BalanceNotZero(PeopleError):
    message = _l("The balance must be zero before leaving: settle it first, or ask a "
                 "treasurer to move it to the group account.")


class NothingToSettle(PeopleError):
    message = _l("The balance is already zero.")


class InvalidInvitation(PeopleError):
    message = _l("This invitation is invalid, was already used, or has expired. Ask a "
                 "coordinator for a new one.")


class AlreadyInvited(PeopleError):
    field = "email"
    message = _l("This person already has a membership in the group.")


class InvalidRole(PeopleError):
    field = "role"
    message = _l("Choose a role.")


class NameRequired(PeopleError):
    field = "name"
    message = _l("Enter a name.")
