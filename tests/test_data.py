"""The data modules (corpus, render, dataset, cache) on tiny builds: rendering from the music21 corpus, captions that match their attributes, splits by
piece, determinism (one worker or two), up-to-date detection and resume, user-folder ingestion with bad files,
the latent/text cache, and clear errors. Each build is a few clips; the corpus catalog is cached per session."""
import argparse, csv, hashlib, json, logging, random, re
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

import presto.corpus as corpus, presto.render as render, presto.dataset as dataset
import presto.commands.data as cmd_data
from presto.audio import CLIP_SAMPLES, SAMPLE_RATE, loudness
from presto.cli import COMMANDS, Command, main
from presto.render import BuildConfig
from presto.corpus import DataError
from presto.dataset import ClipDataset, build_dataset, ingest_folder, read_manifest
from presto.cache import LatentDataset, build_cache, latent_loader
from presto.settings import load_settings

N_TINY = 10


@pytest.fixture(scope="session")
def cache(tmp_path_factory):
    "One catalog/note cache for the whole session (the catalog takes seconds to read); where `--cache-dir base` puts it"
    return tmp_path_factory.mktemp("cachebase") / "music21"


@pytest.fixture(scope="session")
def tiny(tmp_path_factory, cache):
    "A 10-clip build, made once"
    out = tmp_path_factory.mktemp("tiny") / "ds"
    rec = build_dataset(out, BuildConfig(n_clips=N_TINY, seed=5), cache_dir=cache, progress=False)
    return out, rec


def digest(ds: Path) -> tuple:
    "The manifest's bytes and each clip's audio hash"
    return (ds / "manifest.jsonl").read_bytes(), [hashlib.sha256((ds / r["audio"]).read_bytes()).hexdigest() for r in read_manifest(ds)]


def assert_caption_true(r: dict):
    "Every attribute the caption is said to mention is in it, and no tempo/loudness word of another class is"
    cap, men = r["caption"], r["mentions"]
    assert {"source", "ensemble"} <= set(men) and r["ensemble"] in cap
    assert any(n in cap for n in render.source_names(r)), cap
    if "key" in men: assert corpus.key_text(r["key"], r["mode"]) in cap, cap
    if "tempo_bpm" in men: assert f"{r['tempo_bpm']} BPM" in cap, cap
    else: assert "BPM" not in cap
    if "tempo_word" in men: assert any(w in cap for w in render.TEMPO_WORDS[r["tempo_word"]]), cap
    if "loudness_word" in men: assert any(w in cap for w in render.LOUDNESS_WORDS[r["loudness_word"]]), cap
    for w, words in [*render.TEMPO_WORDS.items(), *render.LOUDNESS_WORDS.items()]:
        if w not in (r["tempo_word"], r["loudness_word"]):
            assert not any(re.search(rf"\b{x}\b", cap) for x in words), cap
    if r.get("tune_type") is None: assert not any(re.search(rf"\b{t}\b", cap, re.I) for t in corpus.TUNE_TYPES), cap


# ---- the corpus build ---------------------------------------------------------------------------------------------

def test_tiny_build_renders_real_clips(tiny):
    out, rec = tiny
    rows = read_manifest(out)
    assert rec["n_clips"] == len(rows) == N_TINY and rec["failed"] == 0 and not rec["up_to_date"]
    for r in rows:
        wav, sr = sf.read(out / r["audio"], dtype="float32")
        assert sr == SAMPLE_RATE == r["sample_rate"] and wav.shape == (CLIP_SAMPLES,) == (r["n_samples"],)
        assert np.abs(wav).max() > 0.01                                          # not silent
        assert abs(loudness(wav, sr) - r["loudness_lufs"]) < 0.3                  # stored loudness is the clip's
        assert r["loudness_word"] == render.loudness_word(r["loudness_lufs"]) and r["tempo_word"] == render.tempo_word(r["tempo_bpm"])
        lo, hi = corpus.SOURCES[r["source"]].tempo
        assert lo <= r["tempo_bpm"] <= hi and -5 <= r["transposition"] <= 6
        assert r["ensemble"] in corpus.ENSEMBLES and len(r["instruments"]) == len(r["programs"]) == r["n_parts"]
        assert r["key"] in corpus.KEY_NAMES[r["mode"]] and r["n_notes"] >= 4 and r["split"] in corpus.SPLITS
        assert r["split"] == dataset.piece_split(r["piece"])
        assert_caption_true(r)
    assert (out / "build.json").is_file() and not (out / "manifest.partial.jsonl").exists()
    assert sorted(p.name for p in (out / "audio").iterdir()) == sorted(Path(r["audio"]).name for r in rows)


