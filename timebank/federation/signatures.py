"""HTTP signatures as the fediverse uses them: draft-cavage-http-signatures-12 with
``rsa-sha256`` (what Mastodon sends and expects), on top of the ``cryptography`` library.

What is signed, in order: ``(request-target)`` (the lower-case method and the path), ``host``,
``date`` and, with a body, ``digest`` (``SHA-256=`` and the base64 of the body's SHA-256). The
``Signature`` header carries ``keyId`` (the actor's key URL), the algorithm, the names of the
signed headers and the base64 RSASSA-PKCS1-v1_5 SHA-256 signature of their lines.
No library on PyPI that is kept up covers this draft (``requests-http-signature`` and
``http-message-signatures`` follow its successor, RFC 9421, which Mastodon only begins to
accept), hence these few lines.
"""

import base64
import hashlib
import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime, parsedate_to_datetime
from urllib.parse import urlsplit

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

KEY_BITS = 2048
MAX_SKEW = timedelta(hours=12)  # Mastodon's window for a request's Date
ALGORITHMS = ("rsa-sha256", "hs2019")  # hs2019: the algorithm is the key's (RSA here)
_PARAMETER = re.compile(r'\s*([a-zA-Z]+)="([^"]*)"\s*(?:,|$)')


class SignatureError(Exception):
    """A request whose signature is missing, malformed, stale or wrong."""


def new_key_pair() -> tuple[str, str]:
    """Make an RSA key pair; return (public key, private key), both PEM text."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo)
    return public.decode(), private.decode()


def digest(body: bytes) -> str:
    """The ``Digest`` header of ``body``: ``SHA-256=<base64>`` (RFC 3230)."""
    return "SHA-256=" + base64.b64encode(hashlib.sha256(body).digest()).decode()


def _signing_text(method: str, target: str, headers: Mapping[str, str], names: list[str]) -> str:
    lines = []
    for name in names:
        if name == "(request-target)":
            lines.append(f"(request-target): {method.lower()} {target}")
        elif headers.get(name) is None:
            raise SignatureError(f"The signed header {name} is missing.")
        else:
            lines.append(f"{name}: {headers.get(name)}")
    return "\n".join(lines)


def sign(*, method: str, url: str, body: bytes | None, key_id: str,
         private_key_pem: str) -> dict[str, str]:
    """Return the headers that sign a request: ``Host``, ``Date``, ``Digest`` (with a body)
    and ``Signature``. ``key_id`` is the URL of the signer's public key."""
    parts = urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    headers = {"host": parts.netloc, "date": format_datetime(datetime.now(UTC), usegmt=True)}
    names = ["(request-target)", "host", "date"]
    if body is not None:
        headers["digest"] = digest(body)
        names.append("digest")
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    text = _signing_text(method, target, headers, names).encode()
    signature = base64.b64encode(key.sign(text, padding.PKCS1v15(), hashes.SHA256())).decode()
    headers["signature"] = (f'keyId="{key_id}",algorithm="rsa-sha256",'
                            f'headers="{" ".join(names)}",signature="{signature}"')
    return {name.title(): value for name, value in headers.items()}


def parse_signature(header: str | None) -> dict[str, str]:
    """The parameters of a ``Signature`` header (``keyId``, ``headers``, ``signature``…).

    Raises :class:`SignatureError` when it is missing or is not a list of ``name="value"``.
    """
    if not header or len(header) > 4096:
        raise SignatureError("The request is not signed.")
    params, position = {}, 0
    while position < len(header):
        match = _PARAMETER.match(header, position)
        if match is None:
            raise SignatureError("The Signature header is malformed.")
        params[match.group(1)] = match.group(2)
        position = match.end()
    if not params.get("keyId") or not params.get("signature"):
        raise SignatureError("The Signature header names no key or no signature.")
    return params


def verify(*, method: str, target: str, headers: Mapping[str, str], body: bytes | None,
           public_key_pem: str, now: datetime | None = None) -> None:
    """Check a signed request; return None or raise :class:`SignatureError`.

    ``target`` is the path and query as sent; ``headers`` is case-insensitive (Werkzeug's or
    ``http.server``'s). The signature must cover ``(request-target)``, ``host``, ``date`` and,
    with a body, ``digest``, which must match the body; the date must be within
    :data:`MAX_SKEW` of ``now``.
    """
    params = parse_signature(headers.get("signature"))
    if params.get("algorithm", "hs2019").lower() not in ALGORITHMS:
        raise SignatureError("This signature algorithm is not supported.")
    names = params.get("headers", "date").lower().split()
    needed = {"(request-target)", "host", "date"} | ({"digest"} if body is not None else set())
    if not needed <= set(names):
        raise SignatureError("The signature must cover " + ", ".join(sorted(needed)) + ".")
    try:
        sent = parsedate_to_datetime(headers.get("date") or "")
    except (TypeError, ValueError) as error:
        raise SignatureError("The Date header is not a date.") from error
    if sent.tzinfo is None or abs((now or datetime.now(UTC)) - sent) > MAX_SKEW:
        raise SignatureError("The request's Date is too far from now.")
    if body is not None and headers.get("digest") != digest(body):
        raise SignatureError("The Digest header does not match the body.")
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode())
        signature = base64.b64decode(params["signature"], validate=True)
    except (ValueError, TypeError) as error:
        raise SignatureError("The key or the signature is not readable.") from error
    if not isinstance(key, rsa.RSAPublicKey):
        raise SignatureError("Only RSA keys are supported.")
    text = _signing_text(method, target, headers, names).encode()
    try:
        key.verify(signature, text, padding.PKCS1v15(), hashes.SHA256())
    except InvalidSignature as error:
        raise SignatureError("The signature does not match.") from error
