"""Check the ledger invariants of DESIGN.md across every group.

Used by ``flask ledger verify`` (exit status 1 when anything is wrong), by the nightly
``rq cron`` job (:mod:`timebank.ledger.jobs`) and by the test suite after every test. Reads
with plain SQL across all groups on purpose: this is the network-wide auditor, so it must not
be narrowed by tenant scoping (one group's report excepted: :func:`verify_ledger`).

Beyond the double-entry rules (and the totals the ledger keeps: each account's cached balance,
each entry's balance after it, each account's monthly totals) it checks issued currencies
(holders never below zero, the issuer never above it, issuance only from the issuer), reversals
(the exact opposite of a completed transfer), levies (paid to the pot by a side of a completed
transfer, reversed with it) and limits: no transfer other than a reversal took an account below
the floor or above the ceiling in force when it was written (a levy's entries included). The
limits in force at any moment are rebuilt from ``limit_changes``, so a balance left outside a
lowered limit is explained and a limit broken by a transfer is not.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from timebank.extensions import db
from timebank.tenants import all_groups, group_context


@dataclass(frozen=True)
class Problem:
    """One broken invariant: which rule, and the row it was found on."""

    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


# Each check is (rule name, SQL returning one row per offence, how to describe a row). A check
# of one group's rows marks each scan with ``{in_group:ALIAS}`` (see :class:`_InGroup`).
CHECKS: list[tuple[str, str, str]] = [
    (
        "completed transfer entries sum to zero",
        """SELECT t.group_id, t.id, COALESCE(SUM(e.amount), 0) AS total, COUNT(e.id) AS n
             FROM transfers t LEFT JOIN entries e ON e.transfer_id = t.id
            WHERE t.state = 'completed' AND {in_group:t}
            GROUP BY t.group_id, t.id
           HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) < 2""",
        "group {0} transfer {1}: entries sum to {2} over {3} entries",
    ),
    (
        "pending and cancelled transfers have no entries",
        """SELECT t.group_id, t.id, t.state, COUNT(e.id)
             FROM transfers t JOIN entries e ON e.transfer_id = t.id
            WHERE t.state <> 'completed' AND {in_group:t}
            GROUP BY t.group_id, t.id, t.state""",
        "group {0} transfer {1} is {2} but has {3} entries",
    ),
    (
        "completed transfer moves its amount from payer to payee",
        """SELECT t.group_id, t.id
             FROM transfers t
            WHERE t.state = 'completed' AND {in_group:t}
              AND (COALESCE((SELECT SUM(amount) FROM entries e
                             WHERE e.transfer_id = t.id AND e.account_id = t.payee_account_id), 0)
                   <> t.amount)
              AND t.kind <> 'bulk'""",
        "group {0} transfer {1}: payee entries differ from the amount",
    ),
    (
        "entries stay in their transfer's currency",
        """SELECT e.group_id, e.id, e.transfer_id
             FROM entries e
             JOIN transfers t ON t.id = e.transfer_id
             JOIN accounts a ON a.id = e.account_id
            WHERE a.currency_id <> t.currency_id AND {in_group:e}""",
        "group {0} entry {1} of transfer {2} is on an account in another currency",
    ),
    (
        "cached balance equals the sum of entries",
        """SELECT a.group_id, a.id, a.balance, COALESCE(s.total, 0)
             FROM accounts a
             LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM entries
                         WHERE {in_group:entries}
                        GROUP BY account_id) s ON s.account_id = a.id
            WHERE a.balance <> COALESCE(s.total, 0) AND {in_group:a}""",
        "group {0} account {1}: cached balance {2}, entries sum to {3}",
    ),
    (
        "each entry's balance_after is its account's running sum by entry id",
        """SELECT r.group_id, r.id, r.account_id, r.balance_after, r.running
             FROM (SELECT group_id, id, account_id, balance_after,
                          SUM(amount) OVER (PARTITION BY account_id ORDER BY id) AS running
                     FROM entries WHERE {in_group:entries}) r
            WHERE r.balance_after IS DISTINCT FROM r.running""",
        "group {0} entry {1} on account {2}: balance_after {3}, running sum {4}",
    ),
    (
        # Kept by ledger_write_legs, months in the group's time zone (rebuilt when it changes).
        "each account's monthly totals equal its entries' sums by month",
        """WITH summed AS (
               SELECT e.group_id, e.account_id,
                      CAST(date_trunc('month', timezone(coalesce(nullif(g.timezone, ''), 'UTC'),
                                                        e.created_at)) AS date) AS month,
                      coalesce(sum(e.amount) FILTER (WHERE e.amount > 0), 0) AS incoming,
                      coalesce(-sum(e.amount) FILTER (WHERE e.amount < 0), 0) AS outgoing,
                      count(*) AS entry_count
                 FROM entries e JOIN groups g ON g.id = e.group_id
                WHERE {in_group:e}
                GROUP BY 1, 2, 3)
           SELECT coalesce(k.group_id, s.group_id) AS group_id,
                  coalesce(k.account_id, s.account_id), coalesce(k.month, s.month),
                  k.incoming, k.outgoing, k.entry_count, s.incoming, s.outgoing, s.entry_count
             FROM (SELECT * FROM account_months WHERE {in_group:account_months}) k
             FULL JOIN summed s ON s.group_id = k.group_id AND s.account_id = k.account_id
                               AND s.month = k.month
            WHERE (k.incoming, k.outgoing, k.entry_count)
                  IS DISTINCT FROM (s.incoming, s.outgoing, s.entry_count)""",
        "group {0} account {1} month {2}: kept in {3}, out {4}, {5} entries;"
        " the entries say in {6}, out {7}, {8} entries",
    ),
    (
        "every currency's balances sum to zero",
        """SELECT c.group_id, c.code, SUM(a.balance)
             FROM currencies c JOIN accounts a ON a.currency_id = c.id
            WHERE {in_group:c}
            GROUP BY c.group_id, c.id, c.code
           HAVING SUM(a.balance) <> 0""",
        "group {0} currency {1}: balances sum to {2}",
    ),
]



def _limit_at(column: str, scope: str) -> str:
    """SQL for the value of limit ``column`` (min/max_balance) in force at ``r.created_at``.

    ``scope`` selects the limit_changes rows (an account's, or its currency's defaults). With
    a change at or before the moment: its new value; else, with later changes: the first
    one's old value; else the current value.
    """
    current = f"a.{column}" if scope == "account" else f"c.default_{column}"
    where = (
        "lc.account_id = a.id" if scope == "account"
        else "lc.account_id IS NULL AND lc.currency_id = c.id"
    )
    return f"""CASE
        WHEN EXISTS (SELECT 1 FROM limit_changes lc WHERE {where}
                      AND lc.created_at <= r.created_at)
        THEN (SELECT lc.new_{column} FROM limit_changes lc WHERE {where}
               AND lc.created_at <= r.created_at
             ORDER BY lc.created_at DESC, lc.id DESC LIMIT 1)
        WHEN EXISTS (SELECT 1 FROM limit_changes lc WHERE {where})
        THEN (SELECT lc.old_{column} FROM limit_changes lc WHERE {where}
             ORDER BY lc.created_at, lc.id LIMIT 1)
        ELSE {current} END"""


LIMITS_SQL = f"""
WITH running AS (
    SELECT e.group_id, e.account_id, e.amount, e.created_at, t.id AS transfer_id, t.kind,
           SUM(e.amount) OVER (PARTITION BY e.account_id ORDER BY e.id) AS after
      FROM entries e JOIN transfers t ON t.id = e.transfer_id
     WHERE {{in_group:e}}
), limits AS (
    SELECT r.*, a.is_issuer, c.kind AS currency_kind,
           {_limit_at("min_balance", "account")} AS account_min,
           {_limit_at("min_balance", "currency")} AS default_min,
           {_limit_at("max_balance", "account")} AS account_max,
           {_limit_at("max_balance", "currency")} AS default_max
      FROM running r
      JOIN accounts a ON a.id = r.account_id
      JOIN currencies c ON c.id = a.currency_id
     WHERE r.kind <> 'reversal'
), effective AS (
    -- The same rules the ledger enforces (timebank/ledger/sql/ledger_floor.sql, _ceiling.sql),
    -- applied to the limits in force when each entry was written.
    SELECT l.*,
           ledger_floor(l.is_issuer, l.currency_kind, l.account_min, l.default_min) AS floor,
           ledger_ceiling(l.account_max, l.default_max) AS ceiling
      FROM limits l
)
SELECT group_id, transfer_id, account_id, after, floor, ceiling
  FROM effective
 WHERE (amount < 0 AND floor IS NOT NULL AND after < floor)
    OR (amount > 0 AND ceiling IS NOT NULL AND after > ceiling)