def test_splits_are_disjoint_by_piece(cache):
    plan = dataset.plan_clips(BuildConfig(n_clips=3000, seed=1), corpus.corpus_catalog(cache))
    by_split = {}
    for c in plan:
        for row in c["candidates"]: by_split.setdefault(dataset.piece_split(row["piece"]), set()).add(row["piece"])
    assert set(by_split) == set(corpus.SPLITS)
    assert not (by_split["train"] & by_split["valid"] or by_split["train"] & by_split["test"] or by_split["valid"] & by_split["test"])
    repeated = [p for p, n in __import__("collections").Counter(c["candidates"][0]["piece"] for c in plan).items() if n > 1]
    assert repeated                                                               # some pieces give several clips, all in one split


def test_deterministic_for_a_seed_and_worker_count(tiny, cache, tmp_path):
    out, _ = tiny
    again = build_dataset(tmp_path / "two_workers", BuildConfig(n_clips=N_TINY, seed=5), cache_dir=cache, workers=2, progress=False)
    assert again["n_clips"] == N_TINY
    assert digest(tmp_path / "two_workers") == digest(out)                       # same manifest, same audio bytes


def test_up_to_date_then_seed_change_rebuilds(cache, tmp_path):
    ds = tmp_path / "ds"
    first = build_dataset(ds, BuildConfig(n_clips=4, seed=0), cache_dir=cache, progress=False)
    before = digest(ds)
    second = build_dataset(ds, BuildConfig(n_clips=4, seed=0), cache_dir=cache, progress=False)
    assert second["up_to_date"] and not first["up_to_date"] and digest(ds) == before
    third = build_dataset(ds, BuildConfig(n_clips=3, seed=1), cache_dir=cache, progress=False)
    assert not third["up_to_date"] and digest(ds)[0] != before[0]
    assert len(read_manifest(ds)) == 3 and len(list((ds / "audio").iterdir())) == 3   # stale audio removed
    (ds / read_manifest(ds)[0]["audio"]).unlink()                                     # a missing clip: not up to date
    assert not build_dataset(ds, BuildConfig(n_clips=3, seed=1), cache_dir=cache, progress=False)["up_to_date"]


def test_interrupted_build_resumes(cache, tmp_path):
    ds = tmp_path / "ds"
    cfg = BuildConfig(n_clips=6, seed=2)
    build_dataset(ds, cfg, cache_dir=cache, progress=False)
    want = digest(ds)
    rows = read_manifest(ds)
    # what an interruption after 4 clips leaves: build.json 'building', a partial manifest, no manifest, one clip cut short
    fp = dataset.build_fingerprint(cfg, corpus.corpus_catalog(cache))
    (ds / "build.json").write_text(json.dumps(dict(status="building", fingerprint=fp)))
    (ds / "manifest.partial.jsonl").write_text("".join(json.dumps(dict(index=i, **r)) + "\n" for i, r in enumerate(rows[:4])) + '{"index": 5, "id"')
    (ds / "manifest.jsonl").unlink()
    (ds / rows[3]["audio"]).write_bytes(b"truncated")
    rec = build_dataset(ds, cfg, cache_dir=cache, progress=False)
    assert rec["resumed"] == 3 and digest(ds) == want


# ---- captions, keys, config ---------------------------------------------------------------------------------------

def test_captions_never_claim_what_a_clip_lacks():
    rng = random.Random(0)
    for _ in range(400):
        src = rng.choice(list(corpus.SOURCES))
        a = dict(source=src, composer=corpus.SOURCES[src].composer, region=None, genre=None, tune_type=None,
                 ensemble=rng.choice(list(corpus.ENSEMBLES)), tempo_bpm=rng.randint(40, 150), key=rng.choice(corpus.KEY_NAMES["minor"]),
                 mode=rng.choice(["major", "minor"]), loudness_lufs=rng.uniform(-32, -14))
        if src == "folk_song" and rng.random() < 0.7: a.update(region=rng.choice(list(corpus.REGION_PLACES)), genre="folk song")
        if src in ("irish_tune", "fiddle_tune", "scottish_tune") and rng.random() < 0.5: a["tune_type"] = rng.choice(corpus.TUNE_TYPES)
        a.update(tempo_word=render.tempo_word(a["tempo_bpm"]), loudness_word=render.loudness_word(a["loudness_lufs"]))
        a["caption"], a["mentions"] = render.make_caption(a, rng)
        assert_caption_true(a)
        if a["region"] is None: assert not any(p in a["caption"] for p in corpus.REGION_PLACES if p != "Irish" or src != "irish_tune")


