"""`presto layerdrop` end to end on a tiny base model and a tiny tone dataset (resume, the presto-l checkpoint, the model
through `generate`, `eval` and `bench` at several budgets), 2-process training matching 1 process, and flag errors."""
import json
from pathlib import Path
import pytest, torch
import torch.multiprocessing as mp
from safetensors.torch import save_file, load_file
from presto.cli import main

ROOT = Path(__file__).resolve().parents[1]
AE = str(ROOT / 'data/checkpoints/autoencoder')

def layerdrop(tiny, tone_ds, out, *extra):
    return main(['layerdrop', '--base', str(tiny), '--dataset', str(tone_ds), '--autoencoder', AE, '--out', str(out),
                 '--run-dir', str(out.parent / 'run'), '--steps', '4', '--batch-size', '2', '--log-every', '1', '--ckpt-every', '2',
                 '--min-blocks', '1', '--budget', '0.8', '--fp32', *extra])

@pytest.fixture(scope='module')
def presto_l(tiny, tone_ds, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp('layerdrop') / 'presto_l_tiny'
    more = ('--denoise', '0.5')           # the untrained tiny base outputs 0 at any depth: the self-teacher loss alone has no gradient
    assert layerdrop(tiny, tone_ds, out, *more, '--stop-at', '2') == 0 and not out.with_suffix('.json').exists()   # stopped: no model
    assert layerdrop(tiny, tone_ds, out, *more) == 0                                                               # resumes at step 2
    return out

def test_layerdrop_resumes_and_saves(presto_l):
    rows = [json.loads(l) for l in (presto_l.parent / 'run' / 'metrics.jsonl').read_text().splitlines()]
    assert [r['step'] for r in rows] == [1, 2, 3, 4]                                    # each step once, across the two runs
    assert {'teacher_loss', 'denoise_loss', 'fraction', 'grad_norm'} <= set(rows[0])
    meta = json.loads(presto_l.with_suffix('.json').read_text())
    assert meta['kind'] == 'presto-l' and meta['config']['method'] == 'presto-l'
    assert meta['config']['sampling'] == {'sampler': 'dpmpp_2m', 'steps': 16, 'cfg': 3.0, 'budget': 0.8}
    ld = meta['config']['layerdrop']
    assert (ld['mode'], ld['rescale'], ld['budget_cond'], ld['min_blocks']) == ('keep_last', 'calibrated', True, 1)
    assert (presto_l.parent / 'run' / 'model.json').is_file()                           # the mid-run snapshot

def test_weights_moved_and_table_stored(presto_l, tiny):
    from presto.layerdrop import load_layerdrop
    from presto.train import load_base_model
    m, b = load_layerdrop(presto_l), load_base_model(tiny)
    assert m.table_std.shape == (16, 5) and (m.table_std > 0).all()
    base = b.state_dict()
    assert max((v.float() - base[k]).abs().max().item() for k, v in m.state_dict().items() if k in base) > 0
    assert m.net.extra_embed.weight.shape == (64, 5)                                     # one-hot of 0..4 active blocks

def test_generate_at_budgets(presto_l, tmp_path, capsys):
    assert main(['generate', 'a slow tune on the flute', '--model', str(presto_l), '--out', str(tmp_path / 'a.wav'), '--no-png']) == 0
    s = json.loads((tmp_path / 'a.json').read_text())
    assert (s['sampler'], s['steps'], s['cfg'], s['budget']) == ('dpmpp_2m', 16, 3.0, 0.8)    # the model's own defaults
    assert 0.5 < s['block_fraction'] <= 0.8
    assert main(['generate', 'a slow tune', '--model', str(presto_l), '--budget', '1', '--out', str(tmp_path / 'b.wav')]) == 0
    assert json.loads((tmp_path / 'b.json').read_text())['block_fraction'] == 1.0
    assert 'blocks 1.00' in capsys.readouterr().out

def test_eval_and_bench_over_budgets(presto_l, tiny, tone_ds, tmp_path):
    out = tmp_path / 'rows.json'
    assert main(['eval', '--model', f'{tiny},{presto_l}', '--embedder', 'python:presto.embedder.mel_stats_embedder', '--dataset', str(tone_ds),
                 '--batch-size', '8', '--no-latency', '--out', str(out)]) == 0
    rows = json.loads(out.read_text())[1:]                                            # after the floor row
    assert [(r['model'], r['budget'], r['blocks']) for r in rows][0] == ('base_tiny', 1.0, 1.0)
    assert rows[1]['model'] == 'presto_l_tiny' and rows[1]['budget'] == 0.8 and rows[1]['blocks'] <= 0.8
    bench = tmp_path / 'bench.json'
    assert main(['bench', '--model', str(presto_l), '--budget', '1,0.8', '--batch', '1', '--repeats', '1', '--json', str(bench)]) == 0
    b = json.loads(bench.read_text())
    assert [r['budget'] for r in b] == [1.0, 0.8] and b[0]['blocks'] == 1.0 and b[1]['blocks'] <= 0.8 and b[0]['speedup'] == 1.0

def test_eval_refuses_an_unreachable_budget_before_generating(presto_l, tone_ds, tmp_path, capsys, monkeypatch):
    "A budget the schedule cannot reach at these steps is an error before the first row is scored (none is generated)."
    import presto.commands.eval as ev
    monkeypatch.setattr(ev, 'evaluate', lambda *a, **k: pytest.fail('evaluate ran before the grid was checked'))
    assert main(['eval', '--model', str(presto_l), '--embedder', 'python:presto.embedder.mel_stats_embedder', '--dataset', str(tone_ds),
                 '--steps', '4', '--budget', '1,0.05', '--no-latency', '--out', str(tmp_path / 'rows.json')]) == 2
    assert 'budget=0.05: this schedule cannot spend less than' in capsys.readouterr().err and not (tmp_path / 'rows.json').exists()

def test_ase_preset(tiny, tone_ds, tmp_path):
    out = tmp_path / 'ase_tiny'
    assert layerdrop(tiny, tone_ds, out, '--method', 'ase', '--steps', '2') == 0
    meta = json.loads(out.with_suffix('.json').read_text())['config']
    assert meta['method'] == 'ase' and (meta['layerdrop']['mode'], meta['layerdrop']['rescale'], meta['layerdrop']['budget_cond']) == ('tail', 'none', False)
    rows = [json.loads(l) for l in (tmp_path / 'run' / 'metrics.jsonl').read_text().splitlines()]
    assert 'denoise_loss' in rows[0] and 'teacher_loss' not in rows[0]

def test_presto_ls_from_the_layer_drop_model(presto_l, tiny, tone_ds, tmp_path, capsys):
    "`presto distill --layers`: Presto-LS, saved as presto-ls, generated with its own defaults through the combined sampler."
    out = tmp_path / 'presto_ls_tiny'
    assert main(['distill', '--base', str(tiny), '--layers', str(presto_l), '--budget', '0.6', '--dataset', str(tone_ds), '--autoencoder', AE,
                 '--out', str(out), '--run-dir', str(tmp_path / 'run'), '--steps', '2', '--batch-size', '2', '--gen-every', '1', '--fp32']) == 0
    state, base = load_file(tmp_path / 'run' / 'train_state.safetensors'), load_file(f'{tiny}.safetensors')
    assert any(not torch.equal(state[f'fake.{k}'].float(), v.float()) for k, v in base.items())    # the fake score trains (it starts as
    meta = json.loads(out.with_suffix('.json').read_text())                                         #   a copy of the frozen real score)
    assert meta['kind'] == 'presto-ls' and meta['config']['sampling'] == {'sampler': 'multistep', 'steps': 4, 'cfg': 1.0, 'budget': 0.6}
    assert meta['config']['scores'] == 'full' and meta['config']['info']['layers'] == 'presto_l_tiny'
    assert main(['generate', 'a slow tune', '--model', str(out), '--out', str(tmp_path / 'a.wav'), '--no-png']) == 0
    s = json.loads((tmp_path / 'a.json').read_text())
    assert (s['sampler'], s['steps'], s['cfg'], s['budget']) == ('multistep', 4, 1.0, 0.6) and s['block_fraction'] <= 0.6
    assert main(['distill', '--base', str(tiny), '--layers', str(tiny), '--dataset', str(tone_ds), '--autoencoder', AE]) == 2
    assert 'is not a layer-drop model' in capsys.readouterr().err

def test_sampler_every_kind(presto_l, tiny):
    "The combined sampler takes each kind with its own defaults and refuses a budget for a full-depth model."
    from presto.sampling import GenerateError, Sampler, load_model
    cond = {'states': torch.randn(1, 3, 384), 'mask': torch.ones(1, 3, dtype=torch.bool), 'pooled': torch.randn(1, 384)}
    base, ld = load_model(tiny), load_model(presto_l)
    assert (base.kind, ld.kind) == ('base', 'presto-l')
    s = Sampler(ld, steps=2); z = s(cond, frames=16)
    assert z.shape == (1, 16, 16) and s.settings()['budget'] == 0.8 and s.blocks <= 0.8
    assert Sampler(base).settings() == {'sampler': 'dpmpp_2m', 'steps': 16, 'nfe': 16, 'cfg': 3.0, 'budget': 1.0}
    with pytest.raises(GenerateError, match='always runs full depth'): Sampler(base, budget=0.9)

def test_compare(presto_l, tiny, tmp_path, capsys):
    "`presto compare`: the same prompt through two models, both WAVs written, latency and speed-up printed."
    import shutil
    ck = tmp_path / 'ck'; ck.mkdir()
    for p in (presto_l, tiny, ROOT / 'data/checkpoints/autoencoder'):
        for ext in ('.json', '.safetensors'): shutil.copy(p.with_suffix(ext), ck / (p.name + ext))
    assert main(['compare', 'a slow tune on the flute', '--models', 'base,presto-l', '--preset', 'tiny', '--checkpoint-dir', str(ck),
                 '--out', str(tmp_path / 'out'), '--repeats', '1', '--no-png']) == 0
    out = capsys.readouterr().out
    assert (tmp_path / 'out/base_tiny/a-slow-tune-on-the-flute.wav').is_file() and (tmp_path / 'out/presto_l_tiny/a-slow-tune-on-the-flute.wav').is_file()
    assert 'presto_l_tiny is ' in out and 'x faster than base_tiny end to end' in out and 'speedup' in out
    assert main(['compare', 'a reel', '--models', 'base,nope', '--preset', 'tiny', '--checkpoint-dir', str(ck)]) == 2
    assert "no model checkpoint 'nope'" in capsys.readouterr().err

@pytest.mark.parametrize('argv, message', [
    (['layerdrop', '--method', 'lite'], "invalid choice: 'lite'"),
    (['layerdrop', '--mode', 'middle'], "invalid choice: 'middle'"),
    (['layerdrop', '--teacher', '0'], 'teacher=0.0, denoise=0.0: one loss weight must be > 0'),
    (['layerdrop', '--sigma-lo', '100'], 'sigma_lo=100.0, sigma_hi=80.0: need sigma_lo < sigma_hi'),
    (['layerdrop', '--base', 'nope'], "no model checkpoint 'nope'"),
    (['layerdrop', '--budget', '0.2'], 'budget=0.2: this schedule cannot spend less than'),
    (['layerdrop', '--stop-at', '0'], "'0': not a positive integer"),
    (['layerdrop', '--min-blocks', '99'], 'min_blocks=99: the base model has'),
    (['generate', 'a reel', '--budget', '1.5'], 'budget=1.5: must be a fraction of block evaluations in (0, 1]'),
    (['generate', 'a reel', '--budget', '0.7'], 'this model always runs full depth, so its budget must be 1'),
    (['eval', '--budget', '0.8,x'], "--budget 0.8,x"),
    (['distill', '--layers', 'nope'], "no model checkpoint 'nope'"),
])
def test_errors(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err

# 2 processes (gloo on CPU) against 1, at the same global batch

from ddp_toys import toy_data as _data, toy_base as _base

CFG = dict(steps=3, batch_size=8, bf16=False, log_every=1, ckpt_every=3, max_drop=3, min_blocks=1, sigma_lo=0.05, sigma_hi=5., lr=1e-3, warmup=1)

def _rank(rank: int, world: int, tmp: str):
    from presto.layerdrop import LayerDropConfig, train_layerdrop
    torch.set_num_threads(1)
    torch.distributed.init_process_group('gloo', init_method=f'file://{tmp}/rendezvous', rank=rank, world_size=world)
    try:
        model, _ = train_layerdrop(_base(), *_data(), Path(tmp) / 'ddp', LayerDropConfig(rescale='online', **CFG),
                                   table=(torch.zeros(1), torch.ones(1, 5)), progress=False)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f'{tmp}/rank{rank}.safetensors')
    finally: torch.distributed.destroy_process_group()

def test_two_processes_match_one(tmp_path):
    """Ranks end identical, and the global loss and gradient norm of each step match single-process training. (Weights are
    not compared element by element: Adam's first steps turn float rounding in near-zero gradients into updates of size lr.)"""
    from presto.layerdrop import LayerDropConfig, train_layerdrop
    mp.spawn(_rank, args=(2, str(tmp_path)), nprocs=2, join=True)
    r0, r1 = load_file(str(tmp_path / 'rank0.safetensors')), load_file(str(tmp_path / 'rank1.safetensors'))
    assert all(torch.equal(r0[k], r1[k]) for k in r0), 'ranks hold different weights'
    train_layerdrop(_base(), *_data(), tmp_path / 'single', LayerDropConfig(rescale='online', **CFG),
                    table=(torch.zeros(1), torch.ones(1, 5)), progress=False)
    read = lambda d: [json.loads(l) for l in (tmp_path / d / 'metrics.jsonl').read_text().splitlines()]
    ddp, one = read('ddp'), read('single')
    assert [r['step'] for r in ddp] == [r['step'] for r in one] == [1, 2, 3]
    assert ddp[0]['loss'] == pytest.approx(one[0]['loss'], rel=1e-5) and ddp[0]['grad_norm'] == pytest.approx(one[0]['grad_norm'], rel=1e-4)
    for a, b in zip(ddp, one): assert a['loss'] == pytest.approx(b['loss'], rel=2e-2) and a['loss'] > 0
    init = _base().state_dict()
    assert max((r0['net.' + k[4:]] - v).abs().max().item() for k, v in init.items() if k.startswith('net.blocks')) > 1e-4, 'nothing moved'
