"""Requests to start a timebank: from the apex form to a provisioned group.

The life of a :class:`~timebank.models.GroupRequest` (``status``):

* ``unconfirmed`` — a visitor without an account asked; a signed link went to their email. The
  account is created when they click it (proving the address is theirs), with the password they
  chose (only its hash is kept meanwhile). A logged-in user skips this step;
* ``pending`` — the network wants to approve new groups (:class:`NetworkSettings`) and a network
  admin has not decided yet; ``declined`` — an admin said no, with a message to the requester;
* ``queued`` → ``running`` → ``done`` | ``failed`` — the provisioning job
  (:mod:`timebank.provisioning.jobs`) is on its way. A failed request may be retried (with
  another address when the wished one was taken meanwhile).

Rules enforced here:

* the wished address is checked like any slug (:func:`~timebank.provisioning.service.check_slug`)
  and must not be wished by another open request; the check is repeated on submit, and the
  ``groups.slug`` unique index decides when two jobs race for one address: one group is created,
  the other request fails with :class:`~timebank.provisioning.service.SlugTaken` and its
  requester is told;
* provisioning is idempotent, keyed on the request id: the request row is locked while its job
  runs, and a request that is already ``done`` (or running) is left alone;
* a confirmation link is signed, expires after :data:`CONFIRM_MAX_AGE` and works once.

Functions take keyword-only arguments, raise :class:`RequestError` or provisioning errors, and
never commit (the job in :mod:`timebank.provisioning.jobs` is the one exception's owner).
"""

import re
import secrets
import unicodedata
from zoneinfo import available_timezones

import sqlalchemy as sa
from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer

from timebank.extensions import db
from timebank.i18n import LANGUAGES, N_
from timebank.models import (
    Group,
    GroupRequest,
    GroupRequestStatus,
    JoinPolicy,
    NetworkSettings,
    User,
    utcnow,
)
from timebank.people import service as people
from timebank.people.passwords import hash_password
from timebank.provisioning import audit
from timebank.provisioning.service import (
    RESERVED_SLUGS,
    SLUG_PATTERN,
    InvalidSlug,
    ProvisioningError,
    ReservedSlug,
    SlugTaken,
    check_slug,
    create_group,
)

CONFIRM_MAX_AGE = 3 * 24 * 3600  # seconds a confirmation link stays valid
TIMEZONES = sorted(available_timezones() - {"localtime", "Factory"})
OPEN_STATUSES = (GroupRequestStatus.PENDING, GroupRequestStatus.QUEUED,
                 GroupRequestStatus.RUNNING)


class RequestError(ProvisioningError):
    message = _l("This request cannot be changed now.")


class SlugRequested(SlugTaken):
    message = _l("Someone has already asked for this address. Choose another one.")


class EmailHasAccount(RequestError):
    field = "email"
    message = _l("An account with this email already exists. Log in first, then start your "
                 "timebank.")


class InvalidTimezone(RequestError):
    field = "timezone"
    message = _l("Choose a time zone from the list.")


class InvalidLanguage(RequestError):
    field = "default_locale"
    message = _l("Choose a language from the list.")


class InvalidConfirmation(RequestError):
    message = _l("This confirmation link is invalid or has expired. Start again.")


class NotRetryable(RequestError):
    message = _l("Only a failed request can be retried.")


class NotPending(RequestError):
    message = _l("This request is not waiting for a decision.")


# Why a request failed, by the error's class name (stored in ``GroupRequest.error``), so the
# requester reads it in their own language. Anything else is "unexpected" for them; a network
# admin sees the stored text.
KNOWN_FAILURES = {
    cls.__name__: cls
    for cls in (InvalidSlug, ReservedSlug, SlugTaken, SlugRequested, EmailHasAccount,
                InvalidLanguage, InvalidTimezone)
}


def failure_message(group_request: GroupRequest) -> str:
    """Return why ``group_request`` failed, translated for the requester."""
    known = KNOWN_FAILURES.get(group_request.error or "")
    if known is not None:
        return str(known.message)
    return _("Something went wrong while creating your timebank. A network admin has been "
             "told; you can try again.")


# --- network settings ----------------------------------------------------------------------------


