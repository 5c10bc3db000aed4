"""The import contract in pyproject.toml: it holds for the package, and a lower module that imports a higher one breaks it."""
import os, shutil, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LINT = Path(sys.executable).parent / 'lint-imports'

def lint(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), '--no-cache', '--config', str(root / 'pyproject.toml')], cwd=root, capture_output=True,
                          text=True, env={**os.environ, 'PYTHONPATH': str(root)})

def test_layers_kept():
    r = lint(ROOT)
    assert r.returncode == 0 and 'KEPT' in r.stdout, r.stdout + r.stderr

def test_an_upward_import_breaks_the_contract(tmp_path):
    shutil.copytree(ROOT / 'presto', tmp_path / 'presto', ignore=shutil.ignore_patterns('__pycache__'))
    shutil.copy(ROOT / 'pyproject.toml', tmp_path)
    edm = tmp_path / 'presto' / 'edm.py'            # a foundation that reaches up to the pipeline, inside a function
    edm.write_text(edm.read_text() + '\n\ndef _upward():\n    from presto.pipeline import Pipeline\n    return Pipeline\n')
    r = lint(tmp_path)
    assert r.returncode == 1 and 'BROKEN' in r.stdout and 'presto.edm -> presto.pipeline' in r.stdout, r.stdout + r.stderr
