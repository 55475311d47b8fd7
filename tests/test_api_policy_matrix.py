"""The API's permission matrix, generated from the route map like the pages' one
(tests/test_policy_matrix.py): every operation of /api/v1 on a group's host, every caller
(no token, another group's token, a token for each role) and every object kind its URL names
(own, another member's, another group's). Expected, from timebank.policy:

* no token, or another group's token (worthless here): 401;
* a role below the action's least role: 403; an object rule saying no: 403;
* an allowed role on another group's object: 404, whatever the operation;
* an allowed role otherwise: never 401/403; nothing ever 5xx; every error a problem.
"""

from urllib.parse import urlsplit

import pytest

from tests.api_support import bearer, token_for
from tests.conftest import BASE_DOMAIN
from tests.group_admin_support import ROLE_NAMES, build_scenario, role_of
from tests.test_policy_matrix import (
    _collection_app,
    _expected_object_rule,
    _kinds,
    _least_role,
    _values,
)
from timebank.extensions import db

# A body each write accepts, so that a refusal is the policy's or the object's, not the shape's.
BODIES = {
    "ledger_api.create_transfer": {"kind": "payment", "counterpart_id": 1, "amount": 1,
                                   "description": "matrix"},
    "ledger_api.edit_transfer": {"amount": 1, "description": "matrix"},
    "ledger_api.reverse_transfer": {"reason": "matrix"},
    "ledger_api.decline_transfer": {"reason": "matrix"},
    "ledger_api.withdraw_transfer": {"reason": "matrix"},
    "marketplace_api.create_ad": {"kind": "offer", "title": "Matrix"},
    "marketplace_api.edit_ad": {"kind": "offer", "title": "Matrix"},
    "marketplace_api.send_message": {"recipient_id": 1, "body": "matrix"},
}


def _api_operations():
    app = _collection_app()
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "policy_scope", None) == "api":
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule.endpoint, method, view.required_action))
    return sorted(found)


API_OPERATIONS = _api_operations()


def test_every_api_operation_asks_a_known_action():
    from timebank.policy import PERMISSIONS

    assert API_OPERATIONS, "no API operations found"
    assert all(action in PERMISSIONS for _e, _m, action in API_OPERATIONS)


@pytest.mark.parametrize("endpoint,method,action", API_OPERATIONS,
                         ids=[f"{m} {e}" for e, m, _a in API_OPERATIONS])
def test_api_permission_matrix(app, make_group, make_member, make_transfer, client_for,
                               endpoint, method, action):
    scenario = build_scenario(app, make_group, make_member, make_transfer)
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    adapter = app.url_map.bind(f"{scenario.home.slug}.{BASE_DOMAIN}")
    with app.app_context():
        connection = db.session.bind
    tokens = {None: None, "outsider": token_for(app, scenario.outsider)}
    for name in ROLE_NAMES:
        tokens[name] = token_for(app, scenario.actors[name])
    client = client_for(scenario.home.slug)
    least = _least_role(action, scenario.home)
    problems = []
    for kind in _kinds(rule.arguments, scenario.objects):
        for caller in (None, "outsider", *ROLE_NAMES):
            values = _values(rule, scenario.objects, kind, caller)
            url = adapter.build(endpoint, values, method=method)
            headers = bearer(tokens[caller]) if tokens[caller] else {}
            savepoint = connection.begin_nested()
            try:
                response = client.open(url, method=method, headers=headers,
                                       json=BODIES.get(endpoint) if method != "GET" else None)
            finally:
                savepoint.rollback()
            status = response.status_code
            cell = f"{method} {urlsplit(url).path} as {caller or 'no token'} ({kind})"
            if status >= 500:
                problems.append(f"{cell}: {status}")
                continue
            if status >= 400 and response.content_type != "application/problem+json":
                problems.append(f"{cell}: {status} is not a problem")
            if caller in (None, "outsider"):
                if status != 401:
                    problems.append(f"{cell}: {status}, expected 401")
            elif role_of(caller) < least:
                if status != 403:
                    problems.append(f"{cell}: {status}, expected 403 (needs {least.key})")
            elif kind == "other_group":
                if status != 404:
                    problems.append(f"{cell}: {status}, expected 404")
            elif kind in (None, "unknown"):
                if status in (401, 403) and not (status == 403 and endpoint in (
                        "ledger_api.create_transfer",)):
                    problems.append(f"{cell}: {status}, expected it allowed")
            else:
                allowed = _expected_object_rule(action, scenario.actors[caller], rule.arguments,
                                                values, scenario)
                if allowed is False and status != 403:
                    problems.append(f"{cell}: {status}, expected 403 (object rule)")
                if allowed is True and status == 401:
                    problems.append(f"{cell}: {status}, expected it allowed")
    assert not problems, "\n".join(problems)
