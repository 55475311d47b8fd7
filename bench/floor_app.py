"""The floor for bench/http_load.py: the least a page can do with the libraries our standards
ask for, and nothing of the app's own.

Where ``bare_app.py`` has no extension at all, this app has the ones every page of the app
passes through (Flask-Login, Flask-WTF's CSRF and forms, Flask-Babel, flask-talisman's
headers, Flask-SQLAlchemy's session), each in its cheapest setting: the logged-in user is
made from the session cookie with no query, the locale is fixed, and no tenant, policy, kept
row, audit or request log runs. What it costs beside ``bare_app.py``'s routes is the price of
those libraries, which no work of ours can lower.

* ``GET /start`` logs in (a cookie) and answers the CSRF token, for wrk.
* ``POST /pay`` is POST /pay's least: the form (payee, currency, amount ``H:MM``, description,
  idempotency key) validated with its CSRF token, ``ledger_transfer`` with POST /pay's
  arguments in the group's context through the ORM session, commit, a translated flash, 302
  (``BARE_LEDGER``: the group, the currency, the payer, then the payees).
* ``GET /dashboard`` is the dashboard's least: the statements one view of it ran
  (``BARE_REPLAY``, as ``/replay``) through the ORM session's connection, their rows listed by
  one template with Bootstrap-Flask's CSS and script that makes as many translations (49),
  links (32) and dates (5) as a view of the dashboard makes (``profile_request.py``'s counts,
  session 16).

Served by gunicorn like ``bare_app.py`` (sync workers), its cheapest setting.
"""

import json
import os
import secrets
from datetime import UTC, datetime

from flask import Flask, flash, redirect, render_template, url_for
from flask_babel import Babel, gettext
from flask_bootstrap import Bootstrap5
from flask_login import LoginManager, UserMixin, login_required, login_user
from flask_sqlalchemy import SQLAlchemy
from flask_talisman import Talisman
from flask_wtf import CSRFProtect, FlaskForm
from flask_wtf.csrf import generate_csrf
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, Regexp

app = Flask(__name__)
app.config.update(
    SECRET_KEY=os.environ["SECRET_KEY"],
    SQLALCHEMY_DATABASE_URI=os.environ["BARE_DATABASE_URL"].replace(
        "postgresql://", "postgresql+psycopg://"),
    SQLALCHEMY_ENGINE_OPTIONS={"pool_size": 1},
)
db = SQLAlchemy(app)
login_manager = LoginManager(app)
CSRFProtect(app)
Babel(app, locale_selector=lambda: "en")
Bootstrap5(app)
Talisman(app, force_https=False)
GROUP, CURRENCY, PAYER, *PAYEES = (int(n) for n in os.environ["BARE_LEDGER"].split(","))


class Member(UserMixin):
    def __init__(self, id: str):
        self.id = id


@login_manager.user_loader
def load_user(user_id: str) -> Member:
    return Member(user_id)  # no query: the cheapest login there is


class PayForm(FlaskForm):
    payee = IntegerField(validators=[DataRequired()])
    currency = StringField(validators=[DataRequired(), Length(max=12)])
    amount = StringField(validators=[DataRequired(), Regexp(r"^\d{1,4}:[0-5]\d$")])
    description = StringField(validators=[DataRequired(), Length(max=200)])
    idempotency_key = StringField(validators=[DataRequired(), Length(max=64)])


@app.get("/healthz")
def healthz():
    return "ok"


@app.get("/start")
def start():
    login_user(Member(str(PAYER)))
    return generate_csrf()


@app.post("/pay")
@login_required
def pay():
    form = PayForm()
    if not form.validate():
        return form.errors, 400
    hours, minutes = form.amount.data.split(":")
    db.session.execute(db.text("SELECT set_config('timebank.group_id', :group, true)"),
                       {"group": str(GROUP)})
    refusal = db.session.execute(db.text(
        "SELECT refusal FROM ledger_transfer(:group, :payer, :payee, :currency, NULL, NULL,"
        " :amount, :description, 'payment', 'completed', :payer, :key, now())"),
        {"group": GROUP, "payer": PAYER, "payee": form.payee.data, "currency": CURRENCY,
         "amount": int(hours) * 60 + int(minutes), "description": form.description.data,
         "key": form.idempotency_key.data or secrets.token_hex(8)}).scalar_one()
    if refusal:
        db.session.rollback()
        return refusal, 409
    db.session.commit()
    flash(gettext("Paid %(amount)s.", amount=form.amount.data))
    return redirect(url_for("dashboard"))


PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ _("Dashboard") }}</title>
{{ bootstrap.load_css() }}</head><body><main class="container">
<h1>{{ _("Dashboard") }}</h1>
{% for rows in results %}<table class="table">
{% for row in rows %}<tr>{% for value in row %}<td>{{ value }}</td>{% endfor %}</tr>{% endfor %}
</table>{% endfor %}
<nav>{% for page in range(30) %}<a href="{{ url_for('dashboard', page=page) }}">
{{ _("Dashboard") }}</a>{% endfor %}</nav>
<ul>{% for amount in range(18) %}<li>{{ _("Paid %(amount)s.", amount=amount) }}</li>{% endfor %}
{% for _ in range(5) %}<li>{{ now|datetimeformat }}</li>{% endfor %}</ul>
<form method="post" action="{{ url_for('pay') }}"><input type="hidden" name="csrf_token"
 value="{{ csrf_token() }}"></form>
</main>{{ bootstrap.load_js() }}</body></html>"""
TEMPLATE = app.jinja_env.from_string(PAGE)  # compiled once, as a template file would be


@app.get("/dashboard")
@login_required
def dashboard():
    connection = db.session.connection()
    connection.exec_driver_sql("SELECT set_config('timebank.group_id', %s, true)", (str(GROUP),))
    results = [connection.exec_driver_sql(statement["sql"], statement["parameters"]).all()
               for statement in _recorded()]
    db.session.commit()
    return render_template(TEMPLATE, results=results, now=datetime.now(UTC))


_statements: list[dict] = []


def _recorded() -> list[dict]:
    if not _statements:
        _statements.extend(json.loads(open(os.environ["BARE_REPLAY"]).read()))
    return _statements
