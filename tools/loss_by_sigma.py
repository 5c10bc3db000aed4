"""Validation loss per noise level of base-model checkpoints against the trivial predictor (the per-channel mean of the
training data), at noise levels stated relative to each model's sigma_data so that models on differently scaled
latents compare. Writes data/results/base_loss_by_sigma.json (the figure in nbs/06_train.ipynb).

    python tools/loss_by_sigma.py NAME=CHECKPOINT ... [--split valid] [--out data/results/base_loss_by_sigma.json]
"""
import argparse, json, sys
from pathlib import Path
import torch
from presto.cache import LatentDataset
from presto.edm import NoiseLevels
from presto.train import encode_dataset, load_base_model, val_loss_by_sigma, trivial_loss_by_sigma

RELATIVE = (0.004, 0.02, 0.1, 0.3, 1., 3., 10., 30., 160.)   # sigma / sigma_data; 160 = EDM's sigma_max / 0.5

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('models', nargs='+', metavar='NAME=CHECKPOINT')
    p.add_argument('--split', default='valid')
    p.add_argument('--out', default='data/results/base_loss_by_sigma.json')
    a = p.parse_args(argv)
    cache = encode_dataset('data/datasets/music21', 'data/checkpoints/autoencoder')
    tr, ev = LatentDataset(cache, 'train'), LatentDataset(cache, a.split)
    out = {'command': 'python tools/loss_by_sigma.py ' + ' '.join(sys.argv[1:] if argv is None else argv), 'split': a.split,
           'n': len(ev), 'relative_sigmas': RELATIVE, 'models': {}}
    for spec in a.models:
        name, stem = spec.split('=', 1)
        m = load_base_model(stem)
        s, sd = m.latent_scale, m.sigma_data
        sigmas = [r * sd for r in RELATIVE]
        levels = NoiseLevels()
        val = val_loss_by_sigma(m, ev.latents * s, ev.text, sigmas=sigmas)
        bar = trivial_loss_by_sigma(tr.latents * s, ev.latents * s, sd, sigmas=sigmas)
        out['models'][name] = {'checkpoint': str(stem), 'sigma_data': sd, 'latent_scale': s,
                               'sampling_range_relative': [levels.sigma_min / sd, levels.sigma_max / sd],
                               'loss': list(val.values()), 'trivial': list(bar.values())}
        print(name, {f'{r:g}': (round(v, 3), round(b, 3)) for r, v, b in zip(RELATIVE, val.values(), bar.values())}, flush=True)
    Path(a.out).write_text(json.dumps(out, indent=1)); print('wrote', a.out)

if __name__ == '__main__': sys.exit(main())
