# Xinh: the two commands a newcomer needs are `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup setup-train demo test lint bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# The checkout's folders install as one `xinh` namespace (pyproject's package-dir); the
	# editable build's notice about that (folders named like the package) is expected.
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q -e ".[dev]"
	touch $@

setup-train: setup
	PYTHONWARNINGS=ignore $(BIN)/python -m pip install -q -e ".[dev,train]"

demo: setup
	$(BIN)/xinh demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup-train lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/pipeline.py
