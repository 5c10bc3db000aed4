"""`make lab`: JupyterLab starts from the project venv, its kernel imports presto, and widgets are installed."""
import json, os, socket, subprocess, sys, time, urllib.request
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent

def test_widgets_extension_enabled():
    out = subprocess.run([str(BIN / 'jupyter'), 'labextension', 'list'], capture_output=True, text=True, cwd=ROOT)
    text = out.stdout + out.stderr
    assert '@jupyter-widgets/jupyterlab-manager' in text and 'enabled' in text, text

def test_kernel_imports_presto_and_ipywidgets():
    spec = json.loads(subprocess.run([str(BIN / 'jupyter'), 'kernelspec', 'list', '--json'], capture_output=True, text=True).stdout)
    argv = spec['kernelspecs']['python3']['spec']['argv']
    exe = argv[0] if argv[0] != 'python' else sys.executable
    code = 'import presto, presto.edm, ipywidgets; print(presto.__file__)'
    out = subprocess.run([exe, '-c', code], capture_output=True, text=True, cwd=ROOT / 'nbs')
    assert out.returncode == 0, out.stderr
    assert Path(out.stdout.strip()).resolve().is_relative_to(ROOT / 'presto'), out.stdout   # the editable checkout

def _free_port() -> int:
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

def test_lab_server_starts_on_nbs():
    port, token = _free_port(), 'presto-test'
    cmd = [str(BIN / 'jupyter'), 'lab', '--no-browser', f'--ServerApp.port={port}', '--ServerApp.ip=127.0.0.1',
           f'--IdentityProvider.token={token}', '--notebook-dir=nbs', '--allow-root']
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, 'JUPYTER_NO_CONFIG': '1'})
    try:
        url = f'http://127.0.0.1:{port}/api/contents?token={token}'
        for _ in range(120):
            try:
                listing = json.load(urllib.request.urlopen(url, timeout=2)); break
            except OSError: time.sleep(0.25)
        else: pytest.fail('jupyter lab did not answer within 30 s: ' + proc.stderr.read1(4000).decode())
        names = {c['name'] for c in listing['content']}
        assert '00_edm.ipynb' in names, names
        lab = urllib.request.urlopen(f'http://127.0.0.1:{port}/lab?token={token}', timeout=5).read().decode()
        assert 'JupyterLab' in lab or 'jupyter-config-data' in lab
    finally:
        proc.terminate(); proc.wait(10)
