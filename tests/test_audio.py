"""presto.audio: file IO (round trips, atomic writes, every error path), resampling shapes, STFT, mel filters
against an independent implementation of librosa's formula, Griffin-Lim, loudness, the distances used as losses,
and the `presto audio` command."""
import argparse, io, math, os, stat

import numpy as np
import pytest
import soundfile as sf
import torch

import presto.audio as A
import presto.commands.audio as cmd_audio
from presto.audio import (CLIP_SAMPLES, SAMPLE_RATE, AudioError, MelSpectrogram, crop_or_pad, griffin_lim, istft,
                          load_audio, log_mel, loudness, mel_filterbank, mel_l1, mel_to_audio, mrstft_distance,
                          normalize_loudness, peak_normalize, resample, save_audio, stft, to_mono)


def tone(freq, sr=SAMPLE_RATE, seconds=1.0, amp=0.5, channels=None):
    t = torch.arange(int(sr * seconds), dtype=torch.float64) / sr
    x = (amp * torch.sin(2 * math.pi * freq * t)).float()
    return x if channels is None else torch.stack([x * (0.5 + 0.5 * c) for c in range(channels)])


def music(seconds=1.0, seed=0):
    "A few decaying partials with random onsets: more like music than a tone, (N,) at 16 kHz"
    g = torch.Generator().manual_seed(seed)
    n = int(SAMPLE_RATE * seconds)
    t = torch.arange(n, dtype=torch.float64) / SAMPLE_RATE
    x = torch.zeros(n, dtype=torch.float64)
    for f0 in (220., 277.2, 329.6, 440.):
        onset = torch.rand(1, generator=g).item() * seconds / 2
        env = torch.where(t >= onset, torch.exp(-(t - onset) * 3), torch.zeros_like(t))
        for h in range(1, 5): x += env * torch.sin(2 * math.pi * f0 * h * t) / h
    return (0.2 * x / x.abs().max()).float()


# ---------------------------------------------------------------- files

@pytest.mark.parametrize("suffix,fmt", [(".wav", "WAV"), (".flac", "FLAC")])
def test_round_trip_mono_and_stereo(tmp_path, suffix, fmt):
    x = tone(440, sr=22_050, channels=2)                               # (2, N) at 22.05 kHz
    p = save_audio(tmp_path / f"a/b/stereo{suffix}", x, sr=22_050)     # parents created
    info = sf.info(p)
    assert (info.format, info.subtype, info.channels, info.samplerate) == (fmt, "PCM_16", 2, 22_050)
    back = load_audio(p, sr=22_050, mono=False)
    assert back.dtype == torch.float32 and back.shape == x.shape
    assert (back - x).abs().max() < 6e-5                               # 16-bit quantisation
    mono = load_audio(p)                                               # default: mono, 16 kHz
    assert mono.shape == (1, SAMPLE_RATE)
    torch.testing.assert_close(mono, resample(x.mean(0, keepdim=True), 22_050, SAMPLE_RATE), atol=1e-4, rtol=0)
    p1 = save_audio(tmp_path / f"mono{suffix}", x[0].numpy())          # (N,) ndarray accepted
    assert sf.info(p1).channels == 1 and sf.info(p1).samplerate == SAMPLE_RATE
    assert load_audio(p1).shape == (1, 22_050)                         # saved at the default 16 kHz: no resampling


def test_save_is_atomic_and_leaves_no_temp(tmp_path):
    p = tmp_path / "clip.wav"
    save_audio(p, tone(440))
    save_audio(p, tone(880))                                           # overwrite in place
    assert sorted(os.listdir(tmp_path)) == ["clip.wav"]
    spec = torch.fft.rfft(load_audio(p)[0])                            # 1 s: bin k is k Hz
    assert spec.abs().argmax().item() == 880                           # the new content is there
    mode = stat.S_IMODE(os.stat(p).st_mode)
    assert mode & stat.S_IRUSR and mode & stat.S_IWUSR


