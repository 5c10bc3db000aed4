"""`presto distill` end to end on a tiny base model and a tiny tone dataset: the preset/flag merge, resume from the run
folder, the generator checkpoint, and the distilled model through `presto generate`, `presto eval` and `presto bench`."""
import json
from pathlib import Path
import pytest, torch
from presto.cli import main

ROOT = Path(__file__).resolve().parents[1]
AE = str(ROOT / 'data/checkpoints/autoencoder')

def distill(tiny, tone_ds, out, *extra):
    return main(['distill', '--base', str(tiny), '--dataset', str(tone_ds), '--autoencoder', AE, '--out', str(out),
                 '--run-dir', str(out.parent / 'run'), '--steps', '4', '--batch-size', '2', '--gen-every', '2', '--log-every', '1',
                 '--ckpt-every', '2', '--fp32', *extra])

@pytest.fixture(scope='module')
def generator(tiny, tone_ds, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('distill') / 'presto_s_tiny'
    assert distill(tiny, tone_ds, out, '--stop-at', '2') == 0 and not out.with_suffix('.json').exists()   # stopped: no model yet
    assert distill(tiny, tone_ds, out) == 0                                                                 # resumes at update 2
    return out

def test_distill_resumes_and_saves_a_generator(generator):
    rows = [json.loads(l) for l in (generator.parent / 'run' / 'metrics.jsonl').read_text().splitlines()]
    assert [r['step'] for r in rows] == [1, 2, 3, 4]                                    # each update once, across the two runs
    assert {'dmd_grad_norm', 'score_gap', 'g_loss', 'd_loss', 'fake_loss'} <= set(rows[1])
    meta = json.loads(generator.with_suffix('.json').read_text())
    assert meta['kind'] == 'presto-s' and meta['config']['method'] == 'presto-s'
    assert meta['config']['sampling'] == {'sampler': 'multistep', 'steps': 4, 'cfg': 1.0}
    assert meta['config']['presto_s']['steps'] == 4 and meta['config']['presto_s']['gan'] is True
    assert (generator.parent / 'run' / 'generator.json').is_file()                     # the mid-run snapshot

def test_distilled_weights_moved(generator, tiny):
    from presto.dmd import load_generator
    from presto.train import load_base_model
    g, b = load_generator(generator), load_base_model(tiny)
    assert max((p - q).abs().max().item() for p, q in zip(g.parameters(), b.parameters())) > 0

def test_generate_with_the_generator(generator, tmp_path, capsys):
    assert main(['generate', 'a slow tune on the flute', '--model', str(generator), '--out', str(tmp_path / 'a.wav'), '--no-png']) == 0
    s = json.loads((tmp_path / 'a.json').read_text())
    assert (s['sampler'], s['steps'], s['cfg'], s['nfe']) == ('multistep', 4, 1.0, 4)   # the generator's own defaults
    assert main(['generate', 'a slow tune on the flute', '--model', str(generator), '--steps', '1', '--out', str(tmp_path / 'b.wav')]) == 0
    assert json.loads((tmp_path / 'b.json').read_text())['steps'] == 1
    assert 'multistep, 1 steps (1 NFE), cfg 1' in capsys.readouterr().out

def test_short_name(generator, tiny, tmp_path):
    "`--model presto-s` means <checkpoint_dir>/presto_s_<preset>."
    import shutil
    from presto.sampling import resolve_model
    for p in (generator, tiny):
        for ext in ('.json', '.safetensors'): shutil.copy(p.with_suffix(ext), tmp_path / (p.name + ext))
    assert resolve_model('presto-s', tmp_path, 'tiny') == tmp_path / 'presto_s_tiny'
    assert main(['generate', 'a reel', '--model', 'presto-s', '--preset', 'tiny', '--checkpoint-dir', str(tmp_path),
                 '--autoencoder', AE, '--out', str(tmp_path / 'c.wav'), '--no-png']) == 0

def test_eval_and_bench_base_vs_generator(generator, tiny, tone_ds, tmp_path):
    out = tmp_path / 'rows.json'
    assert main(['eval', '--model', f'{tiny},{generator}', '--embedder', 'python:presto.embedder.mel_stats_embedder',
                 '--dataset', str(tone_ds), '--batch-size', '8', '--no-latency', '--out', str(out)]) == 0
    rows = json.loads(out.read_text())[1:]                                            # after the floor row
    assert [(r['model'], r['sampler'], r['steps'], r['cfg']) for r in rows] == [('base_tiny', 'dpmpp_2m', 16, 3.0), ('presto_s_tiny', 'multistep', 4, 1.0)]
    bench = tmp_path / 'bench.json'
    assert main(['bench', '--model', f'{tiny},{generator}', '--batch', '1', '--repeats', '1', '--json', str(bench)]) == 0
    b = json.loads(bench.read_text())
    assert [r['model'] for r in b] == ['base_tiny', 'presto_s_tiny'] and b[0]['speedup'] == 1.0
    assert b[1]['speedup'] == pytest.approx(b[0]['total_ms'] / b[1]['total_ms'])

@pytest.mark.parametrize('args, message', [
    (['--method', 'sid'], "invalid choice: 'sid'"),
    (['--gen-sigma', 'uniform'], "invalid choice: 'uniform'"),
    (['--gen-sigmas', '80,x'], "'80,x': not comma-separated numbers"),
    (['--mix', '2'], 'mix must be in [0, 1], got 2.0'),
    (['--base', 'nope'], "no model checkpoint 'nope'"),
    (['--lr-gen', '0'], 'PrestoSConfig.lr_gen must be a finite number > 0, got 0.0'),
    (['--cfg', '-1'], 'PrestoSConfig.cfg must be a finite number >= 0, got -1.0'),
    (['--ema-decay', '1'], 'ema_decay must be in [0, 1), got 1.0'),
    (['--stop-at', '0'], "'0': not a positive integer"),
    (['--backsim'], 'backsim needs gen_sigmas, the sampling levels from the highest down'),
    (['--backsim', '--gen-sigmas', '2.5,80'], 'got (2.5, 80.0)'),
])
def test_distill_errors(args, message, capsys):
    assert main(['distill', *args]) == 2
    assert message in capsys.readouterr().err

def test_method_presets_and_flags():
    import argparse
    from presto.commands.distill import add_cli_args, distill_config
    from presto.dmd import DISTILL_PRESETS, GRID4
    p = argparse.ArgumentParser(); add_cli_args(p); p.add_argument('--x', default=None)
    c = distill_config(p.parse_args(['--method', 'dmd2', '--gen-sigma', 'mix']), seed=3)
    assert c.gen_sigmas == GRID4 and c.backsim and c.gan_loss == 'ns' and c.gen_sigma == 'mix' and c.seed == 3   # the preset, one field replaced
    assert distill_config(p.parse_args(['--method', 'dmd'])).gan is False
    assert distill_config(p.parse_args(['--method', 'dmd', '--gan'])).gan is True
    c = distill_config(p.parse_args(['--backsim', '--gen-sigmas', '80,2.5']))
    assert c.backsim and c.gen_sigmas == (80., 2.5) and not distill_config(p.parse_args([])).backsim
    assert distill_config(p.parse_args([])) == DISTILL_PRESETS['presto-s'].__class__(**{**DISTILL_PRESETS['presto-s'].__dict__, 'seed': 0})

def test_p_train_option():
    import math
    from presto.dmd import PrestoSConfig, train_levels
    assert train_levels(PrestoSConfig(), 4.94).P_mean == -1.2
    assert train_levels(PrestoSConfig(p_train='data'), 5.).P_mean == pytest.approx(-1.2 + math.log(10))
    with pytest.raises(ValueError, match="PrestoSConfig.p_train must be one of edm, data, got 'x'"): PrestoSConfig(p_train='x')

# 2 processes (gloo on CPU) against 1, at the same global batch

from ddp_toys import toy_data as _data, toy_base as _base

def _cfg(backsim: bool = False):
    from presto.dmd import PrestoSConfig
    sim = {'gen_sigmas': (80., 2.5, 0.17), 'backsim': True} if backsim else {}       # backward simulation: masks and extra draws per rank
    return PrestoSConfig(steps=3, batch_size=8, gen_every=1, bf16=False, log_every=1, ckpt_every=3, lr_gen=1e-3, lr_fake=1e-3, **sim)

def _rank(rank: int, world: int, tmp: str, backsim: bool):
    from safetensors.torch import save_file
    from presto.dmd import train_presto_s
    torch.set_num_threads(1)
    torch.distributed.init_process_group('gloo', init_method=f'file://{tmp}/rendezvous', rank=rank, world_size=world)
    try:
        m = train_presto_s(_base(), *_data(), Path(tmp) / 'ddp', _cfg(backsim), progress=False)
        save_file({k: v.contiguous() for k, v in m.state_dict().items()}, f'{tmp}/rank{rank}.safetensors')
    finally: torch.distributed.destroy_process_group()

@pytest.mark.parametrize('backsim', [False, True])
def test_two_processes_match_one(tmp_path, backsim):
    """Presto-S on 2 processes: the ranks end identical, and every logged term of the first update (fake score, discriminator,
    generator) matches 1 process on the same global batch; later ones agree up to Adam's amplified float rounding."""
    import torch.multiprocessing as mp
    from safetensors.torch import load_file
    from presto.dmd import train_presto_s
    mp.spawn(_rank, args=(2, str(tmp_path), backsim), nprocs=2, join=True)
    r0, r1 = load_file(str(tmp_path / 'rank0.safetensors')), load_file(str(tmp_path / 'rank1.safetensors'))
    assert all(torch.equal(r0[k], r1[k]) for k in r0), 'ranks hold different weights'
    one = train_presto_s(_base(), *_data(), tmp_path / 'single', _cfg(backsim), progress=False)
    read = lambda d: [json.loads(l) for l in (tmp_path / d / 'metrics.jsonl').read_text().splitlines()]
    ddp, single = read('ddp'), read('single')
    assert [r['step'] for r in ddp] == [r['step'] for r in single] == [1, 2, 3]
    assert {'fake_loss', 'd_loss', 'dmd_loss', 'g_loss', 'gen_grad_norm'} <= set(ddp[0])
    for k in ddp[0]: assert ddp[0][k] == pytest.approx(single[0][k], rel=1e-4, abs=1e-6), k
    for a, b in zip(ddp, single): assert a['fake_loss'] == pytest.approx(b['fake_loss'], rel=5e-2)
    init = _base().state_dict()
    moved = lambda prefix: max((r0[prefix + k] - v).abs().max().item() for k, v in init.items())
    assert moved('gen.') > 1e-4 and moved('fake.') > 1e-4 and all(torch.equal(r0['real.' + k], v) for k, v in init.items())
    diff = max((r0[k] - v).abs().max().item() for k, v in one.state_dict().items() if k.startswith('gen.'))
    assert diff < _cfg().lr_gen, f'2 processes ended {diff:.2g} away from 1 process'   # Adam can turn rounding into steps of lr

def test_distill_under_torchrun(tiny, tone_ds, tmp_path):
    "`presto distill` launched by torchrun on 2 CPU processes: rank 0 encodes, logs and saves; the checkpoint records 2 processes."
    import os, subprocess, sys
    out = tmp_path / 'presto_s_ddp'
    cmd = [sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2', '-m', 'presto.cli', 'distill',
           '--base', str(tiny), '--dataset', str(tone_ds), '--autoencoder', AE, '--out', str(out), '--run-dir', str(tmp_path / 'run'),
           '--steps', '2', '--batch-size', '2', '--gen-every', '1', '--log-every', '1', '--fp32']
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env={**os.environ, 'OMP_NUM_THREADS': '1'})
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count('2 process(es)') == 1 and r.stdout.count('saved ') == 1       # one rank speaks
    meta = json.loads(out.with_suffix('.json').read_text())
    assert meta['config']['info']['processes'] == 2
    assert [json.loads(l)['step'] for l in (tmp_path / 'run' / 'metrics.jsonl').read_text().splitlines()] == [1, 2]
