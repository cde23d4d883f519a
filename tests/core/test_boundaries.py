"""core/ is the engine: it must import and run with Qt unavailable."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

BLOCK_QT = """
import sys
class BlockQt:
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('PySide6', 'pyqtgraph', 'shiboken6', 'PyQt5', 'PyQt6'):
            raise ImportError('Qt is blocked in core: ' + name)
sys.meta_path.insert(0, BlockQt())
import pkgutil, importlib, core
for module in pkgutil.iter_modules(core.__path__):
    importlib.import_module('core.' + module.name)
from core.cli import run_cli
assert run_cli(['train', '--dataset', 'mnist-sample', '--hidden', '16', '--epochs', '1', '--batch-size', '500',
                '--out', sys.argv[1], '--json']) == 0
print('ok')
"""


def test_core_imports_and_trains_with_qt_blocked(tmp_path):
    done = subprocess.run([sys.executable, "-c", BLOCK_QT, str(tmp_path / "m.safetensors")], cwd=ROOT,
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "OMP_NUM_THREADS": "1"})  # one thread: fast on a busy machine too
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("ok")
