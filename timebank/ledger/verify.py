"""Check the ledger invariants of DESIGN.md across every group.

Used by ``flask ledger verify`` (exit status 1 when anything is wrong) and by the test suite
after every test. Reads with plain SQL across all groups on purpose: this is the network-wide
auditor, so it must not be narrowed by tenant scoping.
"""

from dataclasses import dataclass

import sqlalchemy as sa

from timebank.extensions import db


@dataclass(frozen=True)
class Problem:
    """One broken invariant: which rule, and the row it was found on."""

    rule: str
    detail: str

    def __str__(self) -> str:
        return f"{self.rule}: {self.detail}"


# Each check is (rule name, SQL returning one row per offence, how to describe a row).
CHECKS: list[tuple[str, str, str]] = [
    (
        "completed transfer entries sum to zero",
        """SELECT t.group_id, t.id, COALESCE(SUM(e.amount), 0) AS total, COUNT(e.id) AS n
             FROM transfers t LEFT JOIN entries e ON e.transfer_id = t.id
            WHERE t.state = 'completed'
            GROUP BY t.group_id, t.id
           HAVING COALESCE(SUM(e.amount), 0) <> 0 OR COUNT(e.id) < 2""",
        "group {0} transfer {1}: entries sum to {2} over {3} entries",
    ),
    (
        "pending and cancelled transfers have no entries",
        """SELECT t.group_id, t.id, t.state, COUNT(e.id)
             FROM transfers t JOIN entries e ON e.transfer_id = t.id
            WHERE t.state <> 'completed'
            GROUP BY t.group_id, t.id, t.state""",
        "group {0} transfer {1} is {2} but has {3} entries",
    ),
    (
        "completed transfer moves its amount from payer to payee",
        """SELECT t.group_id, t.id
             FROM transfers t
            WHERE t.state = 'completed'
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
            WHERE a.currency_id <> t.currency_id""",
        "group {0} entry {1} of transfer {2} is on an account in another currency",
    ),
    (
        "cached balance equals the sum of entries",
        """SELECT a.group_id, a.id, a.balance, COALESCE(s.total, 0)
             FROM accounts a
             LEFT JOIN (SELECT account_id, SUM(amount) AS total FROM entries
                        GROUP BY account_id) s ON s.account_id = a.id
            WHERE a.balance <> COALESCE(s.total, 0)""",
        "group {0} account {1}: cached balance {2}, entries sum to {3}",
    ),
    (
        "every currency's balances sum to zero",
        """SELECT c.group_id, c.code, SUM(a.balance)
             FROM currencies c JOIN accounts a ON a.currency_id = c.id
            GROUP BY c.group_id, c.id, c.code
           HAVING SUM(a.balance) <> 0""",
        "group {0} currency {1}: balances sum to {2}",
    ),
]


def verify_ledger() -> list[Problem]:
    """Return every broken invariant in every group (an empty list means the ledger is sound)."""
    problems: list[Problem] = []
    for rule, sql, template in CHECKS:
        for row in db.session.execute(sa.text(sql)):
            problems.append(Problem(rule, template.format(*row)))
    return problems
