# Entry commands. Each creates .venv with Python 3.11 if needed and installs requirements.txt.
#   make demo        run the pipeline on the synthetic dataset (offline)
#   make test        run the test suite (what CI runs)
#   make bench       run the benchmarks and print their figures (not benchmarks/scale.py: hours, by hand)
#   make clean-demo  delete what the demo wrote and restore the reference dvc.lock and metrics/
#   make exps        the experiments side by side: model.lr and every model's macro-F1
# The interpreter that creates .venv is overridable: make install PYTHON=/opt/python3.11/bin/python3

PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

export DVC_NO_ANALYTICS := 1
export PYTHONUNBUFFERED := 1
# dvc.yaml runs stages as `python -m stages.x`: put the venv first so that `python` is its own,
# as `source .venv/bin/activate` does for an interactive shell.
export PATH := $(CURDIR)/$(BIN):$(PATH)
export VIRTUAL_ENV := $(CURDIR)/$(VENV)

.PHONY: install demo test test-fast bench lint clean-demo exps

install: $(STAMP)

$(STAMP): requirements.txt constraints.txt pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	$(BIN)/python -m fmagenre warmup
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/dvc repro
	@echo
	@cat reports/leaderboard.md
	@echo
	@echo "Figures: reports/compare.png, reports/analysis.md; all plots: $(BIN)/dvc plots show"
	@echo "Classify files: $(BIN)/python -m fmagenre predict data/fma/fma_synthetic/000"
	@echo "Tag real music with the pretrained musicnn network: $(BIN)/python -m fmagenre tag song.mp3"

test: $(STAMP)
	$(BIN)/python -m pytest

test-fast: $(STAMP)
	$(BIN)/python -m pytest -m "not e2e and not slow"

bench: $(STAMP)
	for script in benchmarks/[a-z]*.py; do \
	  case $$script in benchmarks/scale.py) continue;; esac; \
	  echo "== $$script"; $(BIN)/python $$script || exit 1; done

# every experiment's validation and test macro-F1, a column per model, beside model.lr:
# `dvc exp show` read as CSV and laid out in about 80 columns (fmagenre/cli/experiments.py;
# docs/experiments.md). Other params: .venv/bin/python -m fmagenre experiments --param svm.C
exps: $(STAMP)
	$(BIN)/python -m fmagenre experiments

lint: $(STAMP)
	$(BIN)/ruff check fmagenre stages tests benchmarks vendor

# Keeps data/downloads (verified FMA archives) and DVC's cache (.dvc/cache): `make demo`
# afterwards restores the outputs from the cache in seconds; `rm -rf .dvc/cache` frees it.
clean-demo:
	if [ -d data ]; then find data -mindepth 1 -maxdepth 1 ! -name downloads -exec rm -rf {} +; fi
	rm -rf models reports dvc_plots
	git checkout -- dvc.lock metrics
	git clean -fdq -- metrics
