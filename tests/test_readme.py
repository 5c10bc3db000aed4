"README.md is generated from nbs/index.ipynb by tools/make_readme.py, and its check catches drift."
import json, subprocess, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT/'tools'))
from make_readme import readme_text  # noqa: E402

INDEX, README = ROOT/'nbs/index.ipynb', ROOT/'README.md'


def run_check(nb:Path, out:Path):
    return subprocess.run([sys.executable, str(ROOT/'tools/make_readme.py'), '--check', '--nb', str(nb), '--out', str(out)],
                          capture_output=True, text=True)


def test_readme_is_up_to_date():
    assert README.read_text() == readme_text(INDEX), 'README.md is stale: run `make readme`'
    r = run_check(INDEX, README)
    assert r.returncode == 0, r.stderr


def test_check_fails_on_drift(tmp_path):
    readme = tmp_path/'README.md'
    readme.write_text(readme_text(INDEX))
    assert run_check(INDEX, readme).returncode == 0
    nb = json.loads(INDEX.read_text())
    md = [c for c in nb['cells'] if c['cell_type'] == 'markdown'][-1]
    md['source'] = ''.join(md['source']) + '\n\nA line the README does not have yet.'
    changed = tmp_path/'index.ipynb'
    changed.write_text(json.dumps(nb))
    r = run_check(changed, readme)
    assert r.returncode == 1 and 'out of date' in r.stderr and '+A line the README does not have yet.' in r.stderr


def test_hidden_cells_and_directives_are_dropped(tmp_path):
    def code(src, outputs=()): return dict(cell_type='code', metadata={}, source=src, outputs=list(outputs), execution_count=None)
    cells = [dict(cell_type='markdown', metadata={}, source='# demo\n\n> summary'),
             code('#| hide\nfrom secret import *'),
             code('#| export\ndef f(): pass'),
             code('#| echo: false\nprint(1)', [dict(output_type='stream', name='stdout', text='1\n')]),
             code('1 + 1', [dict(output_type='execute_result', data={'text/plain': '2'}, metadata={}, execution_count=1)])]
    nb = tmp_path/'nb.ipynb'
    nb.write_text(json.dumps(dict(cells=cells, metadata={}, nbformat=4, nbformat_minor=5)))
    text = readme_text(nb)
    assert text.startswith('# demo\n\n> summary\n\n<!-- WARNING')
    assert 'secret' not in text and 'def f' not in text and '#|' not in text and 'print(1)' not in text
    assert '```\n1\n```' in text and '```python\n1 + 1\n```\n\n```\n2\n```' in text
