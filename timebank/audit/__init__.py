"""The group's audit trail: who did which administrative act, when, before and after.

:func:`timebank.audit.service.record` writes an event; services call it for every
administrative act. Ledger acts written by the ledger service (on-behalf entries, reversals,
bulk entries, issuance, limit changes) are recorded by :mod:`timebank.audit.ledger_hooks`,
which watches the rows the ledger writes, so no path that writes them can skip the trail.
"""
