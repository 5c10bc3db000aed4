"""presto.train: 2-process data-parallel training (torch.distributed, gloo on CPU) matches single-process training at
the same global batch, ranks stay identical; plus config errors."""
import os, sys
from pathlib import Path
import pytest, torch
import torch.multiprocessing as mp
from safetensors.torch import save_file, load_file
from presto.train import TrainConfig, train

TC = dict(preset='tiny', steps=4, batch_size=8, warmup=2, log_every=1, ckpt_every=2, bf16=False, lr=1e-3)

def toy_data():
    g = torch.Generator().manual_seed(0)
    latents = torch.randn(64, 16, 16, generator=g)
    states = torch.randn(64, 3, 384, generator=g)
    return latents, {'states': states, 'mask': torch.ones(64, 3, dtype=torch.bool), 'pooled': states.mean(1)}

def _rank(rank: int, world: int, tmp: str):
    torch.set_num_threads(1)
    torch.distributed.init_process_group('gloo', init_method=f'file://{tmp}/rendezvous', rank=rank, world_size=world)
    try:
        latents, conds = toy_data()
        model, ema = train(latents, conds, Path(tmp) / 'ddp', TrainConfig(**TC), sigma_data=1.0, progress=False)
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, f'{tmp}/rank{rank}.safetensors')
    finally: torch.distributed.destroy_process_group()

def test_two_processes_match_one(tmp_path):
    mp.spawn(_rank, args=(2, str(tmp_path)), nprocs=2, join=True)
    r0, r1 = load_file(str(tmp_path / 'rank0.safetensors')), load_file(str(tmp_path / 'rank1.safetensors'))
    assert all(torch.equal(r0[k], r1[k]) for k in r0), 'ranks hold different weights'
    latents, conds = toy_data()
    single, _ = train(latents, conds, tmp_path / 'single', TrainConfig(**TC), sigma_data=1.0, progress=False)
    diff = max((r0[k] - v).abs().max().item() for k, v in single.state_dict().items())
    from presto.train import make_model
    init = make_model(TrainConfig(**TC), 1.0).state_dict()
    moved = max((r0[k] - v).abs().max().item() for k, v in init.items())
    assert moved > 1e-3, 'training did not move the weights'
    assert diff < 1e-4, f'2-process result differs from single-process by {diff} (weights moved by {moved})'
    assert (tmp_path / 'ddp' / 'train_state.safetensors').exists() and len((tmp_path / 'ddp' / 'metrics.jsonl').read_text().splitlines()) == 4

def test_batch_must_split_over_ranks_and_config_errors(tmp_path):
    with pytest.raises(ValueError, match='TrainConfig.steps must be an integer >= 1'): TrainConfig(steps=0)
    with pytest.raises(ValueError, match='ema_decay'): TrainConfig(ema_decay=1.0)
    latents, conds = toy_data()
    with pytest.raises(ValueError, match='one condition per row'): train(latents, {k: v[:3] for k, v in conds.items()}, tmp_path, TrainConfig(**TC), sigma_data=1.)

def test_resume_refuses_another_preset(tmp_path):
    from presto.checkpoint import CheckpointError
    latents, conds = toy_data()
    train(latents, conds, tmp_path, TrainConfig(**{**TC, 'steps': 2}), sigma_data=1., progress=False)
    with pytest.raises(CheckpointError, match="holds a 'tiny' run"):
        train(latents, conds, tmp_path, TrainConfig(**{**TC, 'preset': 'small'}), sigma_data=1., progress=False)

def test_train_cli_errors(tmp_path):
    import subprocess
    run = lambda *a: subprocess.run([sys.executable, '-m', 'presto.cli', 'train', *map(str, a)], capture_output=True, text=True)
    r = run('--preset', 'huge')
    assert r.returncode == 2 and "unknown DiT preset 'huge'; allowed: tiny, small, base, large" in r.stderr
    r = run('--preset', 'tiny', '--dataset', tmp_path / 'nowhere', '--autoencoder', tmp_path / 'ae')
    assert r.returncode == 2 and 'checkpoint file not found' in r.stderr
    r = run('--preset', 'tiny', '--steps', 0)
    assert r.returncode == 2 and 'TrainConfig.steps must be an integer >= 1, got 0' in r.stderr

def test_callbacks(tmp_path):
    latents, conds = toy_data()
    rows, ckpts = [], []
    train(latents, conds, tmp_path, TrainConfig(**TC), sigma_data=1., progress=False,
          on_log=rows.append, on_checkpoint=lambda step, ema: ckpts.append((step, type(ema).__name__)))
    assert [r['step'] for r in rows] == [1, 2, 3, 4] and all(r['loss'] > 0 for r in rows)
    assert ckpts == [(2, 'EDMDenoiser'), (4, 'EDMDenoiser')]
