"""Score a distilled generator's multistep sampling on explicit noise grids: does each level of the grid earn its step?

    python tools/grid_levels.py [--model presto-s] [--out data/results/presto_s_v2_grids.json] GRID [GRID ...]

Each GRID is comma-separated sigmas from the highest down, e.g. 80,17.5278,2.5152,0.1698 (the 4-step grid the
reference trains at) or 80,17.5278,2.5152 (the same without its last level). Every grid is scored like `presto eval`
(212 test captions, caption i seeded i, the reference embedder), so rows compare with `data/results/*_eval.json`.
"""
import argparse, json, sys
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('grids', nargs='+')
    p.add_argument('--model', default='presto-s')
    p.add_argument('--out', default=None)
    a = p.parse_args(argv)
    from presto.embedder import load_embedder
    from presto.metrics import reference_set, score
    from presto.pipeline import Pipeline
    ck = ROOT / 'data/checkpoints'
    pipe = Pipeline.load(a.model, checkpoint_dir=ck)
    emb = load_embedder(ck / 'embedder')
    ref = reference_set(emb, ROOT / 'data/datasets/music21', 'test')
    rows = []
    for g in a.grids:
        levels = [float(x) for x in g.split(',')]
        if any(b >= c for c, b in zip(levels, levels[1:])) or min(levels) <= 0: sys.exit(f"grid {g!r}: need positive levels from the highest down")
        sigmas = torch.tensor(levels + [0.])
        wavs = []
        with torch.no_grad():
            for i in range(0, len(ref.prompts), 16):
                cond = pipe.text.encode(ref.prompts[i:i + 16])
                z = pipe.sample(cond, sampler='multistep', steps=len(levels), cfg=1.0, seed=i, sigmas=sigmas)
                wav = pipe.ae.decode(z / pipe.model.latent_scale).float()[:, 0]
                wavs.append(wav / wav.abs().amax(-1, keepdim=True).clamp(min=1.))
        row = {'model': pipe.name, 'grid': levels, 'steps': len(levels), **score(emb, ref, torch.cat(wavs))}
        rows.append(row); print(json.dumps({k: (round(v, 4) if isinstance(v, float) else v) for k, v in row.items()}), flush=True)
    if a.out: Path(a.out).write_text(json.dumps(rows, indent=1) + '\n')


if __name__ == '__main__':
    main()