def network_settings() -> NetworkSettings:
    """Return the network's settings row, creating it with the defaults if it is missing."""
    settings = db.session.get(NetworkSettings, 1)
    if settings is None:
        settings = NetworkSettings(id=1, groups_need_approval=True, updated_at=utcnow())
        db.session.add(settings)
        db.session.flush()
    return settings


def set_groups_need_approval(*, value: bool, actor: User | None) -> NetworkSettings:
    """Say whether new groups wait for a network admin's approval (audited)."""
    settings = network_settings()
    if settings.groups_need_approval != value:
        settings.groups_need_approval = value
        settings.updated_at = utcnow()
        audit.record(actor=actor, action="network.approval_setting",
                     details={"groups_need_approval": value})
        db.session.flush()
    return settings


# --- addresses -----------------------------------------------------------------------------------


def slugify(text: str) -> str:
    """Return a DNS-label-shaped slug made from ``text`` ("Vallée Verte" → "vallee-verte")."""
    plain = unicodedata.normalize("NFKD", text or "").encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", plain.lower()).strip("-")
    return slug[:63].rstrip("-")


def _requested_slugs(candidates: list[str]) -> set[str]:
    """Return which of ``candidates`` a group or an open request already holds (one query)."""
    if not candidates:
        return set()
    groups = sa.select(Group.slug).where(Group.slug.in_(candidates))
    wished = sa.select(GroupRequest.slug).where(
        GroupRequest.slug.in_(candidates), GroupRequest.status.in_(OPEN_STATUSES)
    )
    return set(db.session.scalars(sa.union(groups, wished)))


def check_wished_slug(slug: str, *, except_request_id: int | None = None) -> str:
    """Return ``slug`` normalised if a new group may have it, or raise why not.

    Raises :class:`InvalidSlug`, :class:`ReservedSlug`, :class:`SlugTaken` (a group has it)
    or :class:`SlugRequested` (another open request wishes it).
    """
    slug = check_slug(slug)
    query = sa.select(GroupRequest.id).where(
        GroupRequest.slug == slug, GroupRequest.status.in_(OPEN_STATUSES)
    )
    if except_request_id is not None:
        query = query.where(GroupRequest.id != except_request_id)
    if db.session.scalar(query.limit(1)) is not None:
        raise SlugRequested()
    return slug


def suggest_slugs(seed: str, *, place: str = "", limit: int = 3) -> list[str]:
    """Return up to ``limit`` free addresses close to ``seed`` (a wished slug or a name)."""
    base = slugify(seed)[:50].rstrip("-") or "timebank"
    place_part = slugify(place)[:20].rstrip("-")
    candidates = [base]
    if place_part and place_part not in base:
        candidates.append(f"{base}-{place_part}")
    candidates += [f"{base}-timebank", f"{base}-tb"] + [f"{base}{n}" for n in range(2, 10)]
    candidates = [
        c for c in dict.fromkeys(candidates)
        if SLUG_PATTERN.match(c) and c not in RESERVED_SLUGS
    ]
    taken = _requested_slugs(candidates)
    return [c for c in candidates if c not in taken][:limit]


def slug_report(slug: str, *, name: str = "", place: str = "") -> dict:
    """Return what the live check says about ``slug``: ``{"slug", "valid", "available",
    "reason", "message", "suggestions"}`` (``reason``: None, ``invalid``, ``reserved``,
    ``taken`` or ``requested``; ``message`` translated)."""
    normalised = (slug or "").strip().lower()
    report = {"slug": normalised, "valid": True, "available": True, "reason": None,
              "message": _("This address is free."), "suggestions": []}
    try:
        check_wished_slug(normalised)
    except ProvisioningError as error:
        report["available"] = False
        report["message"] = str(error)
        if isinstance(error, InvalidSlug):
            report["valid"], report["reason"] = False, "invalid"
        elif isinstance(error, ReservedSlug):
            report["valid"], report["reason"] = False, "reserved"
        elif isinstance(error, SlugRequested):
            report["reason"] = "requested"
        else:
            report["reason"] = "taken"
        report["suggestions"] = suggest_slugs(normalised if report["valid"] else name or slug,
                                              place=place)
    return report


# --- asking --------------------------------------------------------------------------------------


def _check_fields(*, default_locale: str, timezone: str) -> None:
    if default_locale not in LANGUAGES:
        raise InvalidLanguage()
    if timezone not in TIMEZONES:
        raise InvalidTimezone()


