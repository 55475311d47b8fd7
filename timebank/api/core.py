"""What every API operation shares: problem details, bearer tokens, the policy, rate limits.

* Errors are RFC 9457 problem details (``application/problem+json``) naming the field;
* :meth:`ApiBlueprint.operation` authenticates the bearer token, checks its scope (writes need
  ``write``), asks :func:`timebank.policy.can` — the same policy as the pages — and counts the
  request against the token's rate limit (``RateLimit`` / ``RateLimit-Policy`` headers);
* group operations exist only on a group's host, network operations only on the apex.
"""

from __future__ import annotations

import os
from functools import wraps

from flask import abort, current_app, g, jsonify, make_response, request
from flask_smorest import Blueprint
from limits import parse
from werkzeug.exceptions import HTTPException

from timebank.api import schemas
from timebank.user_errors import UserError

PROBLEM = "application/problem+json"
TITLES = {
    400: "Bad request", 401: "Authentication required", 403: "Forbidden", 404: "Not found",
    405: "Method not allowed", 409: "Conflict", 410: "Gone", 412: "Precondition failed",
    413: "Request too large", 415: "Unsupported media type", 422: "Unprocessable content",
    423: "Group suspended", 428: "Precondition required", 429: "Too many requests",
}


def problem_response(status: int, *, title: str | None = None, detail: str | None = None,
                     field: str | None = None, errors: list[dict] | None = None,
                     headers: dict | None = None):
    """Return an RFC 9457 problem response; ``field`` names the input at fault."""
    body = {"type": "about:blank", "title": title or TITLES.get(status, "Error"),
            "status": status}
    if detail:
        body["detail"] = detail
    if field:
        body["field"] = field
    if errors:
        body["errors"] = errors
    response = jsonify(body)
    response.status_code = status
    response.content_type = PROBLEM
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def fail(status: int, detail: str | None = None, *, field: str | None = None,
         title: str | None = None, headers: dict | None = None):
    """Stop the operation with a problem response (the boundary rolls back: status >= 400)."""
    abort(problem_response(status, title=title, detail=detail, field=field, headers=headers))


def cursor_key(cursor: str | None) -> int | None:
    """The id a page's ``cursor`` (a ``next_cursor`` the API gave) stands for; None for the
    first page. A cursor the API cannot have given is a 400 naming the field."""
    if not cursor:
        return None
    if not (cursor.isascii() and cursor.isdigit()) or int(cursor) > 2**31:
        fail(400, "This cursor is not one the API gave.", field="cursor")
    return int(cursor)


# A typed refusal's status when it is not 422; its form field's name in the API.
REFUSAL_STATUS = {
    "NotYourTurn": 403, "NotAllowed": 403, "NotYourPledge": 403, "NotOrganizer": 403,
    "NotParticipant": 403, "NotPending": 409, "CannotReverse": 409, "KeyReused": 409,
    "AlreadyPledged": 409, "TaskFull": 409, "TaskCancelled": 409, "NotPledged": 409,
    "LedgerUnavailable": 503,
}
API_FIELDS = {"payee": "counterpart_id", "payer": "counterpart_id"}


def refuse(error: UserError, *, fields: dict | None = None):
    """Answer a service's typed refusal: its message as detail, its field named (the form's
    field names mapped to the API's by :data:`API_FIELDS` and ``fields``)."""
    name = type(error).__name__
    field = error.field
    if field is not None:
        field = (fields or {}).get(field) or API_FIELDS.get(field, field)
    fail(REFUSAL_STATUS.get(name, 422), str(error), field=field, title=name)


def _flatten(messages, prefix: str = "") -> list[dict]:
    """webargs' nested messages as [{"field": "a.b", "detail": "..."}]."""
    found = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            found.extend(_flatten(value, name))
    elif isinstance(messages, list) and all(isinstance(m, str) for m in messages):
        found.append({"field": prefix or None, "detail": " ".join(messages)})
    elif isinstance(messages, list):
        for index, value in enumerate(messages):
            found.extend(_flatten(value, f"{prefix}.{index}" if prefix else str(index)))
    else:
        found.append({"field": prefix or None, "detail": str(messages)})
    return found


