"""Every recurring job, for one scheduler process: ``rq cron timebank.cron --url "$REDIS_URL"``.

Each feature keeps its own schedule next to its code; importing them registers them all.
"""

import timebank.ledger.cron  # noqa: F401  nightly ledger verify
import timebank.marketplace.cron  # noqa: F401  digests, ad expiry and reminders
import timebank.notices.cron  # noqa: F401  the daily digest of notices
import timebank.provisioning.cron  # noqa: F401  the network console's figures
import timebank.schedules.cron  # noqa: F401  standing orders, membership fees, demurrage
