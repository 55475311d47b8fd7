"""The permission matrix, generated from the app's route map (issue 6).

Every route either requires an action (``@require``), is apex-only, or is listed in
:data:`timebank.policy.PUBLIC_ENDPOINTS` — a new route with none of these fails
:func:`test_every_route_has_a_policy`. Then, for every group route, every method, every caller
(logged out, a member of another group, and each role) and every kind of object the URL names
(the caller's own, another member's in the same group, one of another group), the answer must
be what :mod:`timebank.policy` says:

* logged out: sent to log in; a member of another group: sent to the join page;
* a role below the action's least role (:data:`PERMISSIONS`): 403;
* an allowed role on another group's object: 404 (tenant scoping hides it);
* an allowed role on a route naming no object: never 401/403/404; on an id of nothing: never
  401/403;
* an allowed role on its own or another member's object: 403 exactly when an object rule
  (:data:`OBJECT_RULES`) says no; on its own object with no rule, never 401/403;
* nothing ever answers 5xx.

Each request runs in a savepoint that is rolled back, so one cell cannot change the next.
"""

import os
from urllib.parse import urlsplit

import pytest
from werkzeug.routing.converters import NumberConverter

from tests.conftest import BASE_DOMAIN
from tests.group_admin_support import ROLE_NAMES, build_scenario, role_of
from timebank import create_app
from timebank.config import TestConfig
from timebank.extensions import db
from timebank.policy import GROUP_RULES, OBJECT_RULES, PERMISSIONS, PUBLIC_ENDPOINTS

CALLERS = (None, "outsider", *ROLE_NAMES)
METHODS = ("GET", "POST")
UNKNOWN_ID = 2**31 - 1


def _collection_app():
    """An app built only to read its route map at collection time (never connects)."""
    settings = {k: getattr(TestConfig, k) for k in dir(TestConfig) if k.isupper()}
    settings["DATABASE_URL"] = os.environ.get("DATABASE_URL") or "postgresql://collect@127.0.0.1:1/x"
    return create_app(settings)


def _group_rules():
    """(endpoint, rule, action) for every route that requires an action, sorted."""
    app = _collection_app()
    found = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        action = getattr(view, "required_action", None)
        # API operations answer with problems, not redirects: tests/test_api_policy_matrix.py
        if action is not None and getattr(view, "policy_scope", None) != "api":
            found.append((rule.endpoint, rule.rule, action))
    return sorted(found)


GROUP_ROUTES = _group_rules()


def test_every_route_has_a_policy(app):
    missing, unknown = [], []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        action = getattr(view, "required_action", None)
        if action is not None:
            if action not in PERMISSIONS:
                unknown.append(f"{rule.rule} requires unknown action {action!r}")
        elif (getattr(view, "policy_scope", None) != "apex"
              and rule.endpoint not in PUBLIC_ENDPOINTS):
            missing.append(f"{rule.rule} ({rule.endpoint})")
    assert not missing, (
        "routes without a policy: add @require(action), apex_only, or list them in "
        "timebank.policy.PUBLIC_ENDPOINTS:\n" + "\n".join(missing))
    assert not unknown, "\n".join(unknown)
    stale = set(PUBLIC_ENDPOINTS) - set(app.view_functions)
    assert not stale, f"PUBLIC_ENDPOINTS lists endpoints that no longer exist: {sorted(stale)}"


def test_apex_only_routes_are_not_found_on_a_group_site(app, make_group, client_for):
    make_group("apexcheck")
    client = client_for("apexcheck")
    adapter = app.url_map.bind(f"apexcheck.{BASE_DOMAIN}")
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, "policy_scope", None) != "apex":
            continue
        values = {arg: _placeholder(rule, arg) for arg in rule.arguments}
        method = "GET" if "GET" in rule.methods else "POST"
        url = adapter.build(rule.endpoint, values, method=method)
        status = client.open(url, method=method).status_code
        assert status == 404, f"{method} {url} on a group's site answered {status}"


def _placeholder(rule, arg: str):
    """A value the route's converter accepts for ``arg`` (an object that does not exist)."""
    converter = rule._converters.get(arg)
    if getattr(converter, "items", None):  # any(a, b, c)
        return sorted(converter.items)[0]
    if isinstance(converter, NumberConverter):  # int and float, bounded ones too
        return UNKNOWN_ID
    return "HOUR" if arg == "code" else "x"


def _least_role(action: str, group):
    least = PERMISSIONS[action]
    rule = GROUP_RULES.get(action)
    if rule is not None and getattr(group, rule[0], False):
        least = min(least, rule[1])
    return least


