"""Provisioning jobs: create the group a request asks for, and write to its requester.

:func:`provision_group` runs in three steps, each its own transaction through
:func:`timebank.boundary.run_in_transaction`, so the requester's status page can follow it: claim
the request (``running``), create the group and mark the request ``done``, or record the failure
and tell the requester. It is idempotent, keyed on the request id: the request row is locked at
each step, and a request that is done, or claimed by another run, is left alone. Two requests for
one address race on the ``groups.slug`` unique index: one group is made, the other request fails
with the reason.
"""

import logging

from flask import render_template
from flask_babel import force_locale, gettext

from timebank.boundary import run_in_transaction
from timebank.extensions import db
from timebank.mail import send_mail
from timebank.models import GroupRequest
from timebank.people.errors import PeopleError
from timebank.provisioning import requests
from timebank.provisioning.service import ProvisioningError

log = logging.getLogger(__name__)


def _claim(request_id: int) -> int | None:
    """Step: mark the request ``running``; return its attempt number (None: nothing to do)."""
    group_request = requests.claim_request(request_id=request_id)
    return None if group_request is None else group_request.attempts


def provision_group(request_id: int) -> None:
    """Job: provision the group of request ``request_id`` and email its coordinator."""
    attempt = run_in_transaction(_claim, request_id)  # the requester now sees "running"
    if attempt is None:
        log.info("request %s: nothing to provision", request_id)
        return
    try:
        run_in_transaction(requests.provision_claimed, request_id=request_id, attempt=attempt)
    except (ProvisioningError, PeopleError) as error:
        run_in_transaction(requests.record_failure, request_id=request_id, error=error)
        log.info("request %s failed: %s", request_id, type(error).__name__)
    except Exception as error:
        run_in_transaction(requests.record_failure, request_id=request_id, error=error)
        raise  # rq records the job as failed too, with the traceback


def send_request_mail(request_id: int, template: str, subject_key: str, context: dict) -> None:
    """Job: write to the requester of ``request_id`` in the language they used the site in.

    Renders ``mail/<template>.txt`` with ``group_request``, ``status_link`` and ``context``;
    ``subject_key`` is an untranslated msgid, translated here with ``group_name``.
    """
    from timebank.tenants.urls import network_url

    group_request = db.session.get(GroupRequest, request_id)
    if group_request is None:
        return
    context = {**context, "group_name": group_request.name,
               "status_link": network_url(f"/start/requests/{group_request.token}")}
    with force_locale(group_request.requester_locale or "en"):
        subject = gettext(subject_key, group_name=group_request.name)
        reason = requests.failure_message(group_request) if group_request.error else ""
        body = render_template(f"mail/{template}.txt", group_request=group_request,
                               reason=reason, **context)
    send_mail(group_request.requester_email, subject, body)


def check_all_ledgers() -> None:
    """Job: run ``ledger verify`` across the network and store each group's result (the
    console's health column)."""
    from timebank.provisioning.lifecycle import record_ledger_checks

    record_ledger_checks()