def handle_http_error(error: HTTPException):
    """Any HTTP error raised in an API view, as a problem (webargs' 422 names the fields)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    messages = data.get("messages")
    if messages:
        # webargs nests by location: {"json": {"amount": [...]}, "query": {...}}
        errors = []
        for location_messages in messages.values():
            errors.extend(_flatten(location_messages))
        first = next((e["field"] for e in errors if e["field"]), None)
        return problem_response(status, detail="Some fields are not valid.", field=first,
                                errors=errors)
    headers = {}
    if status == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return problem_response(status, detail=error.description if status != 404 else None,
                            headers=headers)


# --- tokens -------------------------------------------------------------------------------

def _bearer() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def _unauthorized(detail: str):
    fail(401, detail, headers={"WWW-Authenticate": 'Bearer realm="timebank"'})


def authenticate(*, apex: bool):
    """Find the request's token; set ``g.api_token``, ``g.membership`` and the user.

    On a group's host the token must be one of that group's (tenant scoping finds no other:
    401). On the apex it must be an apex token (bound to a person, no membership:
    ``g.membership`` is None); a group's token is unknown there (401).
    """
    from timebank.api.tokens import find_token

    raw = _bearer()
    if raw is None:
        _unauthorized("Send a personal access token: Authorization: Bearer <token>.")
    token = find_token(raw, apex=apex)
    if token is None:
        _unauthorized("This token is unknown here, revoked or expired."
                      + (" The apex takes apex tokens (flask api create-token without "
                         "--group, or the profile page on the apex)." if apex else ""))
    if apex:
        user = token.user
        g.membership = None
    else:
        user = token.membership.user
        g.membership = token.membership
    g.api_token = token
    g._login_user = user  # Flask-Login's current_user for this request only (no cookie)
    return token


# --- rate limits --------------------------------------------------------------------------

def _rate_limiter():
    ext = current_app.extensions.get("timebank-api-limits")
    if ext is None:
        from limits.storage import storage_from_string
        from limits.strategies import FixedWindowRateLimiter

        storage = storage_from_string(current_app.config.get("RATELIMIT_STORAGE_URI",
                                                             "memory://"))
        ext = current_app.extensions["timebank-api-limits"] = FixedWindowRateLimiter(storage)
    return ext


def count_request(token) -> None:
    """Count the request against the token's limit (``API_RATE_LIMIT``); 429 past it.

    The answer carries ``RateLimit-Policy`` and ``RateLimit`` (IETF httpapi draft), set on
    ``g`` here and written by the blueprint's ``after_request``.
    """
    item = parse(current_app.config.get("API_RATE_LIMIT")
                 or os.environ.get("API_RATE_LIMIT", "600/minute"))
    limiter = _rate_limiter()
    identifiers = ("api", token.__tablename__, str(token.id))  # apex and group tokens apart
    try:
        allowed = limiter.hit(item, *identifiers)
        stats = limiter.get_window_stats(item, *identifiers)
    except Exception:  # storage down: serve rather than refuse
        current_app.logger.warning("API rate-limit storage unavailable", exc_info=True)
        return
    import time

    reset = max(0, int(stats.reset_time - time.time()))
    window = item.get_expiry()
    g.api_rate_headers = {
        "RateLimit-Policy": f'"token";q={item.amount};w={window}',
        "RateLimit": f'"token";r={stats.remaining};t={reset}',
    }
    if not allowed and current_app.config.get("RATELIMIT_ENABLED", True):
        fail(429, "Too many requests with this token; try again later.",
             headers={"Retry-After": str(reset or 1), **g.api_rate_headers})


# --- the blueprint ------------------------------------------------------------------------

ERROR_RESPONSES = {
    "default": {"description": "A problem (RFC 9457) naming the field at fault",
                "content": {PROBLEM: {"schema": schemas.ProblemSchema}}},
}


class ApiBlueprint(Blueprint):
    """A flask-smorest blueprint whose operations are described by :meth:`operation`."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.register_error_handler(HTTPException, handle_http_error)
        self.before_request(_refuse_unstorable_text)
        self.after_request(_finish)

    def operation(self, action: str | None, *, scope: str = "read", apex: bool = False,
                  public: bool = False, also_apex: bool = False):
        """Decorate a view (under ``route``, above ``arguments``/``response``).

        ``action`` is a :data:`timebank.policy.PERMISSIONS` action asked of the token's
        membership; ``apex`` operations are the network admins' (404 on a group's host);
        ``also_apex`` ones (one's own profile) answer on the apex too, with an apex token,
        where ``g.membership`` is None; ``public`` ones take no token. Problem responses are
        documented on every operation.
        """
        from timebank.policy import can

        def decorator(view):
            @wraps(view)
            def wrapped(*args, **kwargs):
                on_apex = getattr(g, "group", None) is None
                if on_apex != apex and not (on_apex and also_apex):
                    fail(404)
                if not public:
                    token = authenticate(apex=on_apex)
                    if scope not in token.scopes:
                        fail(403, f"This token lacks the '{scope}' scope.", field="scopes")
                    count_request(token)
                    if apex and not token.user.is_network_admin:
                        fail(403, "Only network admins use the network's API.")
                    if not on_apex:
                        membership = g.membership
                        if not membership.is_active:
                            fail(403, "This membership is not active.")
                        if action is not None and not can(membership, action):
                            fail(403, "Your role in this group does not allow this.")
                return view(*args, **kwargs)

            wrapped.required_action = action if not apex and not public else None
            wrapped.policy_scope = "apex" if apex else "api"
            wrapped.api_scope = scope
            wrapped.api_public = public
            doc = {"responses": ERROR_RESPONSES}
            if not public:
                doc["security"] = [{"bearerAuth": []}]
            return self.doc(**doc)(wrapped)

        return decorator


def _bad_text(value, path: str = "") -> str | None:
    """The path of the first string PostgreSQL cannot store (NUL, lone surrogate), or None."""
    if isinstance(value, str):
        if "\x00" in value:
            return path or "body"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return path or "body"
    elif isinstance(value, dict):
        for key, item in value.items():
            found = _bad_text(key, path) or _bad_text(item, f"{path}.{key}" if path else key)
            if found:
                return found
    elif isinstance(value, list):
        for index, item in enumerate(value):
            found = _bad_text(item, f"{path}.{index}" if path else str(index))
            if found:
                return found
    return None


def _refuse_unstorable_text():
    """A JSON body holding text no database can keep is a 400 naming the field."""
    if request.method in ("POST", "PUT", "PATCH") and request.is_json:
        field = _bad_text(request.get_json(silent=True))
        if field:
            return problem_response(400, detail="This text holds characters that cannot be "
                                    "stored (NUL or a lone surrogate).", field=field)
    return None


def _finish(response):
    """Rate-limit headers; ETag on successful reads (If-None-Match answered with 304)."""
    for name, value in (getattr(g, "api_rate_headers", None) or {}).items():
        response.headers[name] = value
    if request.method == "GET" and response.status_code == 200 and response.is_json:
        response.add_etag()
        response = response.make_conditional(request)
    response.headers.setdefault("Cache-Control", "no-store")
    response.vary.add("Authorization")
    return make_response(response)