def start_request(
    *,
    name: str,
    slug: str,
    default_locale: str,
    timezone: str,
    place: str = "",
    description: str = "",
    requester: User | None = None,
    requester_name: str = "",
    requester_email: str = "",
    password: str | None = None,
    locale: str = "en",
) -> GroupRequest:
    """Record a request to start a timebank and return it.

    A logged-in ``requester`` skips email confirmation: the request goes on at once
    (:func:`submit`). Otherwise ``requester_name``, ``requester_email`` and ``password`` are
    required; the email must not have an account yet (:class:`EmailHasAccount`: log in
    instead), and the request waits ``unconfirmed`` for :func:`confirm_request`. ``locale`` is
    the language the requester's emails are written in. Raises slug errors
    (:func:`check_wished_slug`), :class:`InvalidLanguage`, :class:`InvalidTimezone` or
    :class:`EmailHasAccount`.
    """
    slug = check_wished_slug(slug)
    _check_fields(default_locale=default_locale, timezone=timezone)
    group_request = GroupRequest(
        token=secrets.token_urlsafe(24),
        name=name.strip()[:120],
        slug=slug,
        default_locale=default_locale,
        timezone=timezone,
        place=(place or "").strip()[:120],
        description=(description or "").strip(),
        requester_locale=locale if locale in LANGUAGES else "en",
        created_at=utcnow(),
    )
    if requester is not None:
        group_request.requester_id = requester.id
        group_request.requester_name = requester.name
        group_request.requester_email = requester.email
        group_request.confirmed_at = utcnow()
    else:
        if people.find_user_by_email(requester_email) is not None:
            raise EmailHasAccount()
        group_request.requester_name = requester_name.strip()[:120]
        group_request.requester_email = people.normalize_email(requester_email)
        group_request.password_hash = hash_password(password or "")
        group_request.status = GroupRequestStatus.UNCONFIRMED
    db.session.add(group_request)
    db.session.flush()
    if requester is not None:
        submit(group_request=group_request)
    else:
        _send_confirmation(group_request)
    return group_request


def _confirm_serializer() -> URLSafeTimedSerializer:
    from timebank.security.secrets import signing_keys

    return URLSafeTimedSerializer(signing_keys(), salt="group-request-confirm")


def confirmation_token(group_request: GroupRequest) -> str:
    """Return the signed token of ``group_request``'s confirmation link."""
    return _confirm_serializer().dumps({"request": group_request.id,
                                        "email": group_request.requester_email})


def _send_confirmation(group_request: GroupRequest) -> None:
    from timebank.provisioning.jobs import send_request_mail
    from timebank.tasks import enqueue
    from timebank.tenants.urls import network_url

    link = network_url(f"/start/confirm/{confirmation_token(group_request)}")
    enqueue(send_request_mail, group_request.id, "network_request_confirm",
            N_("Confirm your email to start %(group_name)s"), {"link": link})


def confirm_request(*, token: str) -> tuple[GroupRequest, User]:
    """Confirm the requester's email from a link: create their account, go on with the request.

    Returns (request, user). A link works once: an already-confirmed request raises
    :class:`InvalidConfirmation`, like a bad or expired one. If the email got an account
    meanwhile, raises :class:`EmailHasAccount` (that person logs in and asks again).
    """
    try:
        data = _confirm_serializer().loads(token, max_age=CONFIRM_MAX_AGE)
    except (BadSignature, SignatureExpired) as error:
        raise InvalidConfirmation() from error
    group_request = db.session.scalar(
        sa.select(GroupRequest).where(GroupRequest.id == data.get("request")).with_for_update()
    )
    if (
        group_request is None
        or group_request.status != GroupRequestStatus.UNCONFIRMED
        or group_request.requester_email != data.get("email")
    ):
        raise InvalidConfirmation()
    if people.find_user_by_email(group_request.requester_email) is not None:
        raise EmailHasAccount()
    user = User(
        email=group_request.requester_email,
        name=group_request.requester_name,
        password_hash=group_request.password_hash,
        locale=group_request.requester_locale,
    )
    try:
        with db.session.begin_nested():
            db.session.add(user)
    except sa.exc.IntegrityError as error:  # the email got an account this very moment
        raise EmailHasAccount() from error
    group_request.requester_id = user.id
    group_request.password_hash = None
    group_request.confirmed_at = utcnow()
    submit(group_request=group_request)
    return group_request, user


