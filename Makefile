# presto: every command a user needs. `make demo` and `make test` are the two a fresh machine needs;
# both create .venv and install everything on first use (idempotent, torch pinned by constraints.txt).
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python
BIN := $(VENV)/bin
export PIP_CONSTRAINT := $(CURDIR)/constraints.txt
export PIP_DISABLE_PIP_VERSION_CHECK := 1
export HF_HUB_OFFLINE := 1
export TRANSFORMERS_OFFLINE := 1
export WANDB_MODE ?= disabled
export MPLBACKEND ?= Agg
# The install stamp is named by the content of the files that define the install (nbdev-export rewrites
# pyproject.toml, so its mtime is no guide): change a dependency and the next command reinstalls.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)

.PHONY: install demo test results reproduce lab docs readme export clean-nbs check-sync lint-imports nbtest pytest browser clean

$(STAMP):
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade "pip>=24"
	$(PY) -m pip install -q torch==2.13.0
	$(PY) -m pip install -q -e '.[dev]'
	$(PY) -m pip install -q --no-deps "tinysoundfont>=0.3.7"
	$(PY) -c "import torch, presto; print('presto installed; torch', torch.__version__)"
	@rm -f $(VENV)/.installed-*; touch $@

install: $(STAMP)  ## create .venv and install presto with its dev tools

demo: $(STAMP)  ## the main job on the embedded default
	$(BIN)/presto compare "a fast Irish reel on the flute" --models base,presto-ls --out outputs/demo/

RECIPE ?= cpu
results: $(STAMP)  ## the whole-project results table from the shipped checkpoints -> outputs/results/results.{json,md}
	$(BIN)/presto results

reproduce: $(STAMP)  ## everything from scratch into outputs/reproduce/$(RECIPE) (RECIPE=tiny|cpu|gpu), ending with the results table; resumable
	$(BIN)/presto reproduce $(RECIPE)

test: $(STAMP)  ## every test: notebooks in sync and clean, the import layers, notebooks run, pytest (incl. browser)
	$(MAKE) --no-print-directory check-sync
	$(MAKE) --no-print-directory lint-imports
	$(MAKE) --no-print-directory nbtest
	$(MAKE) --no-print-directory browser
	$(MAKE) --no-print-directory pytest

check-sync: $(STAMP)  ## fail if nbdev-clean / nbdev-export would change anything
	$(PY) tools/check_sync.py

lint-imports: $(STAMP)  ## fail if a module imports a layer above it (the contract in pyproject.toml)
	$(BIN)/lint-imports --no-cache

nbtest: $(STAMP)  ## run every notebook (skips cells flagged notest/slow/gpu)
	$(BIN)/nbdev-test --n-workers 2 --timing

browser:  ## Debian chromium + chromedriver for the site test (needs root; skipped otherwise)
	@bash tools/ensure_chromium.sh

pytest: $(STAMP)
	$(BIN)/pytest tests

LAB_ARGS ?= $(if $(filter 0,$(shell id -u)),--allow-root)
lab: $(STAMP)  ## JupyterLab on nbs/ with presto importable and widgets working
	$(BIN)/jupyter lab --notebook-dir=nbs $(LAB_ARGS)

docs: $(STAMP)  ## static documentation site in _site/ (offline, nbconvert; `$(PY) tools/build_site.py --quarto` for nbdev-docs)
	$(PY) tools/build_site.py

readme: $(STAMP)  ## README.md from nbs/index.ipynb (offline)
	$(PY) tools/make_readme.py

export: $(STAMP)  ## notebooks -> presto/ and clean notebooks
	$(BIN)/nbdev-clean
	$(BIN)/nbdev-export

clean:
	rm -rf _proc _docs _site .pytest_cache
