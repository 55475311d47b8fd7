"""Moving a group's data in and out: export as a ZIP of CSV and JSON, import from CSV.

* :mod:`.export` — what goes in the ZIP, built by :mod:`timebank.portability.jobs`;
* :mod:`.importer` — reading another platform's CSV (or our own export), a dry-run report,
  then an atomic import through the ledger service;
* :mod:`.formats` — amounts, dates and CSV cells, shared by both.
"""
