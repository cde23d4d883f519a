"""The engine's boundary, checked by import-linter's contract in pyproject.toml (as napari does),
beside test_boundaries.py, which imports core with Qt blocked."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
pytestmark = pytest.mark.skipif(LINT is None, reason="import-linter is not installed (pip install -e '.[test]')")


def lint(cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([LINT, "--config", "pyproject.toml"], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={"PATH": str(Path(sys.executable).parent), "PYTHONPATH": str(cwd)})


def test_core_imports_neither_qt_nor_the_views():
    done = lint(ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "1 kept, 0 broken" in done.stdout


def test_the_contract_catches_a_qt_import_in_core(tmp_path):
    shutil.copy(ROOT / "pyproject.toml", tmp_path)
    for package in ("core", "gui"):
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / "core" / "plot.py").write_text("from PySide6.QtCore import QObject\n")
    done = lint(tmp_path)
    assert done.returncode == 1 and "BROKEN" in done.stdout, done.stdout + done.stderr
    assert "core.plot -> PySide6" in done.stdout
