"""tools/check_sync.py: the notebook/package sync check fails when it should (run on copies of the repo)."""
import json, shutil, subprocess, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture
def repo(tmp_path):
    for name in ('nbs', 'presto'): shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints'))
    shutil.copy(ROOT / 'pyproject.toml', tmp_path)
    return tmp_path

def check(root: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(ROOT / 'tools' / 'check_sync.py'), '--root', str(root)],
                          capture_output=True, text=True, cwd=root, env={'PATH': str(Path(sys.executable).parent)})

def test_clean_copy_passes(repo):
    r = check(repo)
    assert r.returncode == 0, r.stdout + r.stderr

def test_hand_edited_module_fails(repo):
    (repo / 'presto' / 'edm.py').write_text((repo / 'presto' / 'edm.py').read_text() + '\nHAND_EDIT = 1\n')
    r = check(repo)
    assert r.returncode == 1 and 'presto/edm.py: changed by nbdev-clean/nbdev-export' in r.stdout, r.stdout

def test_unclean_notebook_fails(repo):
    nb = json.loads((repo / 'nbs' / '00_edm.ipynb').read_text())
    nb['cells'][2]['execution_count'] = 7; nb['metadata']['widgets'] = {'state': {}}
    (repo / 'nbs' / '00_edm.ipynb').write_text(json.dumps(nb, indent=1))
    r = check(repo)
    assert r.returncode == 1 and 'nbs/00_edm.ipynb: changed' in r.stdout, r.stdout

def test_orphan_module_fails(repo):
    shutil.copy(repo / 'presto' / 'edm.py', repo / 'presto' / 'old_name.py')
    (repo / 'presto' / 'old_name.py').write_text((repo / 'presto' / 'edm.py').read_text().replace('00_edm.ipynb', '00_old_name.ipynb'))
    r = check(repo)
    assert r.returncode == 1 and 'old_name.py: its notebook ../nbs/00_old_name.ipynb does not exist' in r.stdout, r.stdout
