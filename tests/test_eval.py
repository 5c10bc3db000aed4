"""presto.metrics end to end on a tiny tone dataset: `presto train-embedder`, the embedder's checkpoint round trip,
the latency harness on a tiny base model, `presto eval` and `presto bench`, and their error paths."""
import json, math
from pathlib import Path
import pytest, torch
from presto.cli import main
from conftest import ENSEMBLES

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope='module')
def embedder(tone_ds, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('emb') / 'embedder'
    assert main(['train-embedder', '--dataset', str(tone_ds), '--out', str(out), '--steps', '4', '--batch-size', '4', '--crop-frames', '32']) == 0
    return out

def test_embedder_checkpoint(embedder, tone_ds):
    from presto.metrics import load_split
    from presto.embedder import load_embedder, ATTRIBUTES
    E = load_embedder(embedder)
    info = json.loads(embedder.with_suffix('.json').read_text())['config']['info']
    assert info['train']['steps'] == 4 and len(info['log']) == 1 and set(info['test']) >= {'text_to_audio_R@10', 'attribute_accuracy', 'clap_true_pairs'}
    assert E.model.cfg.classes['ensemble'] == sorted(ENSEMBLES[:2]) and set(E.model.cfg.classes) == set(ATTRIBUTES)
    wav, rows = load_split(tone_ds, 'test')
    a, t = E.embed_audio(wav), E.embed_text([r['caption'] for r in rows])
    assert a.shape == t.shape == (8, 128) and torch.allclose(a.norm(dim=-1), torch.ones(8), atol=1e-4)
    assert all(len(v) == 8 and set(v) <= set(E.model.cfg.classes[k]) for k, v in E.classify(wav).items())
    assert (tone_ds / 'cache' / 'mel64' / 'meta.json').is_file()                      # the mel cache, reused next time

def test_measure_latency(tiny):
    from presto.pipeline import Pipeline
    from presto.metrics import measure_latency
    pipe = Pipeline.load(str(tiny), checkpoint_dir=ROOT / 'data/checkpoints')
    r = measure_latency(pipe, sampler='heun', steps=3, batch=2, repeats=2, duration=2.0)
    assert r['nfe'] == 5 and r['batch'] == 2 and r['model'] == 'base_tiny'
    assert 0 < r['text_ms'] and 0 < r['dit_ms'] and 0 < r['decode_ms'] and r['total_ms'] >= 0.9 * (r['text_ms'] + r['dit_ms'] + r['decode_ms'])
    assert math.isclose(r['rtf'], 2 * 2.0 / (r['total_ms'] / 1e3), rel_tol=1e-6) and math.isclose(r['ms_per_nfe'], r['dit_ms'] / 5)

def test_eval_cli(tiny, embedder, tone_ds, tmp_path, capsys):
    out = tmp_path / 'rows.json'
    assert main(['eval', '--model', str(tiny), '--embedder', str(embedder), '--dataset', str(tone_ds), '--sampler', 'euler,dpmpp_2m',
                 '--steps', '2', '--cfg', '1,3', '--batch-size', '4', '--out', str(out)]) == 0
    floor, *rows = json.loads(out.read_text())                                       # first the floor: real vs real at the same n
    assert floor['model'].startswith('floor') and floor['n'] == 8 and floor['fad'] > 0 and 'fad_std' in floor
    for r in rows: assert math.isclose(r['excess_fad'], r['fad'] - floor['fad'])
    assert [(r['sampler'], r['cfg']) for r in rows] == [('euler', 1.0), ('euler', 3.0), ('dpmpp_2m', 1.0), ('dpmpp_2m', 3.0)]
    for r in rows:
        assert r['n'] == 8 and r['nfe'] == 2 and r['fad'] > 0 and 0 <= r['coverage'] <= 1 and -1 <= r['clap'] <= 1
        assert 0 <= r['attr_acc'] <= 1 and r['latency_ms'] > 0 and math.isfinite(r['mmd'])
    assert 'wrote 5 row(s)' in capsys.readouterr().out

def test_bench_cli(tiny, tmp_path, capsys):
    out = tmp_path / 'bench.json'
    assert main(['bench', '--model', str(tiny), '--sampler', 'euler', '--steps', '2,4', '--batch', '1,2', '--repeats', '1', '--json', str(out),
                 '--profile', str(tmp_path / 'prof.txt')]) == 0
    rows = json.loads(out.read_text())
    assert [(r['steps'], r['batch']) for r in rows] == [(2, 1), (4, 1), (2, 2), (4, 2)]
    for r in rows: assert 0 < r['overhead'] < 1 and abs(r['overhead'] - (1 - r['dit_ms'] / r['total_ms'])) < 1e-9 and r['clips_per_s'] > 0
    text = capsys.readouterr().out
    assert 'presto bench' in text and 'ms_per_nfe' in text and 'rtf' in text and 'overhead' in text
    prof = (tmp_path / 'prof.txt').read_text()
    assert all(f'stage: {s}' in prof for s in ('text', 'sampling', 'decoding')) and 'aten::' in prof

@pytest.mark.parametrize('args, message', [
    (['eval', '--sampler', 'ddim'], "--sampler: unknown 'ddim'; allowed: euler, heun, dpmpp_2m, multistep"),
    (['eval', '--cfg', '2,-1'], 'CFG scale must be a finite number >= 0'),
    (['bench', '--model', 'nope'], "no model checkpoint 'nope'"),
    (['eval', '--embedder', 'no/such/embedder'], 'checkpoint file not found: no/such/embedder.json'),
])
def test_eval_errors(tiny, args, message, capsys):
    argv = args + (['--model', str(tiny)] if '--model' not in args else [])
    assert main(argv) == 2
    assert message in capsys.readouterr().err

def test_eval_with_a_plugged_in_embedder(tiny, tone_ds, tmp_path):
    "Any factory `python:MODULE.FUNCTION` returning sample_rate/embed_audio/embed_text works; audio-only ones skip the CLAP score."
    out = tmp_path / 'rows.json'
    assert main(['eval', '--model', str(tiny), '--embedder', 'python:presto.embedder.mel_stats_embedder', '--dataset', str(tone_ds),
                 '--sampler', 'euler', '--steps', '2', '--batch-size', '8', '--no-latency', '--out', str(out)]) == 0
    floor, r = json.loads(out.read_text())
    assert r['fad'] > 0 and 0 <= r['coverage'] <= 1 and 'clap' not in r and 'attr_acc' not in r and 'latency_ms' not in r

@pytest.mark.parametrize('spec, message', [('laion-clap:/no/such/clap.pt', 'LAION-CLAP checkpoint not found'),
                                           ('python:no_such_module.f', "cannot import 'no_such_module.f'")])
def test_bad_embedder_specs(tiny, spec, message, capsys):
    assert main(['eval', '--model', str(tiny), '--embedder', spec]) == 2
    assert message in capsys.readouterr().err
