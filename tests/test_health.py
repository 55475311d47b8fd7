"""Operations (issue 16): /healthz, /readyz, the request log line, JSON logs, Sentry."""

import json
import logging

import pytest
import sqlalchemy as sa

from tests.conftest import PASSWORD
from timebank.extensions import db
from timebank.health import HealthChecks
from timebank.observability import JsonFormatter


def _health_layer(app) -> HealthChecks:
    layer = app.wsgi_app
    while not isinstance(layer, HealthChecks):
        layer = layer.wsgi_app
    return layer


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "localhost", "greenvale.example.org", "x"])
def test_healthz_answers_on_any_host(app, host):
    response = app.test_client().get("/healthz", headers={"Host": host})
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok"}
    assert response.headers["Cache-Control"] == "no-store"


def test_healthz_needs_no_database(app, monkeypatch):
    def no_database(*args, **kwargs):
        raise AssertionError("healthz touched the database")

    with app.app_context():
        monkeypatch.setattr(db.engine, "connect", no_database)
        response = app.test_client().get("/healthz", headers={"Host": "127.0.0.1"})
    assert response.status_code == 200


def test_readyz_is_ready_when_database_redis_and_schema_are(app):
    response = app.test_client().get("/readyz", headers={"Host": "127.0.0.1"})
    body = response.get_json()
    assert response.status_code == 200, body
    assert body == {"status": "ready", "checks": {"database": "ok", "schema": "ok", "redis": "ok"}}


def test_readyz_refuses_when_the_schema_is_behind(app, monkeypatch):
    layer = _health_layer(app)
    monkeypatch.setattr(layer, "_heads", {"f00dcafe0000"})
    response = app.test_client().get("/readyz")
    body = response.get_json()
    assert response.status_code == 503
    assert body["status"] == "not ready"
    assert "f00dcafe0000" in body["checks"]["schema"]
    assert body["checks"]["database"] == "ok"


def test_readyz_refuses_when_the_database_is_unreachable(app, monkeypatch):
    def refused(*args, **kwargs):
        raise sa.exc.OperationalError("SELECT 1", {}, Exception("connection refused"))

    with app.app_context():
        monkeypatch.setattr(db.engine, "connect", refused)
        response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["database"] == "unreachable"


def test_readyz_refuses_when_redis_is_unreachable(app, monkeypatch):
    monkeypatch.setitem(app.config, "REDIS_URL", "redis://127.0.0.1:1/0")
    response = app.test_client().get("/readyz")
    assert response.status_code == 503
    assert response.get_json()["checks"]["redis"] == "unreachable"


def test_health_checks_write_no_request_log(app, caplog):
    with caplog.at_level(logging.INFO, logger="timebank.request"):
        app.test_client().get("/healthz")
    assert not [r for r in caplog.records if r.name == "timebank.request"]


def _request_records(caplog):
    return [r for r in caplog.records if r.name == "timebank.request"]


def test_one_log_line_per_request_with_group_user_status_and_duration(
        app, make_group, make_member, client_for, caplog):
    group = make_group("logvale")
    member = make_member(group, name="Lena")
    client = client_for("logvale")
    client.post("/login", data={"email": member.user.email, "password": PASSWORD})
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="timebank.request"):
        response = client.get("/", headers={"X-Request-ID": "abc123-from-nginx"})
    records = _request_records(caplog)
    assert len(records) == 1
    record = records[0]
    assert record.request_id == "abc123-from-nginx"
    assert response.headers["X-Request-ID"] == "abc123-from-nginx"
    assert record.group == "logvale"
    assert record.user_id == member.user_id
    assert record.status == response.status_code
    assert record.method == "GET" and record.path == "/"
    assert isinstance(record.duration_ms, float) and record.duration_ms >= 0


def test_the_log_line_of_an_anonymous_apex_request_and_a_404(app, client_for, caplog):
    with caplog.at_level(logging.INFO, logger="timebank.request"):
        apex = client_for(None).get("/", headers={"X-Request-ID": "bad id with spaces"})
        missing = client_for("nosuchgroup").get("/")
    first, second = _request_records(caplog)
    assert first.group is None and first.user_id is None and first.status == apex.status_code
    assert first.request_id != "bad id with spaces" and len(first.request_id) == 32
    assert apex.headers["X-Request-ID"] == first.request_id
    assert second.group == "nosuchgroup" and second.status == missing.status_code == 404


def test_json_log_format_carries_the_request_fields(app, client_for, caplog):
    with caplog.at_level(logging.INFO, logger="timebank.request"):
        client_for(None).get("/")
    line = JsonFormatter().format(_request_records(caplog)[0])
    body = json.loads(line)
    assert "\n" not in line
    assert body["logger"] == "timebank.request" and body["level"] == "INFO"
    fields = {"request_id", "group", "user_id", "status", "duration_ms", "method", "path"}
    assert fields <= set(body)
    assert body["time"].endswith("Z")


def test_sentry_is_off_without_a_dsn_and_on_with_one(app, monkeypatch):
    import sentry_sdk

    from timebank.observability import init_error_reporting

    assert init_error_reporting(app) is False
    seen = {}
    monkeypatch.setattr(sentry_sdk, "init", lambda **options: seen.update(options))
    monkeypatch.setitem(app.config, "SENTRY_DSN", "https://key@sentry.invalid/1")
    monkeypatch.setitem(app.config, "RELEASE", "20260101-abc")
    assert init_error_reporting(app) is True
    assert seen["dsn"] == "https://key@sentry.invalid/1"
    assert seen["release"] == "20260101-abc"
    assert seen["send_default_pii"] is False
