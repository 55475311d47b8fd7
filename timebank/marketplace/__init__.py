"""The marketplace: ads (offers and wants), search, matching, favourites and private messages.

* :mod:`~timebank.marketplace.service` writes ads, categories, favourites and settings;
* :mod:`~timebank.marketplace.messaging` writes conversations, messages, blocks and reports;
* :mod:`~timebank.marketplace.search` finds ads (full-text plus trigram similarity);
* :mod:`~timebank.marketplace.matching` pairs wants with offers;
* :mod:`~timebank.marketplace.photos` checks, resizes and stores ad photos;
* :mod:`~timebank.marketplace.rendering` turns ad Markdown into sanitized HTML.

Services take keyword-only arguments, raise :class:`~timebank.marketplace.errors.MarketplaceError`
subclasses and never commit.
"""
