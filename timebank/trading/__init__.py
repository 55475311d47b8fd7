"""Trade between groups: who trades with whom, within which bounds, and where a group stands.

The payments themselves are the ledger's (:mod:`timebank.ledger.intergroup`); this feature
holds the settings coordinators and network admins choose (:mod:`.service`) and the figures
they read (:mod:`.positions`).
"""
