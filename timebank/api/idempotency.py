"""``Idempotency-Key`` on creating writes: the same key and body answer the first result.

The first request with a key inserts its row (``ON CONFLICT DO NOTHING``) before doing
anything; a concurrent twin's insert waits on the unique key until the first commits, then
finds the row and replays its answer — one effect. The same key with another body is a 422.
A failed first attempt (any status >= 400) rolls back with its row, so the key may be used
again. Keys are per membership.
"""

from __future__ import annotations

import hashlib
import json
from functools import wraps

import sqlalchemy as sa
from flask import g, jsonify, request
from sqlalchemy.dialects.postgresql import insert

from timebank.api.core import fail
from timebank.extensions import db
from timebank.models.api import ApiIdempotency

HEADER = "Idempotency-Key"
KEY_MAX = 255


def _request_hash() -> str:
    try:
        body = request.get_json(silent=True)
    except Exception:  # noqa: BLE001 - unreadable bodies hash as raw bytes
        body = None
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":")) if body is not None \
        else request.get_data(as_text=False).decode("latin-1")
    text = f"{request.method} {request.path}\n{canonical}"
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _replay(row: ApiIdempotency):
    response = jsonify(row.body)
    response.status_code = row.status
    if row.location:
        response.headers["Location"] = row.location
    response.headers["Idempotent-Replayed"] = "true"
    return response


def idempotent(view):
    """Decorate a creating write (inside ``operation``): honour ``Idempotency-Key``."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        key = request.headers.get(HEADER)
        if key is None:
            return view(*args, **kwargs)
        key = key.strip()
        if not key or len(key) > KEY_MAX or not key.isprintable():
            fail(400, f"{HEADER} must be 1 to {KEY_MAX} printable characters.", field=HEADER)
        membership = g.membership
        digest = _request_hash()
        inserted = db.session.execute(
            insert(ApiIdempotency)
            .values(group_id=membership.group_id, membership_id=membership.id, key=key,
                    request_hash=digest, created_at=sa.func.now())
            .on_conflict_do_nothing(
                index_elements=["group_id", "membership_id", "key"])
            .returning(ApiIdempotency.id)
        ).scalar()
        if inserted is None:
            row = db.session.scalar(sa.select(ApiIdempotency).where(
                ApiIdempotency.membership_id == membership.id, ApiIdempotency.key == key))
            if row is None or row.status is None:  # vanished or unfinished: try again
                fail(409, "A request with this Idempotency-Key is in progress.", field=HEADER)
            if row.request_hash != digest:
                fail(422, "This Idempotency-Key was used with another request.", field=HEADER)
            return _replay(row)
        response = view(*args, **kwargs)
        from flask import make_response

        response = make_response(response)
        if response.status_code < 400:
            db.session.execute(
                sa.update(ApiIdempotency).where(ApiIdempotency.id == inserted).values(
                    status=response.status_code, body=response.get_json(silent=True),
                    location=response.headers.get("Location")))
        return response

    return wrapped
