"""Fixtures shared by the test files."""
import json, math
from pathlib import Path
import pytest
import torch

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope='session')
def tiny(tmp_path_factory) -> Path:
    "A tiny, untrained `base` checkpoint whose sigma_data matches the reference autoencoder (so the pipeline accepts the pair)."
    from presto.train import TrainConfig, make_model, save_base_model, latent_sigma_data
    sigma_data = latent_sigma_data(ROOT / 'data/checkpoints/autoencoder')
    stem = tmp_path_factory.mktemp('ckpt') / 'base_tiny'
    save_base_model(make_model(TrainConfig(preset='tiny'), sigma_data), stem, TrainConfig(preset='tiny'))
    return stem

ENSEMBLES, SOURCES = ('flute', 'church organ'), ('folk_song', 'bach_chorale')

@pytest.fixture(scope='session')
def tone_ds(tmp_path_factory) -> Path:
    "24 one-second clips (8 per split) of tones whose pitch and timbre follow their captions' attributes."
    from presto.audio import save_audio
    d = tmp_path_factory.mktemp('tones') / 'ds'; rows = []
    t = torch.arange(16384) / 16000
    for i in range(24):
        e, s, fast, minor = i % 2, (i // 2) % 2, (i // 4) % 2, (i // 3) % 2
        f = 220 * 2 ** (i % 12 / 12) * (2 if e else 1)
        wav = 0.3 * torch.sin(2 * math.pi * f * t) * (1 + 0.5 * torch.sin(2 * math.pi * (8 if fast else 2) * t))
        if s: wav = wav + 0.1 * torch.sin(2 * math.pi * 3 * f * t)
        save_audio(d / 'audio' / f'{i}.flac', wav)
        rows.append({'id': str(i), 'audio': f'audio/{i}.flac', 'split': ('train', 'valid', 'test')[i % 3], 'sample_rate': 16000,
                     'n_samples': 16384, 'caption': f"a {'fast' if fast else 'slow'} tune on the {ENSEMBLES[e]} in {'minor' if minor else 'major'}",
                     'ensemble': ENSEMBLES[e], 'source': SOURCES[s], 'tempo_word': 'fast' if fast else 'slow', 'mode': 'minor' if minor else 'major',
                     'mentions': ['ensemble', 'tempo_word', 'key']})
    (d / 'manifest.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return d