def submit(*, group_request: GroupRequest) -> GroupRequest:
    """Send a confirmed request on: to the admins' queue, or straight to provisioning.

    The wished address is checked again; if it went meanwhile the request fails at once with
    the reason (the requester picks another one and retries).
    """
    try:
        check_wished_slug(group_request.slug, except_request_id=group_request.id)
    except ProvisioningError as error:
        _fail(group_request, type(error).__name__)
        return group_request
    if network_settings().groups_need_approval:
        group_request.status = GroupRequestStatus.PENDING
        _tell_admins(group_request)
    else:
        queue_provisioning(group_request=group_request)
    db.session.flush()
    return group_request


def _tell_admins(group_request: GroupRequest) -> None:
    from timebank.mail import send_templated_mail
    from timebank.tasks import enqueue
    from timebank.tenants.urls import network_url

    admins = db.session.scalars(sa.select(User.id).where(User.is_network_admin)).all()
    for admin_id in admins:
        enqueue(send_templated_mail, admin_id, "network_request_new",
                N_("New timebank request: %(group_name)s"),
                {"group_name": group_request.name, "slug": group_request.slug,
                 "requester": group_request.requester_name,
                 "link": network_url("/network/requests")})


def queue_provisioning(*, group_request: GroupRequest) -> GroupRequest:
    """Mark ``group_request`` queued and enqueue its provisioning job (after commit)."""
    from timebank.provisioning.jobs import provision_group
    from timebank.tasks import enqueue

    group_request.status = GroupRequestStatus.QUEUED
    group_request.progress = 0
    group_request.error = None
    db.session.flush()
    enqueue(provision_group, group_request.id)
    return group_request


# --- deciding ------------------------------------------------------------------------------------


def approve_request(*, group_request: GroupRequest, actor: User | None,
                    message: str = "") -> GroupRequest:
    """Approve a pending request: its provisioning job is queued (audited).

    Raises :class:`NotPending`.
    """
    if group_request.status != GroupRequestStatus.PENDING:
        raise NotPending()
    group_request.decided_by_id = actor.id if actor is not None else None
    group_request.decided_at = utcnow()
    group_request.decision_message = (message or "").strip()
    queue_provisioning(group_request=group_request)
    audit.record(actor=actor, action="request.approve", target_type="group_request",
                 target_id=group_request.id, target_label=group_request.slug,
                 details={"message": group_request.decision_message})
    return group_request


def decline_request(*, group_request: GroupRequest, actor: User | None,
                    message: str) -> GroupRequest:
    """Decline a pending request with ``message`` to the requester, who is emailed (audited).

    Raises :class:`NotPending`.
    """
    from timebank.provisioning.jobs import send_request_mail
    from timebank.tasks import enqueue

    if group_request.status != GroupRequestStatus.PENDING:
        raise NotPending()
    group_request.status = GroupRequestStatus.DECLINED
    group_request.decided_by_id = actor.id if actor is not None else None
    group_request.decided_at = utcnow()
    group_request.decision_message = (message or "").strip()
    db.session.flush()
    audit.record(actor=actor, action="request.decline", target_type="group_request",
                 target_id=group_request.id, target_label=group_request.slug,
                 details={"message": group_request.decision_message})
    enqueue(send_request_mail, group_request.id, "network_request_declined",
            N_("Your request for %(group_name)s was declined"),
            {"message": group_request.decision_message})
    return group_request


def retry_request(*, group_request: GroupRequest, slug: str | None = None,
                  actor: User | None = None) -> GroupRequest:
    """Queue a failed request again, with a new wished address if ``slug`` is given.

    Raises :class:`NotRetryable` unless the request failed, and the slug errors of
    :func:`check_wished_slug` (checked again either way).
    """
    if group_request.status != GroupRequestStatus.FAILED:
        raise NotRetryable()
    group_request.slug = check_wished_slug(slug or group_request.slug,
                                           except_request_id=group_request.id)
    queue_provisioning(group_request=group_request)
    if actor is not None and actor.is_network_admin and actor.id != group_request.requester_id:
        audit.record(actor=actor, action="request.retry", target_type="group_request",
                     target_id=group_request.id, target_label=group_request.slug)
    return group_request


