"Every config field has a rule (presto.checks), and every rule refuses its bad values with one message format."
import re
import pytest
from presto.autoencoder import AEConfig, AETrainConfig
from presto.dit import DiTConfig
from presto.edm import NoiseLevels
from presto.embedder import EmbedderConfig, EmbedderTrainConfig
from presto.train import TrainConfig
from presto.dmd import PrestoSConfig
from presto.layerdrop import LayerDropConfig
from presto.render import BuildConfig

CONFIGS = [AEConfig, AETrainConfig, DiTConfig, TrainConfig, NoiseLevels, EmbedderConfig, EmbedderTrainConfig, PrestoSConfig, LayerDropConfig, BuildConfig]
OWN_WORDS = {('BuildConfig', 'n_clips')}   # checked first in their own words (tests/test_data.py)

def _cases():
    for cls in CONFIGS:
        for name, rule in cls().rules().items():
            for bad in ([] if (cls.__name__, name) in OWN_WORDS else rule.bad):
                yield pytest.param(cls, name, rule.allowed, bad, id=f"{cls.__name__}.{name}={bad!r}")

@pytest.mark.parametrize('cls', CONFIGS, ids=lambda c: c.__name__)
def test_every_field_has_a_rule(cls):
    from dataclasses import fields
    assert set(cls().rules()) == {f.name for f in fields(cls)}

@pytest.mark.parametrize('cls,name,allowed,bad', list(_cases()))
def test_rule_refuses(cls, name, allowed, bad):
    with pytest.raises(ValueError, match=re.escape(f"{cls.__name__}.{name} must be {allowed}, got {bad!r}")):
        cls(**{name: bad})
