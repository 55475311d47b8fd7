"""What a new password must be (NIST SP 800-63B, section 5.1.1.2).

* at least :data:`MIN_LENGTH` characters, up to :data:`MAX_LENGTH` (any character, spaces
  included; no rules about digits or symbols, which 800-63B advises against);
* not a commonly used or breached password: zxcvbn (Dropbox's estimator, which ships the
  frequency lists of leaked passwords, English words and names) must estimate at least
  :data:`MIN_GUESSES` guesses, with the person's own email and name counted as known words.
"""

from flask_babel import lazy_gettext as _l
from wtforms.validators import ValidationError

MIN_LENGTH = 8
MAX_LENGTH = 128  # 800-63B: allow at least 64
MIN_GUESSES = 10**6  # below this zxcvbn scores 0 or 1: "too guessable"


def password_problem(password: str, *, known_words: list[str] = ()) -> str | None:
    """Return why ``password`` may not be used (translated), or None when it is fine."""
    if len(password) < MIN_LENGTH:
        return str(_l("Use at least %(count)d characters.", count=MIN_LENGTH))
    if len(password) > MAX_LENGTH:
        return str(_l("Use at most %(count)d characters.", count=MAX_LENGTH))
    # Imported on first use: its word lists hold ~12 MB, which a worker that never sees a new
    # password should not carry (bench/RESULTS.md, "Session 11").
    from zxcvbn import zxcvbn

    words = [word for word in known_words if word]
    if zxcvbn(password[:100], user_inputs=words)["guesses"] < MIN_GUESSES:
        return str(_l("This password is too common or too easy to guess: "
                      "a few words of your own make a good one."))
    return None


class StrongPassword:
    """WTForms validator: :func:`password_problem` with the form's email and name as known
    words (fields named ``email``, ``name``, ``your_name`` when the form has them)."""

    def __call__(self, form, field):
        words = []
        for name in ("email", "name", "your_name"):
            value = getattr(getattr(form, name, None), "data", None)
            if isinstance(value, str):
                words += [value, *value.replace("@", " ").replace(".", " ").split()]
        problem = password_problem(field.data or "", known_words=words)
        if problem:
            raise ValidationError(problem)
