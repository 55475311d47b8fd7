"""Jobs: deliver a signed activity to an inbox, retried with backoff while the inbox is down.

:func:`deliver` runs with the group restored (``enqueue(deliver, inbox, body,
group_id=..., retry=...)``), after the transaction that decided to send commits. A failure
that may pass (no connection, a timeout, a 5xx, a 429) raises :class:`DeliveryFailed`, and the
queue runs the job again after each of ``FEDERATION_DELIVERY_RETRY_INTERVALS`` (seconds, from
the configuration); after the last it stays failed. A refusal that would not change (any
other 4xx, an inbox this server may not send to) is logged and ends the job: retrying cannot
help.
"""

import json

import requests
from flask import current_app
from rq import Retry

from timebank.federation import service
from timebank.federation.remote import ACTIVITY_JSON, TIMEOUT, RemoteError, check_url
from timebank.federation.signatures import sign
from timebank.tasks import enqueue


class DeliveryFailed(Exception):
    """An inbox could not be reached or answered with an error that may pass (5xx, 429)."""


def _is_permanent_refusal(status: int) -> bool:
    """Whether an inbox's answer ``status`` refuses the activity for good: a 4xx but 429
    (too many requests, which asks to come back later)."""
    return 400 <= status < 500 and status != 429


def deliver(inbox_url: str, body: str) -> int:
    """Job: POST the activity ``body`` (JSON text) to ``inbox_url``, signed with the current
    group actor's key; return the inbox's status code (0: nothing was sent).

    Raises :class:`DeliveryFailed` when the delivery should be tried again (see the module's
    docstring); returns the status of a permanent refusal after logging it.
    """
    keys = service.key_pair()
    if keys is None:
        return 0  # the group never published: it has nothing to sign with
    try:
        check_url(inbox_url)
    except RemoteError as error:
        current_app.logger.warning("not delivering to %s: %s", inbox_url, error)
        return 0
    data = body.encode()
    headers = {"Content-Type": ACTIVITY_JSON, "Accept": ACTIVITY_JSON,
               "User-Agent": "Timebank (ActivityPub)",
               **sign(method="POST", url=inbox_url, body=data, key_id=service.key_id(),
                      private_key_pem=keys[1])}
    try:
        response = requests.post(inbox_url, data=data, headers=headers, timeout=TIMEOUT,
                                 allow_redirects=False)
    except requests.RequestException as error:
        raise DeliveryFailed(f"{inbox_url} could not be reached.") from error
    if _is_permanent_refusal(response.status_code):
        current_app.logger.warning("%s refused the activity: %s", inbox_url,
                                   response.status_code)
    elif not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"{inbox_url} answered {response.status_code}.")
    else:
        current_app.logger.info("delivered to %s: %s", inbox_url, response.status_code)
    return response.status_code


def delivery_retry() -> Retry:
    """The retries of a delivery: one after each of ``FEDERATION_DELIVERY_RETRY_INTERVALS``."""
    intervals = current_app.config["FEDERATION_DELIVERY_RETRY_INTERVALS"]
    return Retry(max=len(intervals), interval=intervals)


def send(activity: dict, inboxes: list[str], *, group_id: int) -> None:
    """Enqueue one :func:`deliver` job per inbox, retried (they leave when the transaction
    commits)."""
    body = json.dumps(activity, separators=(",", ":"))
    for inbox in inboxes:
        enqueue(deliver, inbox, body, group_id=group_id, retry=delivery_retry())
