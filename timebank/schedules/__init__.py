"""Money that moves by itself: standing orders, the membership fee and demurrage.

* :mod:`.periods` — when things are due (month ends, weeks, years);
* :mod:`.service` — standing orders (create, cancel, list), the treasurer's fee and demurrage
  settings, and the next demurrage charge a member's dashboard shows;
* :mod:`.jobs` — the scheduled runs, each exactly once per period (``rq cron``: :mod:`.cron`).

Every movement is an ordinary transfer written by the ledger's own function
(``ledger_transfer`` through :mod:`timebank.ledger.transfers`), so limits apply.
"""
