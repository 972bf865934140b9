# Two commands do all the set-up:  `make lab` (learners) and `make test` (maintainers, CI).
# The environment lives in .venv; requirements are (re)installed only when their files change.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
LAB_STAMP := $(VENV)/.stamp-lab
DEV_STAMP := $(VENV)/.stamp-dev
HUB_STAMP := hub/node_modules/.stamp
# Extra pip options, e.g. PIP_OPTS="--extra-index-url https://download.pytorch.org/whl/cpu"
PIP_OPTS ?=
PORT ?= 8888
# Jupyter refuses to run as root unless told; containers often run as root.
ALLOW_ROOT := $(if $(filter 0,$(shell id -u)),--allow-root,)

.PHONY: lab test test-fast test-notebooks test-browser lint links bench bench-peers env env-dev clean help \
	zh zh-check hub test-hub

help:
	@echo "make lab            set up .venv and start JupyterLab on notebooks/ (127.0.0.1, token)"
	@echo "make test           lint + unit tests + notebook execution + browser tests"
	@echo "make test-fast      lint + unit tests only"
	@echo "make test-notebooks execute every notebook under NST_PROFILE=smoke NST_WEIGHTS=random"
	@echo "make test-browser   drive JupyterLab in headless Chromium"
	@echo "make hub            the course's JupyterHub for a class on this server (INSTRUCTORS.md)"
	@echo "make test-hub       a class of learners on that hub, at once (hub/loadtest.py)"
	@echo "make zh             rebuild the Chinese lessons notebooks/zh/ from notebooks/ + translations"
	@echo "make zh-check       list stale or missing translations (changes nothing)"
	@echo "make bench          speed against the bare VGG19 floor, layout, precisions (benchmarks/)"
	@echo "make bench-peers    the same floor against pastiche and pystiche (own venv, optional)"
	@echo "make links          (re)write every Binder/Colab link and the Colab set-up cell from pyproject.toml"
	@echo "make clean          remove .venv and caches (never your downloaded weights)"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(LAB_STAMP): requirements.txt pyproject.toml | $(PY)
	$(PY) -m pip install $(PIP_OPTS) -r requirements.txt
	$(PY) -m pip install --no-deps -e .
	@touch $@

$(DEV_STAMP): requirements-dev.txt $(LAB_STAMP)
	$(PY) -m pip install $(PIP_OPTS) -r requirements-dev.txt
	@touch $@

env: $(LAB_STAMP)
env-dev: $(DEV_STAMP)

lab: $(LAB_STAMP)
	$(BIN)/jupyter lab --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) \
		--ServerApp.root_dir=notebooks $(ALLOW_ROOT)

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-fast: lint
	$(PY) -m pytest -m "not notebook and not browser and not hub"

test-notebooks: $(DEV_STAMP)
	$(PY) -m pytest -m notebook

test-browser: $(DEV_STAMP)
	$(PY) -m pytest -m browser

test: lint $(HUB_STAMP)
	$(PY) -m pytest

# The course's JupyterHub on one server (INSTRUCTORS.md, "A lab on one server"): its proxy from npm
# (hub/package-lock.json), the course cache filled once, then the hub on port 8000.
$(HUB_STAMP): hub/package.json hub/package-lock.json
	npm ci --prefix hub --no-audit --no-fund
	@touch $@

hub: $(DEV_STAMP) $(HUB_STAMP)
	$(PY) hub/course_hub.py cache
	$(BIN)/jupyterhub -f hub/jupyterhub_config.py

# A class on that hub, checked and measured (NST_HUB_LEARNERS, NST_HUB_PROFILE size it).
test-hub: $(DEV_STAMP) $(HUB_STAMP)
	$(PY) -m pytest -m hub

# Every Binder and Colab link and the notebooks' Colab set-up cell, from [project.urls] Repository.
links:
	$(PYTHON) tools/links.py

# The Chinese lessons are generated: notebooks/zh/NN_name.ipynb from notebooks/NN_name.ipynb and
# notebooks/zh/translations/NN_name.yaml (see tools/translate_notebooks.py).
zh: $(DEV_STAMP)
	$(PY) tools/translate_notebooks.py
	$(PY) tools/catalog.py compile

zh-check: $(DEV_STAMP)
	$(PY) tools/translate_notebooks.py --check
	$(PY) tools/catalog.py check

# Speed (benchmarks/bench.py; README "Speed and memory"). BENCH_OPTS, e.g. "--threads 1" on a busy
# machine, "--quick" for a smoke test. bench-peers: pastiche and pystiche from PyPI in a venv of their
# own (benchmarks/requirements-peers.txt), never .venv; optional, not part of `make test`.
BENCH_OPTS ?=
PEERS_VENV ?= build/peers-venv
bench: $(LAB_STAMP)
	$(PY) benchmarks/bench.py $(BENCH_OPTS)

$(PEERS_VENV)/.stamp: benchmarks/requirements-peers.txt
	$(PYTHON) -m venv $(PEERS_VENV)
	$(PEERS_VENV)/bin/python -m pip install $(PIP_OPTS) -r benchmarks/requirements-peers.txt
	@touch $@

bench-peers: $(PEERS_VENV)/.stamp
	$(PEERS_VENV)/bin/python benchmarks/peers.py $(BENCH_OPTS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache test-output build *.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