def test_key_estimate_follows_transposition():
    melody = [62, 64, 65, 67, 69, 70, 73, 74, 69, 65, 62]                         # D harmonic minor
    assert corpus.estimate_key(melody) == ("D", "minor")
    names = corpus.KEY_NAMES["minor"]
    for k in range(-5, 7): assert corpus.estimate_key([p + k for p in melody]) == (names[(2 + k) % 12], "minor")


def test_piece_split_is_stable_and_proportional():
    ids = [f"piece-{i}" for i in range(20_000)]
    share = {s: sum(dataset.piece_split(i) == s for i in ids) / len(ids) for s in corpus.SPLITS}
    assert abs(share["train"] - 0.9) < 0.01 and abs(share["valid"] - 0.05) < 0.01
    assert [dataset.piece_split(i) for i in ids[:50]] == [dataset.piece_split(i) for i in ids[:50]]


@pytest.mark.parametrize("kw, msg", [
    (dict(n_clips=0), "number of clips must be an integer >= 1, got 0"),
    (dict(n_clips=-3), ">= 1, got -3"),
    (dict(sources={"jazz": 1.0}), "unknown source(s) ['jazz']"),
    (dict(splits=(0.5, 0.5, 0.5)), "splits must be 3 finite shares"),
    (dict(splits=(1, 1, 1)), "splits must be 3 finite shares"),
    (dict(splits=(float('nan'), 0, 0)), "got (nan, 0, 0)"),
    (dict(splits=(-1, 1, 1)), "got (-1, 1, 1)"),
])
def test_bad_config_is_a_clear_error(kw, msg):
    with pytest.raises(DataError, match=re.escape(msg)): BuildConfig(**kw)


def test_bad_soundfont_is_a_clear_error(tmp_path):
    with pytest.raises(DataError, match="not found"): build_dataset(tmp_path / "x", BuildConfig(n_clips=1, soundfont=str(tmp_path / "no.sf2")))
    junk = tmp_path / "junk.sf2"; junk.write_bytes(b"RIFF0000not a soundfont")
    with pytest.raises(DataError, match="cannot be loaded"): build_dataset(tmp_path / "x", BuildConfig(n_clips=1, soundfont=str(junk)))
    assert not (tmp_path / "x").exists()                                           # failed before any work


# ---- user folders -------------------------------------------------------------------------------------------------

def make_folder(root: Path, tone_s=(10.0, 3.0)) -> Path:
    "Two good files (10 s stereo 44.1 kHz, 3 s mono) and bad ones; metadata.csv with an extra column"
    root.mkdir(parents=True, exist_ok=True)
    t = np.arange(int(tone_s[0] * 44_100)) / 44_100
    music = 0.3 * np.sin(2 * np.pi * 220 * t) * (1 + np.sin(2 * np.pi * 2 * t)) / 2
    sf.write(root / "long.wav", np.stack([music, music], 1), 44_100)
    (root / "sub").mkdir()
    sf.write(root / "sub" / "short.flac", music[: int(tone_s[1] * 44_100)], 44_100)
    sf.write(root / "uncaptioned.wav", music[:44_100 * 2], 44_100)
    (root / "text.wav").write_text("this is not audio")
    sf.write(root / "silent.wav", np.zeros(3 * 16_000), 16_000)
    sf.write(root / "tiny.wav", music[:4410], 44_100)                             # 0.1 s
    with open(root / "metadata.csv", "w", newline="") as f:
        w = csv.writer(f); w.writerow(["file", "caption", "mood", "id"])
        w.writerows([["long.wav", "a wobbling tone", "calm", "x1"], ["sub/short.flac", "a short tone", "tense", "x2"],
                     ["text.wav", "text", "", ""], ["silent.wav", "nothing", "", ""], ["tiny.wav", "a blip", "", ""],
                     ["missing.wav", "not there", "", ""], ["uncaptioned.wav", "  ", "", ""], ["long.wav", "again", "", ""]])
    return root


