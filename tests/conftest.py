"""Fixtures shared by the test files."""
import json
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parents[1]

@pytest.fixture(scope='session')
def tiny(tmp_path_factory) -> Path:
    "A tiny, untrained `base` checkpoint whose sigma_data matches the reference autoencoder (so the pipeline accepts the pair)."
    from presto.train import TrainConfig, make_model, save_base_model
    sigma_data = json.loads((ROOT / 'data/checkpoints/autoencoder.json').read_text())['config']['stats']['sigma_data']
    stem = tmp_path_factory.mktemp('ckpt') / 'base_tiny'
    save_base_model(make_model(TrainConfig(preset='tiny'), sigma_data), stem, TrainConfig(preset='tiny'))
    return stem