# --- the job's steps (see timebank.provisioning.jobs) -------------------------------------------


def _locked(request_id: int) -> GroupRequest | None:
    return db.session.scalar(
        sa.select(GroupRequest)
        .where(GroupRequest.id == request_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    )


def claim_request(*, request_id: int) -> GroupRequest | None:
    """Lock a queued (or failed) request and mark it running; return None if there is
    nothing to do (done already, running elsewhere, declined, gone)."""
    group_request = _locked(request_id)
    if group_request is None or group_request.status not in (
        GroupRequestStatus.QUEUED, GroupRequestStatus.FAILED
    ):
        return None
    group_request.status = GroupRequestStatus.RUNNING
    group_request.attempts += 1
    group_request.progress = 10
    group_request.error = None
    group_request.started_at = utcnow()
    db.session.flush()
    return group_request


def default_welcome(group_request: GroupRequest) -> str:
    """Return the welcome text of a new group's home page, in the group's language."""
    with force_locale(group_request.default_locale):
        if group_request.place:
            return _("Welcome to %(name)s! We are neighbours in %(place)s who trade time: an "
                     "hour of help is worth an hour, whoever gives it.",
                     name=group_request.name, place=group_request.place)
        return _("Welcome to %(name)s! We are neighbours who trade time: an hour of help is "
                 "worth an hour, whoever gives it.", name=group_request.name)


def provision_claimed(*, request_id: int, attempt: int) -> Group | None:
    """Create the group of a request claimed by :func:`claim_request` (attempt ``attempt``).

    Locks the request again; if another run took over (a different attempt) or finished it,
    returns None and changes nothing. Raises what
    :func:`~timebank.provisioning.service.create_group` raises (nothing is written then).
    """
    group_request = _locked(request_id)
    if (
        group_request is None
        or group_request.status != GroupRequestStatus.RUNNING
        or group_request.attempts != attempt
    ):
        return None
    requester = db.session.get(User, group_request.requester_id or 0)
    if requester is None:
        raise RequestError()
    group = create_group(
        name=group_request.name,
        slug=group_request.slug,
        default_locale=group_request.default_locale,
        timezone=group_request.timezone,
        place=group_request.place,
        description=group_request.description or default_welcome(group_request),
        coordinator_email=requester.email,
        coordinator_name=requester.name,
        join_policy=JoinPolicy.APPROVAL,
    )
    group_request.group_id = group.id
    group_request.status = GroupRequestStatus.DONE
    group_request.progress = 100
    group_request.finished_at = utcnow()
    db.session.flush()
    audit.record(actor=None, action="group.provision", target=group,
                 details={"request_id": group_request.id})
    _tell_coordinator(group_request, group, requester)
    return group


def _tell_coordinator(group_request: GroupRequest, group: Group, requester: User) -> None:
    from timebank.mail import send_templated_mail
    from timebank.tasks import enqueue
    from timebank.tenants.urls import group_url

    enqueue(send_templated_mail, requester.id, "network_group_ready",
            N_("Your timebank %(group_name)s is ready"),
            {"group_name": group.name, "group_slug": group.slug,
             "link": group_url(group.slug, "/login?next=/dashboard")},
            group_id=group.id)


def _fail(group_request: GroupRequest, error: str) -> None:
    from timebank.provisioning.jobs import send_request_mail
    from timebank.tasks import enqueue

    group_request.status = GroupRequestStatus.FAILED
    group_request.error = error[:2000]
    group_request.finished_at = utcnow()
    db.session.flush()
    enqueue(send_request_mail, group_request.id, "network_request_failed",
            N_("We could not create %(group_name)s yet"), {})


def record_failure(*, request_id: int, error: BaseException | str) -> GroupRequest | None:
    """Mark a request failed with ``error`` (stored as the error's class name when it is one
    the requester can act on, else as its text) and email the requester."""
    group_request = _locked(request_id)
    if group_request is None or group_request.status == GroupRequestStatus.DONE:
        return group_request
    if isinstance(error, BaseException):
        name = type(error).__name__
        error = name if name in KNOWN_FAILURES else f"{name}: {error}"
    _fail(group_request, error)
    return group_request

