"""A group's offers and wants followable from the fediverse (issue 19), as a feature.

* :mod:`~timebank.federation.service` — whether the group publishes, its actor's key pair, its
  followers;
* :mod:`~timebank.federation.signatures` — HTTP signatures as Mastodon signs and checks them
  (draft-cavage-http-signatures-12, ``rsa-sha256``);
* :mod:`~timebank.federation.remote` — fetching a remote actor (public hosts only) and checking
  that a request to the inbox was signed by the actor it names;
* :mod:`~timebank.federation.activities` — the ActivityStreams 2.0 documents the group sends;
* :mod:`~timebank.federation.jobs` — delivering a signed activity to an inbox (an rq job).

The HTTP endpoints (WebFinger, actor, outbox, inbox) are in :mod:`timebank.api.activitypub`.
"""
