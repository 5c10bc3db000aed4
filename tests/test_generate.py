"""`presto generate` end to end on a tiny randomly initialised base model (the reference autoencoder and text encoder):
files written, determinism, durations, prompt files, and a clear one-line error for every bad input."""
import json, math
from pathlib import Path
import pytest, soundfile as sf, torch
from presto.cli import main
from presto.train import TrainConfig, make_model, save_base_model

ROOT = Path(__file__).resolve().parents[1]

def gen(tiny, *args) -> int: return main(['generate', '--model', str(tiny), '--steps', '2', '--sampler', 'euler', *map(str, args)])

def test_two_prompts_write_wav_png_json(tiny, tmp_path, capsys):
    assert gen(tiny, 'a fast Irish reel on the flute', 'a chorale on the church organ', '--out', tmp_path / 'x.wav') == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ['x_0.json', 'x_0.png', 'x_0.wav', 'x_1.json', 'x_1.png', 'x_1.wav']
    wav, sr = sf.read(tmp_path / 'x_0.wav')
    assert sr == 16000 and wav.shape == (65536,) and 0 < abs(wav).max() <= 1
    meta = [json.loads((tmp_path / f'x_{i}.json').read_text()) for i in (0, 1)]
    assert [m['seed'] for m in meta] == [0, 1] and meta[1]['prompt'] == 'a chorale on the church organ'
    assert meta[0]['nfe'] == 2 and meta[0]['model'] == 'base_tiny' and meta[0]['cfg'] == 3.0
    assert (tmp_path / 'x_0.png').read_bytes()[:4] == b'\x89PNG'
    assert '2 clip(s) of 4.10 s with base_tiny' in capsys.readouterr().out

def test_same_seed_same_audio_other_seed_other_audio(tiny, tmp_path):
    for name, seed in (('a', 5), ('b', 5), ('c', 6)):
        assert gen(tiny, 'a jig on the fiddle', '--seed', seed, '--out', tmp_path / f'{name}.wav', '--no-png') == 0
    a, b, c = (sf.read(tmp_path / f'{n}.wav')[0] for n in 'abc')
    assert (a == b).all() and abs(a - c).max() > 1e-3
    assert not (tmp_path / 'a.png').exists()

def test_duration_folder_and_prompts_file(tiny, tmp_path):
    (tmp_path / 'prompts.txt').write_text('a reel on the flute\n\n  a march on the trumpet  \n')
    out = tmp_path / 'clips'
    assert gen(tiny, '--prompts-file', tmp_path / 'prompts.txt', '--duration', 2.5, '--out', str(out) + '/', '--sampler', 'multistep') == 0
    names = sorted(p.name for p in out.glob('*.wav'))
    assert names == ['a-march-on-the-trumpet.wav', 'a-reel-on-the-flute.wav']
    assert sf.info(out / names[0]).frames == 40000                                   # exactly 2.5 s at 16 kHz

@pytest.mark.parametrize('args, message', [
    (['', '--out', 'x.wav'], "empty prompt at index 0"),
    ([], 'no prompt given'),
    (['a reel', '--cfg', '-1'], 'CFG scale must be a finite number >= 0'),
    (['a reel', '--cfg', 'nan'], 'got nan'),
    (['a reel', '--sampler', 'ddim'], "unknown sampler 'ddim'; allowed: euler, heun, dpmpp_2m, multistep"),
    (['a reel', '--duration', '100'], 'duration must be from 1 to 16.38 seconds'),
    (['a reel', '--duration', '0.2'], 'got 0.2'),
    (['a reel', '--out', 'reel.mp3'], "cannot write '.mp3' audio; allowed: .wav, .flac"),
    (['--prompts-file', 'no/such/prompts.txt'], 'no/such/prompts.txt: no such file'),
    (['a reel', '--seed', '-4'], 'seed must be an integer'),
])
def test_bad_requests(tiny, tmp_path, capsys, monkeypatch, args, message):
    monkeypatch.chdir(tmp_path)
    assert gen(tiny, *args) == 2
    err = capsys.readouterr().err
    assert message in err and err.startswith('presto: error:') and len(err.strip().splitlines()) == 1
    assert not list(tmp_path.glob('*.wav'))

@pytest.mark.parametrize('steps', ['0', '-3', 'many', '2.5'])
def test_bad_steps(tiny, capsys, steps):
    assert main(['generate', 'a reel', '--model', str(tiny), '--steps', steps]) == 2
    assert f"argument --steps: '{steps}'" in capsys.readouterr().err