def test_ingest_folder_keeps_good_files_and_counts_bad_ones(tmp_path, caplog):
    folder = make_folder(tmp_path / "audio")
    with caplog.at_level(logging.WARNING, logger="presto.dataset"):
        rec = ingest_folder(folder, folder / "metadata.csv", tmp_path / "ds", progress=False)
    assert rec["skipped"] == {"unreadable": 1, "silent": 1, "too short": 1, "missing file": 1, "missing caption": 1, "duplicate row": 1}
    assert sum(rec["skipped"].values()) == len(rec["skipped_files"]) == 6 and rec["n_rows"] == 8 and rec["n_files"] == 2
    assert len([m for m in caplog.messages if "skipping" in m]) == 6
    rows = read_manifest(tmp_path / "ds")
    assert [(r["piece"], r["offset_s"]) for r in rows] == [("long.wav", 0.0), ("long.wav", 4.096), ("sub/short.flac", 0.0)]
    assert rows[0]["mood"] == "calm" and rows[0]["user_id"] == "x1" and rows[0]["source"] == "user"   # extra columns kept
    for r in rows:
        wav, sr = sf.read(tmp_path / "ds" / r["audio"], dtype="float32")
        assert sr == SAMPLE_RATE and wav.shape == (CLIP_SAMPLES,) and abs(loudness(wav, sr) + 20) < 0.5
    assert np.abs(sf.read(tmp_path / "ds" / rows[2]["audio"])[0][3 * SAMPLE_RATE + 100:]).max() == 0   # 3 s file zero-padded
    again = ingest_folder(folder, folder / "metadata.csv", tmp_path / "ds", progress=False)
    assert again["up_to_date"]
    sf.write(folder / "tiny.wav", np.sin(np.arange(3 * 16_000) / 5) * 0.2, 16_000)  # fix a file: rebuilt, one more clip
    fixed = ingest_folder(folder, folder / "metadata.csv", tmp_path / "ds", progress=False)
    assert not fixed["up_to_date"] and fixed["n_clips"] == 4 and "too short" not in fixed["skipped"]


def test_ingest_jsonl_with_bad_line_and_split_column(tmp_path):
    folder = make_folder(tmp_path / "audio")
    lines = [json.dumps(dict(file="long.wav", caption="a tone", split="test")), "{not json", "",
             json.dumps(dict(file="sub/short.flac", caption="short", split="bogus"))]
    (folder / "meta.jsonl").write_text("\n".join(lines))
    rec = ingest_folder(folder, folder / "meta.jsonl", tmp_path / "ds", max_clips_per_file=1, progress=False)
    rows = read_manifest(tmp_path / "ds")
    assert rec["skipped"] == {"bad metadata row": 1} and len(rows) == 2
    assert rows[0]["split"] == "test" and rows[1]["split"] == dataset.piece_split("sub/short.flac")


def test_ingest_errors(tmp_path):
    folder = make_folder(tmp_path / "audio")
    with pytest.raises(DataError, match="audio folder .* not found"): ingest_folder(tmp_path / "nope", folder / "metadata.csv", tmp_path / "ds")
    with pytest.raises(DataError, match="metadata file .* not found"): ingest_folder(folder, folder / "nope.csv", tmp_path / "ds")
    (folder / "m.txt").write_text("file,caption\n")
    with pytest.raises(DataError, match="unknown format '.txt'"): ingest_folder(folder, folder / "m.txt", tmp_path / "ds")
    (folder / "m.csv").write_text("path,text\nlong.wav,a tone\n")
    with pytest.raises(DataError, match="needs rows with columns 'file' and 'caption'"): ingest_folder(folder, folder / "m.csv", tmp_path / "ds")
    with pytest.raises(DataError, match="no metadata file"): dataset.find_metadata(tmp_path)
    for bad in ((1, 1, 1), (float('nan'), 0, 0), (-1, 1, 1)):                      # the folder path checks its splits too
        with pytest.raises(DataError, match="splits must be 3 finite shares"): ingest_folder(folder, folder / "metadata.csv", tmp_path / "ds", splits=bad)
    (folder / "bad.csv").write_text("file,caption\ntext.wav,text\nsilent.wav,nothing\n")     # every file unusable: an error, no dataset
    with pytest.raises(DataError, match="no usable clips, every metadata row was skipped .unreadable 1, silent 1."):
        ingest_folder(folder, folder / "bad.csv", tmp_path / "ds2", progress=False)
    assert not (tmp_path / "ds2" / "manifest.jsonl").exists()
    (folder / "latin1.csv").write_bytes("file,caption\nlong.wav,caf\xe9\n".encode('latin-1'))
    with pytest.raises(DataError, match="latin1.csv: not UTF-8 text"): ingest_folder(folder, folder / "latin1.csv", tmp_path / "ds3")


