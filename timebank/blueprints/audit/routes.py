"""``/audit``: every administrative act in the group, newest first, with filters, paged by
key (``before`` / ``after`` an event id: :mod:`timebank.paging`)."""

from flask import g, render_template, request
from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectChoice, SelectField
from wtforms.validators import Optional

from timebank.audit import service as audit
from timebank.blueprints.audit import bp
from timebank.blueprints.forms import Form, select_choices
from timebank.blueprints.navigation import page_keys
from timebank.policy import require

PER_PAGE = 50
AREAS = {
    "members": _l("Members (all)"),
    "ledger": _l("Ledger (all)"),
    "settings": _l("Settings (all)"),
    "volunteering": _l("Volunteering (all)"),
}


class AuditFilterForm(Form):
    """GET filters (no CSRF: reading changes nothing)."""

    class Meta:
        csrf = False

    action = SelectField(_l("What"), validate_choice=False, default="")
    actor = SelectField(_l("Who"), coerce=int, validate_choice=False, default=0)
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])


@bp.route("/audit")
@require("audit.view")
def trail():
    form = AuditFilterForm(request.args)
    form.action.choices = [SelectChoice("", _l("Everything"))] + select_choices(
        [*AREAS.items(), *audit.ACTIONS.items()])
    form.actor.choices = [SelectChoice(0, _l("Anyone"))] + select_choices(audit.actor_choices())
    form.validate()
    action = form.action.data if form.action.data in {*AREAS, *audit.ACTIONS} else None
    flt = audit.AuditFilter(
        action=action, actor_id=form.actor.data or None,
        start=form.start.data if not form.start.errors else None,
        end=form.end.data if not form.end.errors else None,
        object_type=request.args.get("object_type") or None,
        object_id=request.args.get("object_id", type=int),
    )
    page = audit.events(flt, timezone=g.group.timezone or "UTC", limit=PER_PAGE,
                        **page_keys())
    return render_template(
        "audit/trail.html", form=form, events=page.rows, labels=audit.ACTIONS,
        object_labels=audit.OBJECT_TYPES, page=page,
        query={k: v for k, v in request.args.items() if k not in ("before", "after", "page")},
    )
