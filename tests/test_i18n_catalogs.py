"""Catalogs are complete: every msgid the sources use is translated in every shipped language.

Extraction runs live (the same extraction as ``flask translate update``), so a new ``_()``
string without translations fails here until the catalogs are refilled (docs/i18n.md).
"""

import gettext
import os
import shutil

import pytest
from babel import Locale
from babel.messages.catalog import Catalog
from babel.support import Translations

from timebank import translations
from timebank.i18n import LANGUAGES

REFILL = "refill: python -m timebank.translations todo todo.json (see docs/i18n.md)"


@pytest.fixture(scope="module")
def template() -> Catalog:
    return translations.extract()


def test_extraction_reads_python_templates_and_lazy_strings(template):
    ids = {message.id if isinstance(message.id, str) else message.id[0] for message in template}
    assert "Dashboard" in ids  # a template
    assert "Enter an amount." in ids  # _l() in a form module
    assert "Reset your password" in ids  # N_() in a view, translated later by the mail job
    assert "Hours" in ids  # gettext in the provisioning service
    assert len(ids) > 100


def test_every_shipped_language_has_a_catalog():
    assert set(translations.catalog_locales()) == set(LANGUAGES)


@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_catalog_is_complete(locale, template):
    problems = translations.problems(locale, template)
    shown = "\n".join(problems[:40])
    assert not problems, f"{len(problems)} problems in {locale}:\n{shown}\n{REFILL}"


@pytest.mark.parametrize("locale", list(LANGUAGES))
def test_plural_forms_agree_with_cldr(locale):
    """The catalog's gettext plural rule picks the form CLDR says, for 0..1000."""
    catalog = translations.load(locale)
    tags = translations.plural_tags(locale)
    assert catalog.num_plurals == len(tags)
    choose = gettext.c2py(catalog.plural_expr)
    rule = Locale.parse(locale).plural_form
    for n in range(1001):
        if len(tags) == 2:  # gettext's one/other, with CLDR's "many" (millions) as other
            assert (choose(n) == 0) == (rule(n) == "one"), n
        else:
            assert tags[choose(n)] == rule(n), n
    if locale == "ar":
        assert tags == ["zero", "one", "two", "few", "many", "other"]


@pytest.mark.parametrize("locale", [code for code in LANGUAGES if code != "en"])
def test_compiled_catalog_translates(locale):
    translations.ensure_compiled()
    compiled = Translations.load(str(translations.TRANSLATIONS), [locale])
    assert compiled.gettext("Dashboard") != "Dashboard"
    assert compiled.gettext("Balance") != "Balance"


# --- the checks themselves fail when they should ------------------------------------------------


@pytest.fixture
def scratch_catalogs(tmp_path, monkeypatch):
    """A copy of translations/ that the checks read instead of the real one."""
    copy = tmp_path / "translations"
    shutil.copytree(translations.TRANSLATIONS, copy)
    monkeypatch.setattr(translations, "TRANSLATIONS", copy)
    return copy


def test_a_new_msgid_without_translation_is_reported(template, scratch_catalogs):
    extended = Catalog()
    for message in template:
        if message.id:
            extended[message.id] = message
    extended.add("A brand new sentence nobody translated")
    problems = translations.problems("de", extended)
    assert "de: msgid 'A brand new sentence nobody translated' is missing" in problems


def test_fuzzy_untranslated_and_obsolete_but_used_are_reported(template, scratch_catalogs):
    catalog = translations.load("fr")
    catalog["Dashboard"].flags.add("fuzzy")
    catalog["Balance"].string = ""
    statement = catalog["Statement"]
    del catalog["Statement"]
    catalog.obsolete["Statement"] = statement
    buffer = translations.catalog_path("fr")
    with buffer.open("wb") as handle:
        from babel.messages.pofile import write_po

        write_po(handle, catalog, no_location=True)
    problems = "\n".join(translations.problems("fr", template))
    assert "'Dashboard' is fuzzy" in problems
    assert "'Balance' is untranslated" in problems
    assert "'Statement' is obsolete but still used" in problems


def test_a_translation_that_drops_a_placeholder_is_reported(template, scratch_catalogs):
    catalog = translations.load("es")
    message = next(m for m in catalog if isinstance(m.id, str) and "%(name)s" in m.id)
    message.string = "Sin nombre"
    translations.save(catalog)
    problems = translations.problems("es", template)
    assert any(f"{message.id!r} placeholders" in problem for problem in problems)


def test_stale_compiled_catalogs_are_rebuilt_at_start_up(scratch_catalogs):
    translations.compile_catalogs()
    po = translations.catalog_path("nl")
    mo = po.with_suffix(".mo")
    old = po.stat().st_mtime - 60
    os.utime(mo, (old, old))
    assert translations.ensure_compiled() == ["nl"]
    assert translations.ensure_compiled() == []


def test_compiled_catalogs_are_readable_by_everyone(scratch_catalogs):
    # A server compiles them as root at install; the app's own user must read them.
    translations.compile_catalogs()
    mo = translations.catalog_path("de").with_suffix(".mo")
    assert mo.stat().st_mode & 0o777 == 0o644
