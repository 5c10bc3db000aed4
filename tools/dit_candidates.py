"""Candidate CPU presets for the base DiT, of similar size: latency per network evaluation (batch 1, and 2 as with CFG),
training throughput, and the validation loss each reaches in the same short wall-clock budget on the real latent cache.
Writes data/results/dit_candidates.json (shown in nbs/05_dit.ipynb).

    python tools/dit_candidates.py [--seconds 100] [--out data/results/dit_candidates.json]
"""
import argparse, json, math, sys, tempfile, time
from pathlib import Path
import torch
from presto.dit import PRESETS, dit_config, count_params, forward_latency
from presto.cache import LatentDataset
from presto.edm import latent_scale_for
from presto.train import TrainConfig, train, train_throughput, val_loss_by_sigma, latent_sigma_data, encode_dataset

CANDIDATES = {'96x16': dict(width=96, depth=16, heads=2), '128x12': dict(width=128, depth=12, heads=2),
              '144x10': dict(width=144, depth=10, heads=2), '160x8': dict(width=160, depth=8, heads=2)}

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--seconds', type=float, default=100., help='training wall time per candidate (bf16)')
    p.add_argument('--out', default='data/results/dit_candidates.json')
    a = p.parse_args(argv)
    cache = encode_dataset('data/datasets/music21', 'data/checkpoints/autoencoder')
    scale = latent_scale_for(latent_sigma_data('data/checkpoints/autoencoder'))
    tr, va = LatentDataset(cache, 'train'), LatentDataset(cache, 'valid')
    tr.latents, va.latents = tr.latents * scale, va.latents * scale
    rows = []
    for name, kw in CANDIDATES.items():
        PRESETS[f'cand-{name}'] = cfg = dit_config('small', **kw)
        row = {'preset': name, 'params (M)': count_params(cfg) / 1e6}
        for b in (1, 2):
            for bf16 in (False, True):
                row[f"ms b{b} {'bf16' if bf16 else 'fp32'}"] = forward_latency(cfg, b, bf16=bf16, reps=7)
        for bf16 in (False, True):
            row[f"train s/step {'bf16' if bf16 else 'fp32'}"] = train_throughput(f'cand-{name}', batch_size=32, bf16=bf16, steps=5)['s/step']
        steps = max(20, int(a.seconds / row['train s/step bf16']))
        tc = TrainConfig(preset=f'cand-{name}', steps=steps, batch_size=32, warmup=min(100, steps // 4), ema_decay=0.99,
                         log_every=max(1, steps // 4), ckpt_every=steps)
        t0 = time.time()
        model, _ = train(tr.latents, tr.text, tempfile.mkdtemp(), tc, sigma_data=0.5, latent_scale=scale, progress=False)
        row['train steps'], row['train s'] = steps, time.time() - t0
        val = val_loss_by_sigma(model, va.latents, va.text, sigmas=(0.1, 0.5, 2.5, 10., 40., 80.))
        row.update({f'val {s:g}': v for s, v in val.items()}); row['val mean'] = sum(val.values()) / len(val)
        rows.append(row); print(json.dumps(row), flush=True)
    meta = {'command': 'python tools/dit_candidates.py --seconds %g' % a.seconds, 'threads': torch.get_num_threads(),
            'frames': tr.latents.shape[-1], 'latent_scale': scale, 'rows': rows}
    Path(a.out).write_text(json.dumps(meta, indent=1)); print('wrote', a.out)

if __name__ == '__main__': sys.exit(main())