def test_bad_models(tiny, tmp_path, capsys):
    assert main(['generate', 'a reel', '--model', 'presto-z']) == 2
    assert "no model checkpoint 'presto-z'" in (err := capsys.readouterr().err) and 'short names: base' in err
    assert main(['generate', 'a reel', '--model', str(ROOT / 'data/checkpoints/autoencoder')]) == 2
    assert "is a 'autoencoder' checkpoint, not a model that generates" in capsys.readouterr().err
    bad = tmp_path / 'broken'                                                        # weights that do not match their JSON
    for suffix in ('.json', '.safetensors'): (bad.with_suffix(suffix)).write_bytes(tiny.with_suffix(suffix).read_bytes())
    bad.with_suffix('.safetensors').write_bytes(bad.with_suffix('.safetensors').read_bytes()[:-100])
    assert main(['generate', 'a reel', '--model', str(bad)]) == 2
    assert 'sha256 differs' in capsys.readouterr().err
    other = tmp_path / 'other_sigma'                                                 # trained on another autoencoder's latents
    save_base_model(make_model(TrainConfig(preset='tiny'), 1.0), other, TrainConfig(preset='tiny'))
    assert main(['generate', 'a reel', '--model', str(other)]) == 2
    assert 'pass the autoencoder it was trained with' in capsys.readouterr().err

def test_multistep_renoise_is_not_the_initial_noise(tiny):
    "Regression: the re-noise generator was seeded like clip 0's initial noise, so its first fresh noise repeated it."
    from presto.sampling import Sampler
    from presto.sampling import load_model, initial_noise
    from presto.text import null_cond
    model = load_model(tiny)
    steps = []
    s = Sampler(model, sampler='multistep', steps=2, cfg=1.0)
    sig = s.sigmas()
    cond = null_cond(2, 4, model.net.cfg.text_dim)
    s(cond, seed=7, frames=16, callback=steps.append)
    renoise = (steps[0]['x'] - steps[0]['denoised']) / sig[1]                   # (B, C, T): the first fresh noise
    start = initial_noise(2, model.net.cfg.latent_channels, 16, 7) / sig[0]      # clip i's initial noise, seed 7 + i
    for i in range(2):
        for j in range(2): assert not torch.allclose(renoise[i], start[j], atol=1e-3), (i, j)

def test_existing_output_needs_force(tiny, tmp_path, capsys):
    out = tmp_path / 'x.wav'
    assert gen(tiny, 'a reel', '--out', out, '--no-png') == 0
    before = out.read_bytes()
    assert gen(tiny, 'a jig', '--out', out, '--no-png') == 2
    assert 'pass --force to overwrite' in capsys.readouterr().err and out.read_bytes() == before
    assert gen(tiny, 'a jig', '--out', out, '--no-png', '--force', '--seed', 5) == 0 and out.read_bytes() != before

def test_many_prompts_are_generated_in_batches(tiny, tmp_path):
    out = tmp_path / 'many'
    prompts = [f'a reel number {i}' for i in range(5)]
    assert gen(tiny, *prompts, '--out', str(out) + '/', '--no-png', '--batch-size', 2) == 0
    seeds = sorted(json.loads(p.read_text())['seed'] for p in out.glob('*.json'))
    assert seeds == [0, 1, 2, 3, 4] and len(list(out.glob('*.wav'))) == 5 and not (out / '.presto.lock').exists()

def test_a_second_writer_to_the_same_folder_is_refused(tiny, tmp_path, capsys):
    from presto.pipeline import folder_lock
    with folder_lock(tmp_path):
        assert gen(tiny, 'a reel', '--out', str(tmp_path) + '/', '--no-png') == 2
    assert 'another presto run is writing to' in capsys.readouterr().err

@pytest.mark.parametrize('field, value, message', [
    ('mlp_ratio', -1.0, 'DiTConfig.mlp_ratio must be a finite number > 0, got -1.0'),
    ('width', 32768, 'the model alone does not fit'),
    ('depth', 'twelve', 'DiTConfig.depth must be an integer >= 1'),
    ('dropout', 1.5, 'DiTConfig.dropout must be in [0, 1)'),
])
def test_bad_checkpoint_config_names_file_and_field(tiny, tmp_path, capsys, field, value, message):
    import shutil
    for ext in ('.json', '.safetensors'): shutil.copy(str(tiny) + ext, tmp_path / f'edited{ext}')
    meta = json.loads((tmp_path / 'edited.json').read_text()); meta['config']['dit'][field] = value
    (tmp_path / 'edited.json').write_text(json.dumps(meta))
    assert main(['generate', 'a reel', '--model', str(tmp_path / 'edited'), '--out', str(tmp_path / 'x.wav')]) == 2
    err = capsys.readouterr().err
    assert 'edited.json: bad base config' in err and message in err, err
