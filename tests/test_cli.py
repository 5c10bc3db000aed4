"""The `presto` command line, run as a real process: subcommands, exit codes, and `presto demo` on a tiny
config (the EDM samplers on an exact Gaussian denoiser) printing a table and writing valid JSON."""
import json, os, subprocess, sys
from pathlib import Path

import pytest

from presto.cli import COMMANDS, main

REPO = Path(__file__).resolve().parents[1]
PRESTO = Path(sys.executable).parent / "presto"   # the console script from [project.scripts]
TINY = ("--steps", "1,2", "--n", "256", "--dim", "4")


def presto(*args, env=None, cwd=None):
    "Run the `presto` console script with no PRESTO_* variables but those in `env`."
    base = {k: v for k, v in os.environ.items() if not k.startswith("PRESTO_")}
    return subprocess.run([str(PRESTO), *map(str, args)], capture_output=True, text=True,
                          env={**base, **(env or {})}, cwd=cwd or REPO, timeout=120)


def strict_json(path):
    "Parse `path` as strict JSON (no NaN/Infinity, which Python's json would otherwise accept)."
    def no_constants(name): raise ValueError(f"{path}: {name} is not valid JSON")
    return json.loads(Path(path).read_text(), parse_constant=no_constants)


def assert_usage_error(r, message):
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == ""
    assert message in r.stderr, r.stderr
    assert "Traceback" not in r.stderr


def test_help_lists_commands_and_settings_flags():
    r = presto("--help")
    assert r.returncode == 0
    for word in ("settings", "demo", "--seed", "--device", "--dtype", "--data-dir", "--log-mode", "--settings"):
        assert word in r.stdout
    assert "random seed" in r.stdout                      # help text comes from the Settings comments


def test_registered_commands():
    assert list(COMMANDS)[:2] == ["settings", "demo"]


def test_unknown_command_and_missing_command():
    assert_usage_error(presto("nope"), "invalid choice: 'nope'")
    assert_usage_error(presto(), "the following arguments are required: COMMAND")


def test_demo_tiny_prints_table_and_writes_json(tmp_path):
    out = tmp_path / "sub" / "rows.json"                  # parent folder created on the way
    r = presto("demo", *TINY, "--json", out)
    assert r.returncode == 0, r.stderr
    header, table = r.stdout.split("\n", 1)
    assert header == "# presto demo: samplers=euler,heun,dpmpp_2m,multistep steps=1,2 dim=4 n=256 seed=0 device=cpu" \
        or "device=cuda" in header
    assert table.splitlines()[0].split() == ["sampler", "steps", "nfe", "ode_err", "mean_err", "cov_err", "ms"]
    assert f"wrote 8 rows to {out}" in r.stdout
    rows = strict_json(out)
    assert [(row["sampler"], row["steps"]) for row in rows] == [
        (s, k) for s in ("euler", "heun", "dpmpp_2m", "multistep") for k in (1, 2)]
    assert all(row["ode_err"] is None for row in rows if row["sampler"] == "multistep")   # NaN -> null
    assert all(0 <= row["ode_err"] < 10 for row in rows if row["sampler"] == "euler")
    assert sorted(p.name for p in out.parent.iterdir()) == ["rows.json"]                   # no temp file left


def test_demo_subset_is_deterministic_and_uses_settings_seed(tmp_path):
    a, b, c = tmp_path / "a.json", tmp_path / "b.json", tmp_path / "c.json"
    for path, env in [(a, {"PRESTO_SEED": "3"}), (b, {"PRESTO_SEED": "3"}), (c, {"PRESTO_SEED": "4"})]:
        r = presto("--device", "cpu", "demo", "--samplers", "euler", "--steps", "1,8", "--n", "256", "--dim", "4",
                   "--json", path, env=env)
        assert r.returncode == 0, r.stderr
        assert f"seed={env['PRESTO_SEED']} device=cpu" in r.stdout
    strip = lambda rows: [{k: v for k, v in row.items() if k != "ms"} for row in rows]
    ra, rb, rc = strict_json(a), strict_json(b), strict_json(c)
    assert strip(ra) == strip(rb)                          # same seed, same numbers
    assert strip(ra) != strip(rc)                          # the seed reaches the library
    assert [r["steps"] for r in ra] == [1, 8] and ra[1]["ode_err"] < ra[0]["ode_err"]   # 8 Euler steps beat 1


def test_json_replaces_existing_file(tmp_path):
    out = tmp_path / "rows.json"
    out.write_text("old, not json")
    r = presto("demo", "--samplers", "multistep", "--steps", "1", "--n", "16", "--dim", "4", "--json", out)
    assert r.returncode == 0, r.stderr
    assert [row["sampler"] for row in strict_json(out)] == ["multistep"]


@pytest.mark.parametrize("steps", ["0", "1,0", "-1", "1,x", "1.5", ""])
def test_demo_bad_steps(tmp_path, steps):
    r = presto("demo", "--steps", steps, "--json", tmp_path / "rows.json")
    assert_usage_error(r, "argument --steps:")
    assert "not a positive integer" in r.stderr
    assert not (tmp_path / "rows.json").exists()


@pytest.mark.parametrize("opt", ["--n", "--dim"])
def test_demo_bad_sizes(opt):
    assert_usage_error(presto("demo", opt, "0"), f"argument {opt}: '0': not a positive integer")


def test_demo_bad_samplers(tmp_path):
    r = presto("demo", "--samplers", "euler,nope", "--json", tmp_path / "rows.json")
    assert_usage_error(r, "presto: error: --samplers: unknown 'nope'; allowed: euler, heun, dpmpp_2m, multistep")
    assert not (tmp_path / "rows.json").exists()


def test_demo_bad_settings_file(tmp_path):
    (bad := tmp_path / "bad.ini").write_text("[presto]\nseed = one\n")
    assert_usage_error(presto("demo", *TINY, env={"PRESTO_SETTINGS": str(bad)}), f"seed = 'one' in {bad}: must be an integer")


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="needs a machine without CUDA")
def test_demo_cuda_without_gpu():
    assert_usage_error(presto("--device", "cuda", "demo", *TINY), "sees 0 CUDA device(s)")


def test_unwritable_json_is_an_error_not_a_traceback(tmp_path):
    (blocker := tmp_path / "file").write_text("")
    assert_usage_error(presto("demo", *TINY, "--json", blocker / "rows.json"), "presto: error:")


def test_traceback_flag_shows_traceback():
    r = presto("--traceback", "--seed", "x", "settings")
    assert r.returncode != 0 and "Traceback" in r.stderr and "SettingsError" in r.stderr


def test_python_m_presto_cli_matches_console_script():
    r = subprocess.run([sys.executable, "-m", "presto.cli", "--seed", "x", "settings"], capture_output=True, text=True,
                       cwd=REPO, timeout=60)
    assert_usage_error(r, "seed = 'x' from --seed")


def test_main_in_process_returns_exit_codes(capsys):
    assert main(["--help"]) == 0
    assert main(["nope"]) == 2
    assert main(["--dtype", "float8", "settings"]) == 2
    assert "must be one of float32, bfloat16, float16" in capsys.readouterr().err