"""

CHECKS += [
    (
        "issued currencies: no holder but the issuer goes below zero",
        """SELECT a.group_id, a.id, c.code, a.balance
             FROM accounts a JOIN currencies c ON c.id = a.currency_id
            WHERE c.kind = 'issued' AND NOT a.is_issuer AND a.balance < 0 AND {in_group:a}""",
        "group {0} account {1} holds {3} of issued currency {2}",
    ),
    (
        "issued currencies: the issuer's balance is minus what is in circulation",
        """SELECT a.group_id, a.id, c.code, a.balance
             FROM accounts a JOIN currencies c ON c.id = a.currency_id
            WHERE a.is_issuer AND (c.kind <> 'issued' OR a.balance > 0) AND {in_group:a}""",
        "group {0} issuer account {1} of {2} has balance {3}",
    ),
    (
        "issuance comes from the issuer account of an issued currency",
        """SELECT t.group_id, t.id
             FROM transfers t
             JOIN accounts a ON a.id = t.payer_account_id
             JOIN currencies c ON c.id = t.currency_id
            WHERE t.kind = 'issuance' AND (NOT a.is_issuer OR c.kind <> 'issued')
              AND {in_group:t}""",
        "group {0} transfer {1} is an issuance not paid by the issuer",
    ),
    (
        "a reversal is the exact opposite of a completed transfer",
        """SELECT r.group_id, r.id, o.id
             FROM transfers r JOIN transfers o ON o.id = r.reverses_id
            WHERE {in_group:r}
              AND (r.state <> 'completed' OR o.state <> 'completed' OR o.kind = 'reversal'
                   OR r.amount <> o.amount OR r.currency_id <> o.currency_id
                   OR r.payer_account_id <> o.payee_account_id
                   OR r.payee_account_id <> o.payer_account_id)""",
        "group {0} reversal {1} does not mirror transfer {2}",
    ),
    (
        "no transfer broke a limit in force when it was written",
        LIMITS_SQL,
        "group {0} transfer {1} left account {2} at {3} (floor {4}, ceiling {5})"
        " with no limit change to explain it",
    ),
]


# Levies (timebank/ledger/levies.py): each is its own completed transfer from a side of a
# completed transfer between members to the community pot, and is reversed exactly when that
# transfer is.
CHECKS += [
    (
        "a levy is paid to the community pot by a side of a completed transfer",
        """SELECT l.group_id, l.id, l.levied_on_id
             FROM transfers l
             LEFT JOIN transfers o ON o.id = l.levied_on_id
             JOIN accounts pot ON pot.id = l.payee_account_id
            WHERE l.kind = 'levy' AND {in_group:l}
              AND (o.id IS NULL OR o.state <> 'completed' OR l.state <> 'completed'
                   OR o.kind NOT IN ('payment', 'request', 'on_behalf', 'bulk', 'standing_order')
                   OR l.currency_id <> o.currency_id
                   OR l.payer_account_id NOT IN (o.payer_account_id, o.payee_account_id)
                   OR pot.kind <> 'group' OR pot.is_issuer OR pot.is_clearing)""",
        "group {0} levy {1} on transfer {2} is not a completed levy to the pot by its side",
    ),
    (
        "a levy is reversed exactly when its transfer is",
        """SELECT l.group_id, l.id, l.levied_on_id
             FROM transfers l
            WHERE l.kind = 'levy' AND {in_group:l}
              AND EXISTS (SELECT 1 FROM transfers r WHERE r.reverses_id = l.levied_on_id)
                  <> EXISTS (SELECT 1 FROM transfers r WHERE r.reverses_id = l.id)""",
        "group {0} levy {1}: reversed without transfer {2}, or not with it",
    ),
]


# Between groups (timebank/ledger/intergroup.py): each payment's two legs move together, through
# the two groups' clearing accounts, and keep less than one of the payee's subunits; over the
# network the clearing accounts, in network seconds, sum to what the conversions kept.
CHECKS += [
    (
        "between groups: a payment's two legs agree",
        """SELECT p.payer_group_id AS group_id, p.id
             FROM intergroup_payments p
             JOIN transfers a ON a.id = p.payer_transfer_id
             JOIN transfers b ON b.id = p.payee_transfer_id
             JOIN accounts ca ON ca.id = a.payee_account_id
             JOIN accounts cb ON cb.id = b.payer_account_id
             JOIN currencies cur ON cur.id = b.currency_id
            WHERE a.state <> b.state OR NOT ca.is_clearing OR NOT cb.is_clearing
               OR (p.reverses_id IS NULL
                   AND (p.rounding < 0 OR p.rounding >= ledger_network_seconds(
                            1, cur.hour_value, cur.subunits_per_unit)))""",
        "group {0} inter-group payment {1}: its legs disagree or it kept too much",
    ),
    (
        "between groups: clearing accounts sum to zero in network hours (less the rounding)",
        """SELECT NULL::integer AS group_id, s.total, r.total
             FROM (SELECT coalesce(sum(ledger_network_seconds(
                              a.balance, c.hour_value, c.subunits_per_unit)), 0) AS total
                     FROM accounts a JOIN currencies c ON c.id = a.currency_id
                    WHERE a.is_clearing) s,
                  (SELECT coalesce(sum(p.rounding), 0) AS total
                     FROM intergroup_payments p
                     JOIN transfers t ON t.id = p.payee_transfer_id
                    WHERE t.state = 'completed') r
            WHERE s.total <> r.total""",
        "network: clearing accounts hold {1} network seconds, the conversions kept {2}",
    ),
]


# The checks that read rows of several groups (a payment between groups has a leg in each).
ACROSS_GROUPS = frozenset({
    "between groups: a payment's two legs agree",
    "between groups: clearing accounts sum to zero in network hours (less the rounding)",
})


class _InGroup:
    """What ``{in_group:ALIAS}`` in a check's SQL becomes: ``ALIAS.group_id = :group_id`` when
    one group is verified, so each scan reads that group's rows through a ``group_id`` index
    however large the network; ``TRUE`` when the whole network is."""

    def __init__(self, one_group: bool) -> None:
        self.one_group = one_group

    def __format__(self, alias: str) -> str:
        return f"{alias}.group_id = :group_id" if self.one_group else "TRUE"


def verify_ledger(*, group_id: int | None = None) -> list[Problem]:
    """Return every broken invariant (an empty list means the ledger is sound).

    Every group by default; ``group_id`` narrows the report to one group. Then each check's
    scans are filtered to the group (``{in_group:ALIAS}`` in its SQL), so a network admin's
    "verify" of a group, or the check after an import, costs what the group's size does, not
    the network's; any row of the group references rows of its own group only (the tenant
    foreign keys). Those checks also run in the group's context (row-level security), and
    their rows are filtered by ``group_id`` once more; the checks of :data:`ACROSS_GROUPS`
    read the network, and only that last filter narrows them.
    """
    problems: list[Problem] = []
    in_group = _InGroup(group_id is not None)
    for rule, sql, template in CHECKS:
        if group_id is None or rule in ACROSS_GROUPS:
            scope = all_groups()
        else:
            scope = group_context(group_id)
        sql = sql.format(in_group=in_group)
        if group_id is not None:
            sql = f"SELECT * FROM ({sql}) AS checked WHERE checked.group_id = :group_id"
        with scope:
            for row in db.session.execute(sa.text(sql), {"group_id": group_id}):
                problems.append(Problem(rule, template.format(*row)))
    return problems
