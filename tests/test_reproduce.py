"""`presto reproduce tiny` end to end — data, autoencoder, base, embedder, Presto-S, DMD, DMD2, Presto-L, ASE, Presto-LS and
the results table — stopped after a stage and resumed, then run again with every stage skipped; stale stages made afresh;
and the errors of `presto results` and `presto reproduce`."""
import json, math
from pathlib import Path
import pytest
from presto.cli import main
from presto.results import RESULT_ROWS, reproduce_plan

@pytest.fixture(scope='module')
def rep(tmp_path_factory) -> Path:
    "A tiny reproduction, stopped after the base model and then continued to the end."
    out = tmp_path_factory.mktemp('reproduce') / 'tiny'
    assert main(['reproduce', 'tiny', '--out', str(out), '--stop-after', 'base']) == 0
    st = json.loads((out / 'reproduce.json').read_text())
    assert st['recipe'] == 'tiny' and [k for k, v in st['stages'].items() if v['status'] == 'done'] == ['data', 'autoencoder', 'base']
    assert (out / 'checkpoints/base_tiny.json').is_file() and not (out / 'checkpoints/embedder.json').exists()
    assert main(['reproduce', 'tiny', '--out', str(out)]) == 0
    return out

def test_every_stage_done_and_the_table(rep):
    st = json.loads((rep / 'reproduce.json').read_text())
    assert {k: v['status'] for k, v in st['stages'].items()} == {s.name: 'done' for s in reproduce_plan('tiny')}
    res = json.loads((rep / 'results.json').read_text())
    floor, *models = res['rows']
    assert floor['label'] == 'floor: real vs real' and floor['excess_fad'] == 0 and math.isfinite(floor['fad']) and floor['n'] == 8
    rows = {r['label']: r for r in models}
    assert list(rows) == [r.label for r in RESULT_ROWS]
    for r in rows.values(): assert math.isclose(r['excess_fad'], r['fad'] - floor['fad'])
    for r in rows.values(): assert math.isfinite(r['fad']) and 0 <= r['coverage'] <= 1 and r['latency_ms'] > 0 and r['n'] == 8
    assert rows['base']['speedup'] == 1 and (rows['base']['sampler'], rows['base']['steps'], rows['base']['blocks']) == ('dpmpp_2m', 16, 1)
    assert rows['Presto-L']['blocks'] <= 0.75 and rows['ASE']['blocks'] <= 0.75 and rows['Presto-LS, 4 steps']['blocks'] <= 0.7
    assert (rows['Presto-S, 2 steps']['sampler'], rows['Presto-S, 2 steps']['cfg']) == ('multistep', 1.0)
    assert {c['claim'] for c in res['claims']} >= {'Presto-L beats ASE at the same budget (0.75)', "Presto-LS, 4 steps: excess FAD at most 1.2x the base's"}
    assert (rep / 'results.md').read_text().startswith('| model | steps | blocks | FAD ↓ | excess FAD ↓')

def test_run_again_skips_everything(rep, capsys):
    before = {p.name: p.stat().st_mtime_ns for p in (rep / 'checkpoints').glob('*.safetensors')}
    assert main(['reproduce', 'tiny', '--out', str(rep), '--stop-after', 'presto-ls']) == 0
    out = capsys.readouterr().out
    assert all(f'[{s.name}] done, skipped' in out for s in reproduce_plan('tiny')[:-1])
    assert before == {p.name: p.stat().st_mtime_ns for p in (rep / 'checkpoints').glob('*.safetensors')}
    assert main(['reproduce', 'tiny', '--out', str(rep), '--dry-run']) == 0
    assert capsys.readouterr().out.count('done ') == len(reproduce_plan('tiny'))

def test_a_stage_that_runs_again_remakes_the_later_ones(rep, capsys):
    """Lose Presto-L's checkpoint: Presto-L runs again (its finished training run resumes at the end and saves it again),
    and ASE, Presto-LS and the table, made from it or after it, are removed and made afresh."""
    (rep / 'checkpoints/presto_l_tiny.json').unlink()
    s_before = (rep / 'checkpoints/presto_s_tiny.safetensors').stat().st_mtime_ns
    log_before = (rep / 'runs/presto_l_tiny/metrics.jsonl').read_text()
    assert main(['reproduce', 'tiny', '--out', str(rep), '--stop-after', 'presto-l']) == 0
    st = json.loads((rep / 'reproduce.json').read_text())['stages']
    assert st['presto-l']['status'] == 'done' and not {'ase', 'presto-ls', 'results'} & set(st)
    assert (rep / 'checkpoints/presto_l_tiny.json').is_file() and (rep / 'runs/presto_l_tiny/metrics.jsonl').read_text() == log_before
    assert not (rep / 'checkpoints/ase_tiny.json').exists() and not (rep / 'results.json').exists() and not (rep / 'runs/ase_tiny').exists()
    assert (rep / 'checkpoints/presto_s_tiny.safetensors').stat().st_mtime_ns == s_before
    assert main(['reproduce', 'tiny', '--out', str(rep)]) == 0 and (rep / 'results.json').is_file()

def test_errors(rep, tmp_path, capsys):
    assert main(['reproduce', 'cpu', '--out', str(rep)]) == 2
    assert "holds a reproduction with recipe 'tiny'" in capsys.readouterr().err
    assert main(['reproduce', 'tiny', '--out', str(tmp_path / 'x'), '--stop-after', 'training']) == 2
    assert "--stop-after 'training'; stages: data, autoencoder, base" in capsys.readouterr().err
    assert main(['reproduce', 'laptop']) == 2 and "invalid choice: 'laptop'" in capsys.readouterr().err
    assert main(['--checkpoint-dir', str(tmp_path), 'results']) == 2
    assert "results row 'base'" in (err := capsys.readouterr().err) and 'Make it with `presto train`' in err
    assert main(['--checkpoint-dir', str(rep / 'checkpoints'), '--preset', 'tiny', 'results', '--rows', 'base,dmd3']) == 2
    assert "--rows 'base,dmd3': unknown dmd3; allowed: base, ase, presto-l, dmd" in capsys.readouterr().err

def test_results_subset(rep, tmp_path, capsys):
    "`presto results --rows` on the reproduction's checkpoints: only those rows, the speed-up against the first."
    argv = ['--checkpoint-dir', str(rep / 'checkpoints'), '--data-dir', str(rep / 'data'), '--cache-dir', str(rep / 'cache'), '--preset', 'tiny']
    assert main([*argv, 'results', '--rows', 'base,presto-s', '--n', '7', '--rounds', '1', '--out', str(tmp_path / 'r.json')]) == 0
    rows = json.loads((tmp_path / 'r.json').read_text())['rows']
    assert [r['label'] for r in rows] == ['floor: real vs real', 'base', 'Presto-S, 1 step', 'Presto-S, 2 steps', 'Presto-S, 4 steps']
    assert {r['n'] for r in rows} == {7}
    assert '| Presto-S, 4 steps | 4 |' in (tmp_path / 'r.md').read_text()
    assert main([*argv, 'results', '--rows', 'base', '--n', '6', '--rounds', '1', '--out', str(tmp_path / 's.json')]) == 2
    assert 'density/coverage with k=5 needs at least 7 embeddings per set, got 8 and 6' in capsys.readouterr().err
