"""Talking to other fediverse servers: fetch an actor's document, check who signed a request.

Only ``https`` URLs whose host resolves to public addresses are fetched (no request to this
machine or its network on a stranger's say-so); ``FEDERATION_ALLOW_PRIVATE_HOSTS`` lifts that
for tests and development, where the peer is on ``127.0.0.1``. Documents are read up to
:data:`MAX_DOCUMENT_BYTES`, with :data:`TIMEOUT`.
"""

import ipaddress
import json
import socket
from collections.abc import Mapping
from typing import NamedTuple
from urllib.parse import urldefrag, urlsplit

import requests
from flask import current_app

from timebank.federation.signatures import SignatureError, parse_signature, sign, verify

ACTIVITY_JSON = "application/activity+json"
ACCEPT = f'{ACTIVITY_JSON}, application/ld+json; profile="https://www.w3.org/ns/activitystreams"'
MAX_DOCUMENT_BYTES = 256 * 1024
TIMEOUT = (5, 10)  # seconds: to connect, to read
URL_MAX = 500


class RemoteError(Exception):
    """A remote document that could not be fetched or is not what was expected."""


class Signer(NamedTuple):
    """Who signs a fetch: the group actor's ``key_id`` (a URL) and private key (PEM)."""

    key_id: str
    private_key_pem: str


def _private_allowed() -> bool:
    return bool(current_app.config.get("FEDERATION_ALLOW_PRIVATE_HOSTS"))


def is_url(value: object) -> bool:
    """Whether ``value`` is an http(s) URL of at most :data:`URL_MAX` printable ASCII
    characters (what an actor's id must be to be stored)."""
    if not isinstance(value, str) or len(value) > URL_MAX or not value.isascii() \
            or not value.isprintable() or " " in value:
        return False
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError for a port out of range
        return parts.scheme in ("http", "https") and bool(parts.hostname)
    except ValueError:
        return False


def check_url(url: object) -> str:
    """Return ``url`` if this server may send a request to it, else raise :class:`RemoteError`:
    a URL (:func:`is_url`), ``https`` to a public address."""
    if not is_url(url):
        raise RemoteError("Not an http(s) URL.")
    parts = urlsplit(url)
    if _private_allowed():
        return url
    if parts.scheme != "https":
        raise RemoteError("Only https URLs are fetched.")
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(parts.hostname, parts.port or 443)}
    except (OSError, UnicodeError) as error:
        raise RemoteError("The host does not resolve.") from error
    if not addresses or any(not ipaddress.ip_address(a.split("%")[0]).is_global
                            for a in addresses):
        raise RemoteError("The host is not on the public internet.")
    return url


def fetch_document(url: str, *, signer: Signer | None) -> dict:
    """GET an ActivityStreams document, signed by ``signer`` when given (servers in
    "authorized fetch" mode ask for it). Reads nothing from the database: it is called with
    no transaction open. Raises :class:`RemoteError`."""
    url = check_url(urldefrag(check_url(url)).url)
    headers = {"Accept": ACCEPT, "User-Agent": "Timebank (ActivityPub)"}
    if signer is not None:
        headers.update(sign(method="GET", url=url, body=None, key_id=signer.key_id,
                            private_key_pem=signer.private_key_pem))
    try:
        with requests.get(url, headers=headers, timeout=TIMEOUT, stream=True,
                          allow_redirects=False) as response:
            if response.status_code != 200:
                raise RemoteError(f"{url} answered {response.status_code}.")
            body = response.raw.read(MAX_DOCUMENT_BYTES + 1, decode_content=True)
    except requests.RequestException as error:
        raise RemoteError(f"{url} could not be fetched.") from error
    if len(body) > MAX_DOCUMENT_BYTES:
        raise RemoteError(f"{url} is too large.")
    try:
        document = json.loads(body)
    except ValueError as error:
        raise RemoteError(f"{url} is not JSON.") from error
    if not isinstance(document, dict):
        raise RemoteError(f"{url} is not a JSON object.")
    return document


def _public_key(document: dict, key_id: str) -> dict:
    key = document.get("publicKey", document)
    if isinstance(key, list):
        key = next((k for k in key if isinstance(k, dict) and k.get("id") == key_id), None)
    if not isinstance(key, dict) or not isinstance(key.get("publicKeyPem"), str):
        raise RemoteError("The document holds no public key.")
    return key


def signing_actor(*, method: str, target: str, headers: Mapping[str, str], body: bytes,
                  actor: str, signer: Signer | None) -> dict:
    """Check that a request was signed by ``actor``'s key; return ``actor``'s document.

    Fetches the signature's ``keyId`` (for Mastodon, the actor's own document), signing the
    fetch with ``signer`` (see :func:`fetch_document`). Raises
    :class:`~timebank.federation.signatures.SignatureError` (unsigned, malformed, stale,
    wrong, or signed by another actor's key) or :class:`RemoteError` (the key could not be
    fetched).
    """
    key_id = parse_signature(headers.get("signature"))["keyId"]
    document = fetch_document(key_id, signer=signer)
    key = _public_key(document, key_id)
    owner = key.get("owner") or document.get("id")
    if owner != actor:
        raise SignatureError("The request is signed by another actor's key.")
    verify(method=method, target=target, headers=headers, body=body,
           public_key_pem=key["publicKeyPem"])
    return document if document.get("id") == actor else fetch_document(actor, signer=signer)


def inbox_of(actor_document: dict) -> str:
    """The inbox to deliver to: the actor's shared inbox if it has one. Raises
    :class:`RemoteError` when it names none this server may send to."""
    endpoints = actor_document.get("endpoints")
    shared = endpoints.get("sharedInbox") if isinstance(endpoints, dict) else None
    return check_url(shared or actor_document.get("inbox"))
