"""Jobs: deliver a signed activity to an inbox.

:func:`deliver` runs with the group restored (``enqueue(deliver, inbox, body,
group_id=...)``), after the transaction that decided to send commits. A refusal or a network
error raises :class:`DeliveryFailed`, so the queue records the job as failed.
"""

import json

import requests
from flask import current_app

from timebank.federation import service
from timebank.federation.remote import ACTIVITY_JSON, TIMEOUT, RemoteError, check_url
from timebank.federation.signatures import sign
from timebank.tasks import enqueue


class DeliveryFailed(Exception):
    """An inbox refused an activity or could not be reached."""


def deliver(inbox_url: str, body: str) -> int:
    """Job: POST the activity ``body`` (JSON text) to ``inbox_url``, signed with the current
    group actor's key; return the inbox's status code. Raises :class:`DeliveryFailed`."""
    keys = service.key_pair()
    if keys is None:
        return 0  # the group never published: it has nothing to sign with
    try:
        check_url(inbox_url)
    except RemoteError as error:
        raise DeliveryFailed(str(error)) from error
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
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"{inbox_url} answered {response.status_code}.")
    current_app.logger.info("delivered to %s: %s", inbox_url, response.status_code)
    return response.status_code


def send(activity: dict, inboxes: list[str], *, group_id: int) -> None:
    """Enqueue one :func:`deliver` job per inbox (they leave when the transaction commits)."""
    body = json.dumps(activity, separators=(",", ":"))
    for inbox in inboxes:
        enqueue(deliver, inbox, body, group_id=group_id)
