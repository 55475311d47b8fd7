from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SelectMultipleField, SubmitField
from wtforms.widgets import CheckboxInput, ListWidget

from timebank.blueprints.forms import Form, select_choices
from timebank.i18n import LANGUAGES


class LanguagesForm(Form):
    """Which languages the group offers, and which one is its default."""

    languages = SelectMultipleField(
        _l("Languages the group offers"),
        choices=select_choices(LANGUAGES.items()),
        description=_l("Members and visitors can switch between these. Each member's own "
                       "choice comes first, then the default language."),
        widget=ListWidget(prefix_label=False),
        option_widget=CheckboxInput(),
    )
    default_locale = SelectField(
        _l("Default language"),
        choices=select_choices(LANGUAGES.items()),
        description=_l("Used for members who have not chosen a language, for visitors, and "
                       "for emails to members whose language the group does not offer."),
    )
    submit = SubmitField(_l("Save languages"))