# ---- datasets and the latent cache --------------------------------------------------------------------------------

def enc_audio(wav):                                     # (B, 1, N) -> (B, 2, 64): frame means and stds
    f = wav[:, 0, : 64 * 1024].unflatten(-1, (64, 1024))
    return torch.stack([f.mean(-1), f.std(-1)], 1)


def enc_text(caps):                                     # states (B, L, 4), mask (B, L), pooled (B, 4), L = longest caption
    L = max(len(c.split()) for c in caps)
    mask = torch.tensor([[1.0] * len(c.split()) + [0.0] * (L - len(c.split())) for c in caps])
    states = torch.stack([torch.tensor([[len(w), ord(w[0]), i, 1.0] for i, w in enumerate(c.split())] + [[0.0] * 4] * (L - len(c.split()))) for c in caps])
    return dict(states=states, mask=mask, pooled=states.sum(1))


def test_clip_dataset(tiny):
    out, rec = tiny
    ds = ClipDataset(out)
    wav, cap, attrs = ds[0]
    assert wav.shape == (1, CLIP_SAMPLES) and wav.dtype == torch.float32 and cap == attrs["caption"]
    assert sum(len(ClipDataset(out, s)) for s in corpus.SPLITS) == len(ds) == rec["n_clips"]
    wavs, caps, attrs = dataset.collate_clips([ds[0], ds[1]])
    assert wavs.shape == (2, 1, CLIP_SAMPLES) and len(caps) == len(attrs) == 2
    with pytest.raises(DataError, match="unknown split"): ClipDataset(out, "dev")
    with pytest.raises(DataError, match="no manifest.jsonl"): ClipDataset(out / "audio")


