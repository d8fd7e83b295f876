# CelebVision: `make run` serves the app, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint format worker bench clean-venv

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when a requirements file changed.
$(VENV)/.deps: requirements.txt requirements-faces.txt | $(BIN)/python
	$(BIN)/pip install --quiet -r requirements.txt
	$(BIN)/pip install --quiet --no-deps -r requirements-faces.txt
	touch $@

$(VENV)/.deps-dev: $(VENV)/.deps requirements-dev.txt
	$(BIN)/pip install --quiet -r requirements-dev.txt
	touch $@

run: $(VENV)/.deps
	$(BIN)/flask --app wsgi db upgrade
	./scripts/serve

test: lint
	./scripts/test-prereqs
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# Lint and formatting (ruff, configured in pyproject.toml); `make format` fixes what it can.
lint: $(VENV)/.deps-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(VENV)/.deps-dev
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

worker: $(VENV)/.deps
	$(BIN)/flask --app wsgi worker --queue $(or $(QUEUE),style)

bench: $(VENV)/.deps-dev
	$(BIN)/python bench/classify_latency.py
	$(BIN)/python bench/http_load.py
	$(BIN)/python bench/input_pipeline.py
	$(BIN)/python bench/style.py
	$(BIN)/python bench/style_api.py

clean-venv:
	rm -rf $(VENV)
