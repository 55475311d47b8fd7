"""Catalog workflow: extract messages from ``timebank/``, update, check and compile catalogs.

* :func:`extract` reads the sources the way ``pybabel extract -F babel.cfg -k _l -k N_`` does
  (Python with ``_``, ``gettext``, ``ngettext``, ``_l``, ``lazy_gettext``, ``N_``; Jinja
  templates with ``_``/``gettext``/``ngettext``/``{% trans %}``), in memory.
* :func:`update_catalogs` (``flask translate update``) merges that into every
  ``translations/<lang>/LC_MESSAGES/messages.po``: new msgids arrive untranslated (never
  fuzzy-guessed), msgids no longer in the sources are dropped.
* :func:`compile_catalogs` (``flask translate compile``) and :func:`ensure_compiled` (at start-up,
  only catalogs whose ``.mo`` is missing or older than the ``.po``) write ``messages.mo``.
  Compiled files are build output: gitignored, never edited by hand.
* :func:`problems` lists what the completeness test fails on; :func:`export_todo` and
  :func:`fill` are the refill round trip (``python -m timebank.translations --help``; see
  ``docs/i18n.md``).
"""

import json
import logging
import os
import re
import sys
import tempfile
from datetime import datetime
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "timebank"
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
BABEL_CFG = ROOT / "babel.cfg"
DOMAIN = "messages"
PROJECT = "Timebank"
KEYWORDS = {
    **DEFAULT_KEYWORDS,
    "_l": None,
    "lazy_gettext": None,
    "lazy_ngettext": (1, 2),
    "N_": None,
}
# Plural categories in gettext index order (CLDR names); Babel orders gettext forms this way.
PLURAL_TAGS = ("zero", "one", "two", "few", "many", "other")
# Plural rules our catalogs carry where Babel's table is not the one we want. Arabic: the usual
# GNU gettext rule, 0, 1, 2, 3-10, 11-99, other (100-102, ...), matching CLDR's
# zero/one/two/few/many/other (Babel's table gets "many" wrong). Catalan, Spanish, French,
# Italian and Portuguese: gettext's classic two forms; newer CLDR (Babel 2.18+) adds a "many"
# form used only for exact millions ("1 millón de ..."), which the second form covers. A test
# checks every catalog against CLDR.
PLURAL_FORMS = {
    "ar": (
        6,
        "(n==0 ? 0 : n==1 ? 1 : n==2 ? 2 : n%100>=3 && n%100<=10 ? 3 : n%100>=11 ? 4 : 5)",
    ),
    "ca": (2, "(n != 1)"),
    "es": (2, "(n != 1)"),
    "it": (2, "(n != 1)"),
    "fr": (2, "(n > 1)"),
    "pt_BR": (2, "(n > 1)"),
}
_PLACEHOLDER = re.compile(r"%\((\w+)\)[#0\- +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]")


# --- extraction --------------------------------------------------------------------------------


def extract() -> Catalog:
    """Return a template catalog of every msgid in ``timebank/`` (no locations, sorted)."""
    with BABEL_CFG.open(encoding="utf-8") as cfg:
        method_map, options_map = parse_mapping_cfg(cfg, str(BABEL_CFG))
    template = Catalog(project=PROJECT, fuzzy=False, charset="utf-8")
    for filename, lineno, message, comments, context in extract_from_dir(
        str(SOURCES), method_map, options_map, keywords=KEYWORDS, strip_comment_tags=True
    ):
        template.add(message, None, [(filename, lineno)], auto_comments=comments, context=context)
    return template


def _copy(template: Catalog) -> Catalog:
    """Return a copy of ``template`` that shares no :class:`Message` with it.

    ``Catalog.update`` inserts the template's own Message objects for new msgids, so catalogs
    updated from one template would otherwise share (and overwrite) each other's entries.
    """
    fresh = Catalog(project=PROJECT, fuzzy=False, charset="utf-8")
    for message in template:
        if message.id:
            fresh[message.id] = message.clone()
    return fresh


