"""Run settings through the real `presto` command: settings.ini < PRESTO_<KEY> < flags, and every way a
settings file can be wrong (exit code 2, one line on stderr naming the problem, no traceback)."""
import os, re, subprocess, sys
from pathlib import Path

import pytest

from presto.settings import KEYS, Settings, SettingsError, load_settings, resolve_device, torch_dtype

REPO = Path(__file__).resolve().parents[1]
PRESTO = Path(sys.executable).parent / "presto"   # the console script from [project.scripts]


def presto(*args, env=None, cwd=None):
    "Run `python -m presto.cli *args` with no PRESTO_* variables but those in `env`."
    base = {k: v for k, v in os.environ.items() if not k.startswith("PRESTO_")}
    return subprocess.run([sys.executable, "-m", "presto.cli", *map(str, args)], capture_output=True, text=True,
                          env={**base, **(env or {})}, cwd=cwd or REPO, timeout=120)


def line(out, key):
    "The `key = value  # source` line of `presto settings` output, as (value, source)."
    m = re.search(rf"^{key} += (.*?) +# (\w+)", out, re.M)
    assert m, f"no line for {key!r} in:\n{out}"
    return m.group(1), m.group(2)


def test_repo_settings_ini_lists_every_key_with_its_default():
    s = load_settings(REPO / "settings.ini", env={})
    assert s == Settings()
    assert s.sources == {k: "file" for k in KEYS}, "settings.ini should spell out every key"


def test_console_script_prints_repo_settings():
    assert PRESTO.exists(), f"console script missing: {PRESTO} (pip install -e .)"
    r = subprocess.run([str(PRESTO), "settings"], capture_output=True, text=True, cwd=REPO / "nbs", timeout=60,
                       env={k: v for k, v in os.environ.items() if not k.startswith("PRESTO_")})
    assert r.returncode == 0, r.stderr
    assert f"# settings file: {REPO / 'settings.ini'}" in r.stdout       # found upward from nbs/
    assert line(r.stdout, "seed") == ("0", "file")
    assert line(r.stdout, "data_dir") == ("data", "file")
    assert f"-> {REPO / 'data'}" in r.stdout


def test_precedence_file_env_cli(tmp_path):
    ini = tmp_path / "run.ini"
    ini.write_text("[presto]\nseed = 1\ndtype = bfloat16\n")
    env = {"PRESTO_SETTINGS": str(ini)}
    out = presto("settings", env=env).stdout
    assert line(out, "seed") == ("1", "file") and line(out, "device") == ("auto", "default")
    out = presto("settings", env={**env, "PRESTO_SEED": "2", "PRESTO_DEVICE": "cpu"}).stdout
    assert line(out, "seed") == ("2", "env") and line(out, "device") == ("cpu", "env")
    assert line(out, "dtype") == ("bfloat16", "file")
    r = presto("--seed", "3", "settings", env={**env, "PRESTO_SEED": "2"})
    assert r.returncode == 0, r.stderr
    assert line(r.stdout, "seed") == ("3", "cli")
    r = presto("--seed", "3", "settings", "--seed", "4", env={**env, "PRESTO_SEED": "2"})
    assert line(r.stdout, "seed") == ("4", "cli")                              # after the command wins


def test_settings_flag_beats_presto_settings_env(tmp_path):
    (a := tmp_path / "a.ini").write_text("[presto]\nseed = 11\n")
    (b := tmp_path / "b.ini").write_text("[presto]\nseed = 22\n")
    out = presto("--settings", b, "settings", env={"PRESTO_SETTINGS": str(a)}).stdout
    assert line(out, "seed") == ("22", "file")


def test_search_upward_and_relative_paths(tmp_path):
    (tmp_path / "settings.ini").write_text("[presto]\ndata_dir = corpus\n")
    deep = tmp_path / "x" / "y"
    deep.mkdir(parents=True)
    (tmp_path / "x" / "settings.ini").write_text("[DEFAULT]\nlib_name = other\n")  # not ours: skipped
    r = presto("--output-dir", "runs", "settings", cwd=deep)
    assert r.returncode == 0, r.stderr
    assert f"# settings file: {tmp_path / 'settings.ini'}" in r.stdout
    assert line(r.stdout, "data_dir") == ("corpus", "file")
    assert f"# file -> {tmp_path.resolve() / 'corpus'}\n" in r.stdout          # file values: relative to the file
    assert line(r.stdout, "output_dir") == (str(deep.resolve() / "runs"), "cli")  # flags: relative to the cwd


