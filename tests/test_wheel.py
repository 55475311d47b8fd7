"""The wheel servers install (ansible/, issue 16) carries every file the app reads at run time.

Servers install the built wheel, never a checkout: a data file missing from
``[tool.setuptools.package-data]`` (as the ledger's SQL once was) breaks the first migration on
a server while every test run from the checkout passes. The wheel is built from a copy of the
tracked files, offline, so the checkout is left untouched.
"""

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGED = ("timebank/", "migrations/", "translations/")


def test_the_wheel_carries_every_tracked_file_of_the_packages(tmp_path):
    tracked = subprocess.run(
        ["git", "ls-files", "--", *PACKAGED, "pyproject.toml"], cwd=ROOT, check=True,
        capture_output=True, text=True,
    ).stdout.split()
    source = tmp_path / "source"
    for name in tracked:
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, source / name)
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation",
         "--no-index", f"--wheel-dir={tmp_path / 'wheel'}", str(source)],
        check=True, capture_output=True,
    )
    [wheel] = (tmp_path / "wheel").glob("timebank-*.whl")
    in_wheel = set(zipfile.ZipFile(wheel).namelist())

    missing = [name for name in tracked if name.startswith(PACKAGED) and name not in in_wheel]
    assert missing == []
