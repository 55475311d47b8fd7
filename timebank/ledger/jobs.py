"""Recurring ledger jobs: the nightly check of every invariant (``rq cron``, see
:mod:`timebank.ledger.cron`)."""

import logging

import sqlalchemy as sa

from timebank.extensions import db
from timebank.i18n import N_
from timebank.ledger.verify import verify_ledger
from timebank.mail import send_templated_mail
from timebank.models import User

log = logging.getLogger(__name__)
SUBJECT = N_("Ledger check failed: %(count)s problems")
MAILED_PROBLEMS = 100  # the mail lists this many; `flask ledger verify` prints them all


def nightly_verify() -> int:
    """Job: check every ledger invariant in every group; email the network admins if any is
    broken. Returns the number of problems found (0 = sound, nobody is mailed)."""
    problems = verify_ledger()
    if not problems:
        log.info("ledger verify: every invariant holds")
        return 0
    log.error("ledger verify: %d problems", len(problems))
    admins = db.session.scalars(sa.select(User).where(User.is_network_admin)).all()
    context = {
        "count": len(problems),
        "problems": [str(problem) for problem in problems[:MAILED_PROBLEMS]],
        "more": max(0, len(problems) - MAILED_PROBLEMS),
    }
    for admin in admins:
        send_templated_mail(admin.id, "ledger_verify_failed", SUBJECT, context)
    return len(problems)
