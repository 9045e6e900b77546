"""The package as users install it: metadata, typing marker, import hygiene, console script."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import entry_points, version
from pathlib import Path

import medinv


def test_version_comes_from_metadata():
    assert medinv.__version__ == version("medinv")


def test_py_typed_is_shipped():
    assert (Path(medinv.__file__).parent / "py.typed").is_file()


def test_public_names_are_exported():
    for name in medinv.__all__:
        assert hasattr(medinv, name), name


def test_import_medinv_imports_no_database_driver():
    code = (
        "import sys, medinv, medinv.testing, medinv.adapters;"
        "bad = sorted(m for m in ('sqlite3', '_sqlite3', 'psycopg') if m in sys.modules);"
        "print(','.join(bad))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == ""


def test_console_script_is_declared_and_runs_the_demo():
    (script,) = [ep for ep in entry_points(group="console_scripts") if ep.name == "medinv"]
    assert script.value == "medinv.cli:main"
    result = subprocess.run(
        [sys.executable, "-m", "medinv", "demo"], capture_output=True, text=True, check=True
    )
    assert "Demo complete." in result.stdout
    assert "refused: invalid GTIN '4006381333932'" in result.stdout


def test_version_flag():
    result = subprocess.run(
        [sys.executable, "-m", "medinv", "--version"], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == f"medinv {medinv.__version__}"