def write_template(path: Path = POT) -> Path:
    """Write the extracted template to ``path`` (for ``pybabel`` or translation tools)."""
    _write(path, extract(), template=True)
    return path


def _write(path: Path, catalog: Catalog, *, template: bool = False) -> None:
    buffer = BytesIO()
    write_po(
        buffer, catalog, width=100, no_location=True, sort_output=True, ignore_obsolete=True,
        omit_header=False,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write(path, buffer.getvalue())


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file, so readers never see half of it.

    The file is readable by everyone (mkstemp's 0600 would hide the catalogs from the app's
    user when a server compiles them as root)."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, 0o644)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


# --- catalogs ----------------------------------------------------------------------------------


def catalog_path(locale: str) -> Path:
    return TRANSLATIONS / locale / "LC_MESSAGES" / f"{DOMAIN}.po"


def catalog_locales() -> list[str]:
    """Return the locales that have a catalog under ``translations/``, sorted."""
    paths = TRANSLATIONS.glob(f"*/LC_MESSAGES/{DOMAIN}.po")
    return sorted(path.parent.parent.name for path in paths)


def load(locale: str) -> Catalog:
    """Read ``locale``'s catalog."""
    with catalog_path(locale).open("rb") as handle:
        return read_po(handle, locale=locale, domain=DOMAIN)


def save(catalog: Catalog) -> None:
    """Write a catalog back to its ``.po`` file (sorted, no locations, no obsolete entries)."""
    _fix_plural_forms(catalog)
    _write(catalog_path(str(catalog.locale)), catalog)


def _fix_plural_forms(catalog: Catalog) -> None:
    forms = PLURAL_FORMS.get(str(catalog.locale))
    if forms:
        catalog._num_plurals, catalog._plural_expr = forms


def init_catalog(locale: str) -> Path:
    """Create an empty catalog for a new language ``locale`` (e.g. ``pl``) from the sources."""
    path = catalog_path(locale)
    if path.exists():
        raise FileExistsError(path)
    Locale.parse(locale)  # fail early on a code Babel does not know
    template = extract()
    name = Locale.parse(locale).english_name
    catalog = Catalog(
        locale=locale, domain=DOMAIN, project=PROJECT, version="1", fuzzy=False,
        charset="utf-8", copyright_holder="the Timebank contributors",
        msgid_bugs_address="translators@example.org", last_translator="Timebank translators",
        language_team=f"{name} <translators@example.org>", revision_date=datetime.now(),
        header_comment=(
            f"# {name} translations for Timebank.\n"
            "# Updated by `flask translate update`, checked by tests/test_i18n_catalogs.py;\n"
            "# see docs/i18n.md."
        ),
    )
    catalog.update(_copy(template), no_fuzzy_matching=True)
    save(catalog)
    return path


def update_catalogs() -> list[str]:
    """Extract, then merge the result into every catalog; return the locales updated.

    New msgids arrive untranslated (no fuzzy guesses); msgids gone from the sources are
    dropped, so an obsolete translation can never shadow a live one.
    """
    template = extract()
    locales = catalog_locales()
    for locale in locales:
        catalog = load(locale)
        catalog.update(_copy(template), no_fuzzy_matching=True, update_creation_date=False)
        catalog.obsolete.clear()
        save(catalog)
    return locales


def compile_catalogs(*, force: bool = True) -> list[str]:
    """Compile catalogs to ``messages.mo`` (all of them, or with ``force=False`` only stale
    ones); return the locales compiled. Fuzzy entries are left out, as gettext does."""
    compiled = []
    for locale in catalog_locales():
        po_path = catalog_path(locale)
        mo_path = po_path.with_suffix(".mo")
        if not force and mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        catalog = load(locale)
        _fix_plural_forms(catalog)
        buffer = BytesIO()
        write_mo(buffer, catalog, use_fuzzy=False)
        _atomic_write(mo_path, buffer.getvalue())
        compiled.append(locale)
    return compiled


def ensure_compiled() -> list[str]:
    """Compile catalogs whose ``.mo`` is missing or older than the ``.po`` (cheap when fresh).

    Called at start-up. A read-only install with fresh ``.mo`` files never writes.
    """
    try:
        return compile_catalogs(force=False)
    except OSError as error:  # e.g. a read-only file system: serve what is there
        logging.getLogger(__name__).warning("could not compile catalogs: %s", error)
        return []


# --- checking and refilling --------------------------------------------------------------------


def plural_tags(locale: str) -> list[str]:
    """Return the CLDR category of each gettext plural form of ``locale`` (ar: six of them)."""
    count = PLURAL_FORMS.get(locale, (Catalog(locale=locale).num_plurals,))[0]
    if count == 1:
        return ["other"]
    if count == 2:
        return ["one", "other"]
    rule_tags = set(Locale.parse(locale).plural_form.tags) | {"other"}
    return [tag for tag in PLURAL_TAGS if tag in rule_tags][:count]


def placeholders(text: str) -> set[str]:
    """Return the named ``%(name)s`` placeholders in ``text``."""
    return set(_PLACEHOLDER.findall(text or ""))


def _key(message: Message) -> str:
    return message.id[0] if isinstance(message.id, (list, tuple)) else message.id


def _strings(message: Message) -> list[str]:
    return list(message.string) if isinstance(message.string, (list, tuple)) else [message.string]


def problems(locale: str, template: Catalog | None = None) -> list[str]:
    """Return what is wrong with ``locale``'s catalog against the sources (empty: complete).

    Fails on: a msgid extraction finds that the catalog lacks, an untranslated or partly
    translated entry, a fuzzy entry, an obsolete entry whose msgid is still used, a plural
    entry with the wrong number of forms, a translation whose ``%(name)s`` placeholders differ
    from the msgid's (a plural form may leave out ``num``), and Babel's own format checks.
    """
    template = template if template is not None else extract()
    catalog = load(locale)
    found = []
    expected_forms = len(plural_tags(locale))
    if catalog.num_plurals != expected_forms:
        found.append(f"{locale}: header has {catalog.num_plurals} plural forms, "
                     f"expected {expected_forms}")
    for message in template:
        if not message.id:
            continue
        entry = catalog.get(message.id, message.context)
        key = _key(message)
        if entry is None:
            where = "is obsolete but still used" if key in catalog.obsolete else "is missing"
            found.append(f"{locale}: msgid {key!r} {where}")
            continue
        if entry.fuzzy:
            found.append(f"{locale}: msgid {key!r} is fuzzy")
        strings = _strings(entry)
        if message.pluralizable and len(strings) != expected_forms:
            found.append(f"{locale}: msgid {key!r} has {len(strings)} plural forms, "
                         f"expected {expected_forms}")
        if not all(s and s.strip() for s in strings):
            found.append(f"{locale}: msgid {key!r} is untranslated")
            continue
        ids = list(message.id) if message.pluralizable else [message.id]
        wanted = set().union(*(placeholders(i) for i in ids))
        for string in strings:
            have = placeholders(string)
            allowed_missing = {"num"} if message.pluralizable else set()
            if have - wanted or (wanted - have) - allowed_missing:
                found.append(f"{locale}: msgid {key!r} placeholders {sorted(have)} != "
                             f"{sorted(wanted)} in {string!r}")
                break
    for message, errors in catalog.check():
        for error in errors:
            found.append(f"{locale}: msgid {_key(message)!r}: {error}")
    return found


def export_todo(locales: list[str] | None = None) -> list[dict]:
    """Return every msgid that some catalog lacks a usable translation for, as refill rows:
    ``{"msgid", "msgid_plural", "context", "where": ["file:line"], "plural_forms": {locale:
    [categories]}, "<locale>": "" or ["", ...] per locale, with what is there already}``."""
    template = extract()
    locales = locales or catalog_locales()
    catalogs = {locale: load(locale) for locale in locales}
    rows = []
    for message in template:
        if not message.id:
            continue
        row = {
            "msgid": _key(message),
            "msgid_plural": message.id[1] if message.pluralizable else None,
            "context": message.context,
            "where": [f"{path}:{line}" for path, line in message.locations][:3],
        }
        incomplete = False
        for locale, catalog in catalogs.items():
            entry = catalog.get(message.id, message.context)
            count = len(plural_tags(locale)) if message.pluralizable else 1
            strings = _strings(entry) if entry is not None and not entry.fuzzy else []
            strings = (strings + [""] * count)[:count]
            if not all(s.strip() for s in strings):
                incomplete = True
            row[locale] = strings if message.pluralizable else strings[0]
        if message.pluralizable:
            row["plural_forms"] = {locale: plural_tags(locale) for locale in catalogs}
        if incomplete:
            rows.append(row)
    return rows


def fill(rows: list[dict]) -> dict[str, int]:
    """Write the translations in refill ``rows`` (as :func:`export_todo` returns, filled in)
    into the catalogs; return how many entries each locale received.

    Empty strings are skipped; a filled entry loses its fuzzy flag. Rows for msgids the
    sources no longer have are ignored.
    """
    template = extract()
    counts: dict[str, int] = {}
    locales = catalog_locales()
    catalogs = {locale: load(locale) for locale in locales}
    for catalog in catalogs.values():
        catalog.update(_copy(template), no_fuzzy_matching=True, update_creation_date=False)
        catalog.obsolete.clear()
    for row in rows:
        for locale, catalog in catalogs.items():
            value = row.get(locale)
            if not value:
                continue
            msgid = (row["msgid"], row["msgid_plural"]) if row.get("msgid_plural") else row["msgid"]
            entry = catalog.get(msgid, row.get("context"))
            if entry is None:
                continue
            if entry.pluralizable:
                values = list(value) if isinstance(value, list) else [value]
                if not all(v.strip() for v in values):
                    continue
                entry.string = tuple(values)
            elif isinstance(value, str) and value.strip():
                entry.string = value
            else:
                continue
            entry.flags.discard("fuzzy")
            counts[locale] = counts.get(locale, 0) + 1
    for catalog in catalogs.values():
        save(catalog)
    return counts


def main(argv: list[str] | None = None) -> int:
    """``python -m timebank.translations <command>``: the catalog chores without an app.

    Commands: ``update``, ``compile``, ``check``, ``todo [FILE]``, ``fill FILE``,
    ``init LOCALE``, ``pot [FILE]``.
    """
    args = list(sys.argv[1:] if argv is None else argv)
    command = args.pop(0) if args else "--help"
    if command == "update":
        print("updated:", ", ".join(update_catalogs()))
    elif command == "compile":
        print("compiled:", ", ".join(compile_catalogs()))
    elif command == "check":
        template = extract()
        found = [problem for locale in catalog_locales() for problem in problems(locale, template)]
        print("\n".join(found) or f"complete: {len(template)} msgids in {catalog_locales()}")
        return 1 if found else 0
    elif command == "todo":
        text = json.dumps(export_todo(), ensure_ascii=False, indent=1)
        if args:
            Path(args[0]).write_text(text + "\n", encoding="utf-8")
        else:
            print(text)
    elif command == "fill" and args:
        rows = json.loads(Path(args[0]).read_text(encoding="utf-8"))
        print("filled:", fill(rows))
    elif command == "init" and args:
        print("created:", init_catalog(args[0]))
    elif command == "pot":
        print("wrote:", write_template(Path(args[0]) if args else POT))
    else:
        print(main.__doc__)
        return 0 if command in ("--help", "-h", "help") else 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
