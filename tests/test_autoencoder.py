"""presto.autoencoder: shapes, checkpoint round trip and errors, training guards, and `presto train-ae` end to end (tiny)."""
import json, math, subprocess, sys
from pathlib import Path
import pytest, torch
from presto.audio import save_audio
from presto.autoencoder import (AEConfig, AETrainConfig, Autoencoder, load_autoencoder, save_autoencoder, train_autoencoder,
                                load_clips, latent_stats, encode_clips)
from presto.checkpoint import CheckpointError, save_checkpoint

TINY = AEConfig(latent_channels=4, width=16, enc_blocks=1, dec_blocks=1)

def test_shapes_and_lengths():
    ae = Autoencoder(TINY)
    mean, logvar = ae.encode(torch.randn(3, 1, 4096) * 0.1)
    assert mean.shape == logvar.shape == (3, 4, 8)
    assert ae.decode(mean).shape == (3, 1, 4096)
    assert ae.encode(torch.randn(2, 1024))[0].shape == (2, 4, 2)           # (B, N) input works too
    with pytest.raises(ValueError, match='not a multiple of 512'): ae.encode(torch.randn(1, 1, 1000))

def test_checkpoint_round_trip(tmp_path):
    ae = Autoencoder(TINY).eval()
    z = torch.randn(2, 4, 8)
    path = save_autoencoder(ae, tmp_path / 'ae', {'sigma_data': 1.25}, {'note': 'test'})
    assert path.exists() and (tmp_path / 'ae.json').exists()
    back = load_autoencoder(tmp_path / 'ae')
    assert back.cfg == TINY and back.stats['sigma_data'] == 1.25 and back.info == {'note': 'test'}
    with torch.no_grad(): assert torch.allclose(back.decode(z), ae.decode(z), atol=1e-2)   # fp16 storage

def test_checkpoint_errors(tmp_path):
    with pytest.raises(CheckpointError, match='not found'): load_autoencoder(tmp_path / 'missing')
    save_checkpoint(tmp_path / 'other', {'w': torch.zeros(1)}, {}, kind='dit')
    with pytest.raises(CheckpointError, match="is a 'dit' checkpoint"): load_autoencoder(tmp_path / 'other')
    ae = Autoencoder(TINY)
    save_checkpoint(tmp_path / 'nostats', ae.state_dict(), {'ae': TINY.__dict__, 'stats': {}}, kind='autoencoder')
    with pytest.raises(CheckpointError, match='sigma_data'): load_autoencoder(tmp_path / 'nostats')
    bigger = Autoencoder(AEConfig(latent_channels=4, width=24, enc_blocks=1, dec_blocks=1))
    save_checkpoint(tmp_path / 'mismatch', bigger.state_dict(), {'ae': TINY.__dict__, 'stats': {'sigma_data': 1.}}, kind='autoencoder')
    with pytest.raises(CheckpointError, match='does not fit'): load_autoencoder(tmp_path / 'mismatch')

def test_training_stops_on_nan(tmp_path):
    clips = torch.full((2, 4096), float('nan'))
    with pytest.raises(FloatingPointError, match='loss is nan at step 0'):
        train_autoencoder(clips, tmp_path, TINY, AETrainConfig(steps=2, batch_size=1, crop=2048), progress=False)

def test_bad_clips_and_crop(tmp_path):
    with pytest.raises(ValueError, match='clips must be'): train_autoencoder(torch.zeros(4, 1024), tmp_path, TINY, AETrainConfig(crop=2048))
    with pytest.raises(ValueError, match='not a multiple'): train_autoencoder(torch.zeros(4, 4096), tmp_path, TINY, AETrainConfig(crop=1000))

def test_latent_stats():
    lat = torch.randn(64, 4, 32) * 2 + 0.5
    s = latent_stats(lat)
    assert abs(s['sigma_data'] - 2) < 0.1 and abs(s['mean'] - 0.5) < 0.1 and len(s['channel_std']) == 4

@pytest.fixture
def tone_dataset(tmp_path):
    "A minimal `presto data`-style folder: a manifest and 16 kHz clips of tones (no rendering needed)."
    d = tmp_path / 'ds'; rows = []
    t = torch.arange(8192) / 16000
    for i, f in enumerate((220., 330., 440., 550., 660., 880.)):
        save_audio(d / 'audio' / f'{i}.flac', 0.3 * torch.sin(2 * math.pi * f * t))
        rows.append({'id': str(i), 'audio': f'audio/{i}.flac', 'split': 'train' if i < 4 else 'valid', 'caption': f'a {f:.0f} Hz tone'})
    (d / 'manifest.jsonl').write_text(''.join(json.dumps(r) + '\n' for r in rows))
    return d

def test_load_clips(tone_dataset):
    clips = load_clips(tone_dataset, 'train')
    assert clips.shape == (4, 8192) and clips.dtype == torch.int16
    assert load_clips(tone_dataset, None, max_clips=5).shape == (5, 8192)
    with pytest.raises(ValueError, match="no clips in split 'test'"): load_clips(tone_dataset, 'test')

def test_train_ae_cli(tone_dataset, tmp_path):
    out, report = tmp_path / 'ck' / 'ae', tmp_path / 'report.json'
    cmd = [sys.executable, '-m', 'presto.cli', 'train-ae', '--dataset', tone_dataset, '--out', out, '--run-dir', tmp_path / 'run',
           '--steps', 3, '--batch-size', 2, '--crop', 4096, '--width', 16, '--channels', 4, '--eval-clips', 2, '--report', report]
    r = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    rep = json.loads(report.read_text())
    assert set(rep) >= {'autoencoder', 'griffin_lim_true_mel', 'decode_ms_4s_b1', 'stats', 'checkpoint_mb'}
    ae = load_autoencoder(out)
    assert ae.cfg.latent_channels == 4 and ae.stats['sigma_data'] == rep['stats']['sigma_data']
    assert len((tmp_path / 'run' / 'metrics.jsonl').read_text().splitlines()) >= 1
    bad = subprocess.run([sys.executable, '-m', 'presto.cli', 'train-ae', '--dataset', str(tmp_path / 'nowhere')], capture_output=True, text=True)
    assert bad.returncode == 2 and 'no manifest.jsonl' in bad.stderr
