"""The app's base form: every form derives from it, and WTForms' own messages are in the
user's language from a per-process cache (issue 14)."""

from babel.support import Translations
from flask_babel import force_locale
from flask_wtf import FlaskForm
from werkzeug.datastructures import MultiDict
from wtforms import StringField
from wtforms.i18n import messages_path
from wtforms.validators import DataRequired

from timebank.blueprints.forms import Form, _wtforms_translations


def _subclasses(cls):
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_every_form_of_the_app_derives_from_the_base_form(app):
    ours = [c for c in _subclasses(FlaskForm) if c.__module__.startswith("timebank.")]
    assert len(ours) > 40  # the app's forms are imported with its blueprints
    assert [c.__qualname__ for c in ours if not issubclass(c, Form)] == []


class _NameForm(Form):
    name = StringField(validators=[DataRequired()])


def test_wtforms_messages_follow_the_locale_of_each_request(app):
    english = "This field is required."
    expected = {code: Translations.load(messages_path(), [code], domain="wtforms").gettext(english)
                for code in ("fr", "de", "en")}
    assert expected["fr"] != english and expected["de"] != english
    for code in ("fr", "de", "en", "fr"):  # cached per locale, never one locale for all
        with app.test_request_context("/", method="POST"), force_locale(code):
            form = _NameForm(formdata=MultiDict(), meta={"csrf": False})
            assert not form.validate()
            assert form.name.errors == [expected[code]]
    assert _wtforms_translations("fr") is _wtforms_translations("fr")
