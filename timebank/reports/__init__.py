"""Reports for coordinators and network admins (issue 20): figures over a date range, read
from the ledger in SQL (:mod:`timebank.reports.figures`), as CSV and PDF
(:mod:`timebank.reports.export`). Not to be confused with :mod:`timebank.ledger.reports`, which
reads statements."""
