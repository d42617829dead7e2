# marrowsim: the two commands that matter are `make demo` and `make test`.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
# The verbatim IPD-IMGT/HLA release used by tests and the demo (never copied into the project).
export MARROWSIM_HLA_DATA ?= $(abspath ../shared/data/imgt-hla)
export MPLBACKEND ?= Agg

.PHONY: demo test test-slow test-all bench docs lint format validate clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/marrowsim demo

test: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks README.md docs
	$(BIN)/python -m pytest -n 2 -q

test-slow: $(STAMP)
	$(BIN)/python -m pytest -q -m slow

test-all: $(STAMP)
	$(BIN)/python -m pytest -n 2 -q -m "slow or not slow"

bench: $(STAMP)
	$(BIN)/python benchmarks/run.py --write docs/performance.md

# regenerate the generated parts of the documentation (the parameter table of docs/model.md)
docs: $(STAMP)
	$(BIN)/marrowsim params list --markdown --update docs/model.md

validate: $(STAMP)
	$(BIN)/marrowsim validate --out docs

lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks

format: $(STAMP)
	$(BIN)/ruff format src tests benchmarks README.md docs
	$(BIN)/ruff check --fix src tests benchmarks

clean:
	rm -rf $(VENV) .cache marrowsim-out