def _kinds(rule_arguments, objects):
    """The object kinds to try for a route: own/other/other_group for known ids, else one."""
    if not rule_arguments:
        return [None]
    known = [arg for arg in rule_arguments if arg in objects]
    if not known:
        return ["unknown"]
    kinds = ["other", "other_group"]
    if any("own" in objects[arg] for arg in known):
        kinds.insert(0, "own")
    return kinds


def _values(rule, objects, kind, caller):
    values = {}
    for arg in rule.arguments:
        ids = objects.get(arg)
        if ids is None:
            values[arg] = _placeholder(rule, arg)
            continue
        chosen = kind if kind in ids else "other"
        value = ids[chosen]
        if chosen == "own":
            value = value.get(caller) if caller in value else ids["other"]
        values[arg] = value
    return values


class _Target:
    """Stand-in for the object a URL names, for asking the object rules."""

    def __init__(self, arg, value, group_id, scenario):
        self.group_id = group_id
        self.id = value
        self.membership_id = None
        if arg == "pledge_id":
            owners = {pid: scenario.actors[name].id
                      for name, pid in scenario.objects["pledge_id"]["own"].items()}
            owners[scenario.objects["pledge_id"]["other"]] = scenario.victim.id
            self.membership_id = owners.get(value)


def _expected_object_rule(action, caller_membership, rule_arguments, values, scenario):
    """True/False when an object rule decides the cell, else None."""
    if action not in OBJECT_RULES:
        return None
    for arg in rule_arguments:
        if arg in scenario.objects:
            target = _Target(arg, values[arg], caller_membership.group_id, scenario)
            return OBJECT_RULES[action](caller_membership, target)
    return None


@pytest.mark.parametrize("endpoint,path,action", GROUP_ROUTES, ids=[r[0] for r in GROUP_ROUTES])
def test_permission_matrix(app, make_group, make_member, make_transfer, client_for, login,
                           endpoint, path, action):
    scenario = build_scenario(app, make_group, make_member, make_transfer)
    rule = next(r for r in app.url_map.iter_rules() if r.endpoint == endpoint)
    adapter = app.url_map.bind(f"{scenario.home.slug}.{BASE_DOMAIN}")
    with app.app_context():
        connection = db.session.bind  # the test's connection (see tests/conftest.py)
    clients = {None: client_for(scenario.home.slug)}
    clients["outsider"] = login(client_for(scenario.home.slug), scenario.outsider.user.email)
    for name in ROLE_NAMES:
        clients[name] = login(client_for(scenario.home.slug), scenario.actors[name].user.email)

    problems = []
    least = _least_role(action, scenario.home)
    for method in METHODS:
        if method not in rule.methods:
            continue
        for kind in _kinds(rule.arguments, scenario.objects):
            for caller in CALLERS:
                values = _values(rule, scenario.objects, kind, caller)
                url = adapter.build(endpoint, values, method=method)
                savepoint = connection.begin_nested()
                try:
                    response = clients[caller].open(url, method=method)
                finally:
                    savepoint.rollback()
                status = response.status_code
                where = urlsplit(response.headers.get("Location", "")).path
                cell = f"{method} {url} as {caller or 'logged out'} ({kind or 'no object'})"
                if status >= 500:
                    problems.append(f"{cell}: {status}")
                elif caller is None:
                    if not (status == 302 and where == "/login"):
                        problems.append(f"{cell}: {status} {where}, expected a login redirect")
                elif caller == "outsider":
                    if not (status == 302 and where == "/join"):
                        problems.append(f"{cell}: {status} {where}, expected the join page")
                elif role_of(caller) < least:
                    if status != 403:
                        problems.append(f"{cell}: {status}, expected 403 (needs {least.key})")
                elif kind == "other_group":
                    if status != 404:
                        problems.append(f"{cell}: {status}, expected 404")
                elif kind is None:
                    if status in (401, 403, 404):
                        problems.append(f"{cell}: {status}, expected it allowed")
                elif kind == "unknown":  # an id of nothing: not found, never forbidden
                    if status in (401, 403):
                        problems.append(f"{cell}: {status}, expected it allowed")
                else:
                    allowed = _expected_object_rule(
                        action, scenario.actors[caller], rule.arguments, values, scenario)
                    if allowed is None and kind == "own":
                        allowed = True
                    if allowed is False and status != 403:
                        problems.append(f"{cell}: {status}, expected 403 (object rule)")
                    # 404 stays possible: a route may have nothing to show for this object
                    # (messaging oneself, say) without forbidding it.
                    if allowed is True and status in (401, 403):
                        problems.append(f"{cell}: {status}, expected it allowed")
    assert not problems, "\n".join(problems)