def test_build_cache_and_loader(tiny, tmp_path):
    out, _ = tiny
    calls = []
    def counted(wav): calls.append(len(wav)); return enc_audio(wav)
    root = build_cache(out, counted, enc_text, "t", fingerprint="enc-1", batch_size=3, shard_size=4, progress=False)
    meta = json.loads((root / "meta.json").read_text())
    n = meta["counts"]
    assert sum(calls) == N_TINY and sorted(meta["text_keys"]) == ["mask", "pooled", "states"]
    assert len(meta["shards"]["train"]) == -(-n["train"] // 4)                         # shards of 4 clips
    ds = LatentDataset(root, "train")
    assert len(ds) == n["train"]
    z, text, attrs = ds[1]
    i = read_manifest(out).index(attrs)
    assert torch.allclose(z, enc_audio(ClipDataset(out)[i][0][None])[0])
    k = int(text["mask"].sum())
    assert torch.equal(text["states"][:k], enc_text([attrs["caption"]])["states"][0])
    assert text["mask"][k:].sum() == 0                                                 # padding is masked
    batches = list(latent_loader(root, "train", batch_size=4, seed=0))
    assert batches[0][0].shape[:2] == (min(4, n["train"]), 2) and sum(len(b[2]) for b in batches) == n["train"]
    order = lambda s: [a["id"] for b in latent_loader(root, "train", batch_size=4, seed=s) for a in b[2]]
    assert order(0) == order(0)
    # up to date: no encoder calls; a new encoder fingerprint rebuilds
    calls.clear(); build_cache(out, counted, enc_text, "t", fingerprint="enc-1", progress=False); assert calls == []
    build_cache(out, counted, enc_text, "t", fingerprint="enc-2", progress=False); assert sum(calls) == N_TINY


def test_cache_rebuilds_when_manifest_changes(tmp_path, cache):
    ds = tmp_path / "ds"
    build_dataset(ds, BuildConfig(n_clips=3, seed=0), cache_dir=cache, progress=False)
    root = build_cache(ds, enc_audio, enc_text, "t", fingerprint="e", progress=False)
    build_dataset(ds, BuildConfig(n_clips=3, seed=9), cache_dir=cache, progress=False)   # new manifest
    with pytest.raises(DataError, match="another manifest"): LatentDataset(root, "train")
    calls = []
    build_cache(ds, lambda w: calls.append(1) or enc_audio(w), enc_text, "t", fingerprint="e", progress=False)
    assert calls and len(LatentDataset(root, "train")) + len(LatentDataset(root, "valid")) + len(LatentDataset(root, "test")) == 3


def test_cache_checks_encoder_outputs(tiny):
    out, _ = tiny
    with pytest.raises(DataError, match=r"encode_audio must return latents \(B, C, T\)"):
        build_cache(out, lambda w: w[:, 0], enc_text, "bad", fingerprint="x", progress=False)
    with pytest.raises(DataError, match="encode_text must return a dict"):
        build_cache(out, enc_audio, lambda caps: torch.zeros(len(caps), 3), "bad", fingerprint="x", progress=False)
    with pytest.raises(DataError, match="cache name"): build_cache(out, enc_audio, enc_text, "../up", fingerprint="x")
    with pytest.raises(DataError, match="not a finished latent cache"): LatentDataset(out / "cache" / "bad")


# ---- the command line ---------------------------------------------------------------------------------------------

@pytest.fixture
def presto_data(monkeypatch):
    "`presto data` registered in the real CLI, as presto.cli does"
    monkeypatch.setitem(COMMANDS, "data", Command("data", cmd_data.cli_main, "build a dataset", cmd_data.add_cli_args))


def test_cli_builds_and_reports(presto_data, tmp_path, cache, capsys):
    argv = ["--seed", "3", "--data-dir", str(tmp_path / "data"), "--cache-dir", str(cache.parent), "data", "--clips", "3", "--workers", "1"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "presto data: 3 clips (train" in out and "clips/s" in out and "MB on disk" in out
    ds = tmp_path / "data" / "datasets" / "music21"
    assert len(read_manifest(ds)) == 3 and json.loads((ds / "build.json").read_text())["config"]["seed"] == 3
    assert main(argv) == 0 and "up to date" in capsys.readouterr().out


def test_cli_folder_ingestion(presto_data, tmp_path, capsys):
    folder = make_folder(tmp_path / "my_audio")
    assert main(["--data-dir", str(tmp_path / "data"), "data", "--from-folder", str(folder)]) == 0
    out = capsys.readouterr().out
    assert "3 clips" in out and "2 of 8 metadata rows used" in out and "unreadable 1" in out
    assert (tmp_path / "data" / "datasets" / "my_audio" / "manifest.jsonl").is_file()


@pytest.mark.parametrize("args, msg", [
    (["data", "--clips", "0"], "number of clips must be an integer >= 1, got 0"),
    (["data", "--workers", "0"], "--workers must be >= 1"),
    (["data", "--soundfont", "/no/such.sf2", "--clips", "2"], "soundfont /no/such.sf2 not found"),
    (["data", "--from-folder", "/no/such/folder"], "--from-folder /no/such/folder: folder not found"),
    (["data", "--metadata", "m.csv"], "--metadata goes with --from-folder"),
    (["data", "--splits", "0.5,x"], "give three numbers train,valid,test"),
    (["data", "--splits", "0.5,0.5,0.5", "--clips", "2"], "splits must be 3 finite shares (train, valid, test) >= 0 summing to 1"),
])
def test_cli_errors_are_one_line(presto_data, tmp_path, capsys, args, msg):
    assert main(["--data-dir", str(tmp_path)] + args) == 2
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err


def test_cli_missing_metadata(presto_data, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert main(["--data-dir", str(tmp_path), "data", "--from-folder", str(tmp_path / "empty")]) == 2
    assert "no metadata file" in capsys.readouterr().err


def test_empty_split_is_warned():
    rec = dict(n_clips=3, splits={'train': 3, 'valid': 0, 'test': 0}, out_dir='ds', seconds=1.0, bytes=1, kind='folder',
               n_files=1, n_rows=1, skipped={})
    out = cmd_data.format_record(rec)
    assert 'warning: no valid and no test clips: training needs train and valid clips' in out