def test_printed_settings_load_back(tmp_path):
    out = presto("--seed", "9", "--log-mode", "offline", "settings").stdout
    (frozen := tmp_path / "frozen.ini").write_text(out)
    s = load_settings(frozen, env={})
    assert (s.seed, s.log_mode, s.preset) == (9, "offline", "small")


BAD_FILES = [  # (contents, what the error must say)
    ("[presto]\nseed\n", "cannot parse settings file"),
    ("seed = 1\n", "no section headers"),
    ("[presto]\nseed = 1\nseed = 2\n", "already exists"),
    ("[tool]\nseed = 1\n", "no [presto] section (found: ['tool'])"),
    ("[presto]\nsed = 1\n", "unknown setting 'sed'"),
    ("[presto]\ncheckpoint-dir = x\n", "did you mean 'checkpoint_dir'?"),
    ("[presto]\nseed = 1.5\n", "seed = '1.5' in"),
    ("[presto]\nseed =\n", "empty value"),
    ("[presto]\ndevice = gpu\n", "must be auto, cpu, cuda, cuda:N or mps"),
    ("[presto]\ndtype = fp16\n", "must be one of float32, bfloat16, float16"),
    ("[presto]\nlog_mode = yes\n", "must be one of disabled, offline, online"),
    ("[presto]\nlog_level = loud\n", "must be one of DEBUG, INFO, WARNING, ERROR"),
]


@pytest.mark.parametrize("via", ["flag", "env"])
@pytest.mark.parametrize("text,message", BAD_FILES)
def test_bad_settings_file_exit_2(tmp_path, via, text, message):
    bad = tmp_path / "bad.ini"
    bad.write_text(text)
    r = presto("--settings", bad, "settings") if via == "flag" else presto("settings", env={"PRESTO_SETTINGS": str(bad)})
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.startswith("presto: error: "), r.stderr
    assert message in r.stderr
    assert str(bad) in r.stderr                          # names the file
    assert "Traceback" not in r.stderr


@pytest.mark.parametrize("via", ["flag", "env"])
def test_missing_settings_file_exit_2(tmp_path, via):
    missing = tmp_path / "nope.ini"
    r = presto("--settings", missing, "settings") if via == "flag" else presto("settings", env={"PRESTO_SETTINGS": str(missing)})
    assert r.returncode == 2
    assert f"settings file {missing} not found" in r.stderr


@pytest.mark.parametrize("args,env,message", [
    (("--seed", "x"), {}, "seed = 'x' from --seed: must be an integer"),
    (("--device", "cuda0"), {}, "device = 'cuda0' from --device"),
    ((), {"PRESTO_DTYPE": "float64"}, "dtype = 'float64' from PRESTO_DTYPE"),
    ((), {"PRESTO_LOG_MODE": "ONLINE"}, "from PRESTO_LOG_MODE: must be one of disabled, offline, online"),
])
def test_bad_values_from_flags_and_env_exit_2(args, env, message):
    r = presto(*args, "settings", env=env)
    assert (r.returncode, r.stdout) == (2, "")
    assert message in r.stderr and "Traceback" not in r.stderr


def test_unknown_flag_exit_2():
    r = presto("settings", "--sed", "1")
    assert r.returncode == 2 and "unrecognized arguments: --sed 1" in r.stderr


def test_unset_env_and_unknown_presto_vars_are_ignored():
    r = presto("settings", env={"PRESTO_SEED": "", "PRESTO_HOME": "/opt/presto-sql"})
    assert r.returncode == 0, r.stderr
    assert line(r.stdout, "seed") == ("0", "file")


def test_device_and_dtype():
    import torch
    assert resolve_device(Settings(device="cpu")) == torch.device("cpu")
    assert resolve_device(Settings()).type == ("cuda" if torch.cuda.is_available() else "cpu")
    with pytest.raises(SettingsError, match="CUDA device"):
        resolve_device("cuda:99")
    assert torch_dtype(Settings(dtype="bfloat16")) is torch.bfloat16
    with pytest.raises(SettingsError, match="must be one of"):
        torch_dtype("half")


def test_path_resolution(tmp_path):
    (ini := tmp_path / "s.ini").write_text("[presto]\ncheckpoint_dir = ckpt\ncache_dir = ~/c\n")
    s = load_settings(ini, env={})
    assert s.path("checkpoint_dir") == tmp_path.resolve() / "ckpt"
    assert s.path("cache_dir") == (Path.home() / "c").resolve()
    assert s.path("output_dir") == tmp_path.resolve() / "outputs"          # default, relative to the file
    with pytest.raises(KeyError, match="not a path setting"):
        s.path("seed")
