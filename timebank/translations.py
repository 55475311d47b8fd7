"""Catalog workflow: extract with pybabel over ``timebank/``, update and compile catalogs.

Compiled ``.mo`` files are build output, produced at start-up when missing or stale
(:func:`ensure_compiled`) and never committed.
"""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "translations"
POT = TRANSLATIONS / "messages.pot"
BABEL_CFG = ROOT / "babel.cfg"


def _pybabel(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", *args], check=True)


def extract() -> None:
    """Write ``translations/messages.pot`` from the sources."""
    _pybabel(
        "extract", "-F", str(BABEL_CFG), "-k", "_l", "-k", "N_", "--no-location",
        "--sort-output", "-o", str(POT), str(ROOT / "timebank"),
    )


def update_catalogs() -> None:
    """Extract, then merge the template into every ``translations/<lang>/.../messages.po``."""
    extract()
    _pybabel("update", "-i", str(POT), "-d", str(TRANSLATIONS), "--no-fuzzy-matching",
             "--ignore-obsolete")


def compile_catalogs() -> None:
    """Compile every catalog to ``messages.mo``."""
    if any(TRANSLATIONS.glob("*/LC_MESSAGES/messages.po")):
        _pybabel("compile", "-d", str(TRANSLATIONS), "--statistics")


def ensure_compiled() -> None:
    """Compile catalogs whose ``.mo`` is missing or older than the ``.po`` (cheap when fresh)."""
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    for po_path in TRANSLATIONS.glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as po_file:
            catalog = read_po(po_file)
        with mo_path.open("wb") as mo_file:
            write_mo(mo_file, catalog)