def test_failed_write_keeps_the_original(tmp_path, monkeypatch):
    p = tmp_path / "clip.flac"
    save_audio(p, tone(440))
    before = p.read_bytes()
    real_write = sf.write

    def half_then_fail(file, data, *args, **kw):                       # write part of the file, then crash
        real_write(file, data[: len(data) // 2], *args, **kw)
        raise OSError("disk full (simulated)")
    monkeypatch.setattr(A.sf, "write", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        save_audio(p, tone(880))
    assert p.read_bytes() == before                                    # original untouched
    assert sorted(os.listdir(tmp_path)) == ["clip.flac"]               # temp file removed


def test_save_clips_with_a_warning_and_rejects_bad_input(tmp_path):
    with pytest.warns(UserWarning, match="peak 1.500 exceeds 1"):
        p = save_audio(tmp_path / "loud.wav", torch.tensor([0.0, 1.5, -1.5, 0.5]))
    data, _ = sf.read(p)
    assert np.abs(data).max() <= 1 and data[1] > 0.999 and data[2] < -0.999
    with pytest.raises(AudioError, match=r"cannot write '\.ogg'"): save_audio(tmp_path / "x.ogg", tone(440))
    with pytest.raises(AudioError, match="NaN"): save_audio(tmp_path / "x.wav", torch.tensor([0.0, float("nan")]))
    with pytest.raises(AudioError, match=r"got shape \(2, 3, 4\)"): save_audio(tmp_path / "x.wav", torch.zeros(2, 3, 4))
    with pytest.raises(AudioError, match=r"got shape \(0,\)"): save_audio(tmp_path / "x.wav", torch.zeros(0))
    assert not (tmp_path / "x.wav").exists()


def test_load_errors_name_the_file_and_value(tmp_path):
    (tmp_path / "text.wav").write_text("hello, I am not a wav file")
    (tmp_path / "zero.wav").write_bytes(b"")
    sf.write(tmp_path / "empty.wav", np.zeros((0, 2), np.float32), 16_000)
    sf.write(tmp_path / "silent.flac", np.zeros(16_000, np.float32), 16_000)
    sf.write(tmp_path / "quiet.wav", np.full(16_000, 5e-5, np.float32), 16_000, subtype="FLOAT")
    sf.write(tmp_path / "nan.wav", np.array([0.1, np.nan, 0.2] * 100, np.float32), 16_000, subtype="FLOAT")
    save_audio(tmp_path / "short.wav", tone(440, sr=48_000, seconds=0.1), sr=48_000)
    (tmp_path / "folder.wav").mkdir()
    cases = [("missing.wav", {}, "missing.wav: no such file"),
             ("folder.wav", {}, "is a folder"),
             ("text.wav", {}, "text.wav: not a readable audio file"),
             ("zero.wav", {}, "zero.wav: not a readable audio file"),
             ("empty.wav", {}, "empty.wav: empty audio file (0 samples; 2 channel(s) at 16000 Hz)"),
             ("silent.flac", {}, "silent.flac: silent: peak 0 is below 0.0001"),
             ("quiet.wav", {}, "quiet.wav: silent: peak 5e-05"),
             ("nan.wav", {}, "nan.wav: holds NaN"),
             ("short.wav", dict(min_samples=CLIP_SAMPLES), "short.wav: too short: 1600 samples at 16000 Hz (0.100 s); need at least 65536")]
    for name, kw, message in cases:
        with pytest.raises(AudioError) as e: load_audio(tmp_path / name, **kw)
        assert message in str(e.value), (name, str(e.value))
        assert isinstance(e.value, ValueError)
    assert load_audio(tmp_path / "silent.flac", check_silence=False).abs().max() == 0
    assert load_audio(tmp_path / "short.wav", min_samples=1600).shape == (1, 1600)   # counted after resampling


# ---------------------------------------------------------------- resampling, channels, lengths

@pytest.mark.parametrize("shape", [(4410,), (2, 4410), (3, 2, 4410), (2, 1, 1, 4410)])
def test_resample_shapes(shape):
    x = torch.randn(shape)
    y = resample(x, 44_100, SAMPLE_RATE)
    assert y.shape == (*shape[:-1], 1600) and y.dtype == torch.float32
    torch.testing.assert_close(y.reshape(-1, 1600)[-1], resample(x.reshape(-1, 4410)[-1], 44_100, SAMPLE_RATE))
    assert resample(x, 16_000, 48_000).shape[-1] == 3 * 4410


def test_resample_dtype_input_types_and_errors():
    x = torch.randn(2, 3000, dtype=torch.float64)
    assert resample(x, 48_000, 16_000).dtype == torch.float64
    assert resample(x.numpy(), 48_000, 16_000).shape == (2, 1000)                # ndarray in, Tensor out
    assert resample(torch.ones(100, dtype=torch.int16), 16_000, 8_000).dtype == torch.float32
    assert resample(x, 16_000, 16_000) is x or torch.equal(resample(x, 16_000, 16_000), x)
    with pytest.raises(AudioError, match="sr_out must be a positive sample rate"): resample(x, 16_000, -1)
    with pytest.raises(AudioError, match="scalar"): resample(torch.tensor(1.0), 16_000, 8_000)


def test_resample_keeps_in_band_and_removes_out_of_band():
    low, high = resample(tone(3000, 48_000), 48_000, SAMPLE_RATE), resample(tone(9000, 48_000), 48_000, SAMPLE_RATE)
    mid = slice(1600, -1600)
    ref = tone(3000, SAMPLE_RATE)
    assert (low[mid] - ref[mid]).abs().max() < 1e-3                    # same tone, same phase
    assert high[mid].pow(2).mean().sqrt() < 1e-5                       # 9 kHz > 8 kHz Nyquist: gone


def test_to_mono_and_crop_or_pad():
    assert to_mono(torch.ones(5)).shape == (5,)
    assert to_mono(torch.stack([torch.ones(5), torch.zeros(5)])).tolist() == [[0.5] * 5]
    assert to_mono(torch.zeros(4, 2, 7)).shape == (4, 1, 7)
    x = torch.arange(10.)
    assert crop_or_pad(x, 4, offset=3).tolist() == [3., 4., 5., 6.]
    assert crop_or_pad(x, 12).tolist() == list(range(10)) + [0., 0.]
    assert crop_or_pad(x, 3, offset=10).tolist() == [0., 0., 0.]
    assert crop_or_pad(torch.zeros(2, 1, 5), CLIP_SAMPLES).shape == (2, 1, CLIP_SAMPLES)
    with pytest.raises(AudioError, match="offset -1"): crop_or_pad(x, 3, offset=-1)
    with pytest.raises(AudioError, match="n must be >= 0"): crop_or_pad(x, -3)


# ---------------------------------------------------------------- STFT and mel

def test_stft_istft_shapes_and_round_trip():
    x = torch.randn(2, 3, 5000)
    for n_fft, hop in [(1024, 256), (512, 128), (2048, 512)]:
        X = stft(x, n_fft, hop)
        assert X.shape == (2, 3, n_fft // 2 + 1, 5000 // hop + 1) and X.is_complex()
        assert (istft(X, n_fft, hop, length=5000) - x).abs().max() < 1e-5
    x64 = torch.randn(3000, dtype=torch.float64)
    assert (istft(stft(x64), length=3000) - x64).abs().max() < 1e-12
    with pytest.raises(AudioError, match="too short for n_fft=1024"): stft(torch.zeros(512))
    with pytest.raises(AudioError, match="513"): istft(torch.zeros(100, 10, dtype=torch.complex64))


def librosa_mel(sr, n_fft, n_mels, fmin, fmax):
    "librosa.filters.mel's default (Slaney scale, Slaney norm), written out from its definition in numpy"
    def hz_to_mel(f):
        f = np.asanyarray(f, dtype=np.float64)
        return np.where(f >= 1000, 15 + np.log(np.maximum(f, 1e-10) / 1000) / (np.log(6.4) / 27), 3 * f / 200)
    def mel_to_hz(m):
        m = np.asanyarray(m, dtype=np.float64)
        return np.where(m >= 15, 1000 * np.exp((np.log(6.4) / 27) * (m - 15)), 200 * m / 3)
    fftfreqs = np.fft.rfftfreq(n_fft, 1 / sr)
    hz = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    fdiff, ramps = np.diff(hz), hz[:, None] - fftfreqs[None]
    lower, upper = -ramps[:-2] / fdiff[:-1, None], ramps[2:] / fdiff[1:, None]
    weights = np.maximum(0, np.minimum(lower, upper))
    return weights * (2.0 / (hz[2:n_mels + 2] - hz[:n_mels]))[:, None]


@pytest.mark.parametrize("sr,n_fft,n_mels,fmin,fmax", [(16_000, 1024, 80, 0., None), (16_000, 2048, 128, 30., 7600.),
                                                        (22_050, 1024, 64, 0., None)])
def test_mel_filterbank_matches_librosa_definition(sr, n_fft, n_mels, fmin, fmax):
    fb = mel_filterbank(n_fft, n_mels, sr, fmin, fmax)
    ref = librosa_mel(sr, n_fft, n_mels, fmin, sr / 2 if fmax is None else fmax)
    assert fb.shape == (n_mels, n_fft // 2 + 1) and fb.dtype == torch.float32
    np.testing.assert_allclose(fb.numpy(), ref, atol=1e-6 * ref.max(), rtol=0)
    with pytest.raises(AudioError, match="fmin < fmax"): mel_filterbank(fmin=9000.)


def test_mel_spectrogram_module_and_function():
    mel = MelSpectrogram()
    assert mel.state_dict() == {} and {n for n, _ in mel.named_buffers()} == {"window", "fb"}
    x = music(1.0)
    m = mel(x)
    assert m.shape == (80, SAMPLE_RATE // 256 + 1) and m.dtype == torch.float32
    torch.testing.assert_close(log_mel(x), m)
    torch.testing.assert_close(mel(torch.stack([x, 0.5 * x])[:, None])[1, 0], log_mel(0.5 * x))   # (B, 1, N) batches
    assert torch.allclose(log_mel(0.5 * x).clamp(min=-9), (m + math.log(0.5)).clamp(min=-9), atol=1e-4)  # magnitude: log scales by log 0.5
    assert log_mel(torch.zeros(4096)).max() == pytest.approx(math.log(1e-5))
    assert log_mel(x.double()).dtype == torch.float32
    band = log_mel(tone(2000)).mean(-1).argmax().item()                 # 2 kHz sits in the band whose filter is largest at 2 kHz
    assert band == mel_filterbank()[:, round(2000 / (SAMPLE_RATE / 1024))].argmax().item()


# ---------------------------------------------------------------- distances

@pytest.mark.parametrize("fn", [mel_l1, mrstft_distance])
def test_distance_properties(fn):
    clean = torch.stack([music(0.5, seed=s) for s in range(3)])        # (3, N)
    noise = torch.randn(clean.shape, generator=torch.Generator().manual_seed(0))
    assert fn(clean, clean).item() == pytest.approx(0, abs=1e-6)
    d = [fn(clean + s * noise, clean).item() for s in (1e-3, 1e-2, 1e-1)]
    assert d[0] < d[1] < d[2]
    per = fn(clean + 1e-2 * noise, clean, reduction="none")
    assert per.shape == (3,) and per.mean().item() == pytest.approx(d[1], rel=1e-5)
    assert fn(clean[:, None], (clean + 1e-2 * noise)[:, None]).shape == ()     # (B, 1, N) accepted
    est = (clean + 1e-2 * noise).requires_grad_()
    fn(est, clean).backward()
    assert torch.isfinite(est.grad).all() and est.grad.abs().sum() > 0
    same = clean.clone().requires_grad_()                               # gradient at distance zero: finite
    fn(same, clean).backward()
    assert torch.isfinite(same.grad).all()
    with pytest.raises(AudioError, match="same shape"): fn(clean, clean[:2])
    with pytest.raises(AudioError, match="reduction"): fn(clean, clean, reduction="sum")
    with pytest.raises(AudioError, match=r"\(B, N\), \(B, 1, N\)"): fn(clean[:, None, None], clean[:, None, None])


def test_distances_under_bf16_autocast_stay_float32():
    a, b = music(0.5)[None], music(0.5, seed=1)[None]
    with torch.autocast("cpu", dtype=torch.bfloat16):
        d = mel_l1(a, b)
    assert d.dtype == torch.float32 and d.item() == pytest.approx(mel_l1(a, b).item(), rel=1e-5)


# ---------------------------------------------------------------- Griffin-Lim and the reference vocoder

def test_griffin_lim_improves_and_is_reproducible():
    x = music(1.0)
    mag = stft(x).abs()
    def sc(y): return ((stft(y).abs() - mag).norm() / mag.norm()).item()
    g = lambda: torch.Generator().manual_seed(3)
    few, many = griffin_lim(mag, n_iter=4, length=len(x), generator=g()), griffin_lim(mag, n_iter=64, length=len(x), generator=g())
    assert many.shape == x.shape and sc(many) < 0.5 * sc(few)
    torch.testing.assert_close(griffin_lim(mag, n_iter=8, generator=g()), griffin_lim(mag, n_iter=8, generator=g()))
    assert griffin_lim(mag, n_iter=2).shape == ((mag.shape[-1] - 1) * 256,)
    seen = []
    griffin_lim(mag, n_iter=5, callback=lambda d: seen.append(d["i"]))
    assert seen == [0, 1, 2, 3, 4]
    batch = torch.stack([mag, mag])
    assert griffin_lim(batch, n_iter=2, length=len(x)).shape == (2, len(x))
    with pytest.raises(AudioError, match="length=1000 gives 4 frames"): griffin_lim(mag, length=1000)


def test_mel_to_audio_beats_noise():
    x = music(1.0)
    y = mel_to_audio(log_mel(x), length=len(x), n_iter=32, generator=torch.Generator().manual_seed(0))
    noise = torch.randn(len(x), generator=torch.Generator().manual_seed(1)) * x.pow(2).mean().sqrt()
    assert y.shape == x.shape and torch.isfinite(y).all()
    assert mel_l1(y, x).item() < 0.3 * mel_l1(noise, x).item()
    m = log_mel(x).exp()
    fb = mel_filterbank()
    S = A.mel_to_magnitude(m, fb)
    assert (S >= 0).all() and ((fb @ S - m).norm() / m.norm()).item() < 0.05


# ---------------------------------------------------------------- loudness

def test_loudness_normalisation_hits_target_and_respects_peak():
    x = music(2.0)
    for target in (-30., -23., -16.):
        y = normalize_loudness(x, target_lufs=target)
        assert abs(loudness(y) - target) < 0.5 and y.abs().max() <= 0.99 + 1e-6
    loud = normalize_loudness(x, target_lufs=0., peak=0.5)               # unreachable without clipping: limited
    assert loud.abs().max().item() == pytest.approx(0.5) and loudness(loud) < 0
    st = normalize_loudness(torch.stack([x, 0.5 * x]), target_lufs=-20.)  # (C, N) stereo
    assert st.shape == (2, len(x)) and abs(loudness(st) - (-20.)) < 0.5
    assert normalize_loudness(x.numpy(), target_lufs=-20.).dtype == torch.float32


def test_loudness_short_and_silent():
    blip = tone(1000, seconds=0.1, amp=0.01)
    y = normalize_loudness(blip, target_lufs=-26.)
    assert 20 * math.log10(y.pow(2).mean().sqrt().item()) == pytest.approx(-26., abs=0.01)   # RMS fallback
    with pytest.raises(AudioError, match="shorter than BS.1770's 0.4 s block"): loudness(blip)
    with pytest.raises(AudioError, match="silent input"): normalize_loudness(torch.zeros(SAMPLE_RATE))
    with pytest.raises(AudioError, match="silent input"): peak_normalize(torch.zeros(10))
    assert loudness(torch.zeros(SAMPLE_RATE)) == -math.inf
    assert peak_normalize(torch.tensor([0.1, -0.2])).abs().max().item() == pytest.approx(0.95)


# ---------------------------------------------------------------- display and CLI

def test_player_is_not_normalised_and_plot_draws(monkeypatch):
    monkeypatch.setenv("MPLBACKEND", "Agg")
    import matplotlib; matplotlib.use("Agg")
    quiet = tone(440, amp=0.01)
    player = A.audio_player(quiet)
    data, sr = sf.read(io.BytesIO(player.data))
    assert sr == SAMPLE_RATE and np.abs(data).max() == pytest.approx(0.01, abs=1e-3)   # quiet stays quiet
    axs = A.plot_wave_mel(quiet[None], title="t")
    assert len(axs) == 2 and axs[0].get_title() == "t"
    with pytest.raises(AudioError, match="one clip"): A.plot_wave_mel(torch.zeros(2, 1, 4096))


def test_cli(tmp_path, capsys):
    save_audio(tmp_path / "good.flac", music(1.0).numpy(), sr=22_050)
    save_audio(tmp_path / "silent.wav", torch.zeros(100))
    p = argparse.ArgumentParser(); cmd_audio.add_cli_args(p)
    code = cmd_audio.cli_main(p.parse_args([str(tmp_path / "good.flac"), "--out", str(tmp_path / "out"), "--lufs", "-18"]), None)
    out = capsys.readouterr().out
    assert code == 0 and "good.flac: 1 ch 22050 Hz" in out and "1 of 1 file(s) usable" in out
    y = load_audio(tmp_path / "out/good.wav")
    assert abs(loudness(y) + 18) < 0.5
    code = cmd_audio.cli_main(p.parse_args([str(tmp_path / f) for f in ("good.flac", "silent.wav", "nope.wav")] + ["--min-seconds", "2"]), None)
    out = capsys.readouterr().out
    assert code == 1 and out.count("REJECT") == 3 and "too short" in out and "no such file" in out
