# Every target bootstraps .venv from nothing: a fresh machine needs only python3, git and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test lint format bench faults screenshots clean
# axe-core, the accessibility checker the browser tests run in Chromium, from npm.
AXE := .tools/node_modules/axe-core/axe.min.js

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(STAMP): pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/ic3sync demo

$(AXE):
	npm install --no-save --no-audit --no-fund --prefix .tools axe-core@4

test: $(STAMP) $(AXE)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The dashboard's screenshots in docs/, taken by its browser tests on PostgreSQL (the overview,
# a run and assets at 1280 and 390 px come from the accessibility test).
screenshots: $(STAMP) $(AXE)
	IC3_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/browser -k "postgresql and (failures or 409 or axe)"

bench: $(STAMP)
	$(BIN)/python bench/run.py

# The whole fault suite (several minutes): prints the table of figures and writes it to
# faults/results.json. `make test` runs only its quick part.
faults: $(STAMP)
	IC3_FAULTS_REPORT=faults/results.json $(BIN)/python -m pytest -q -m "" tests/faults

clean:
	rm -rf $(VENV) .tools ic3sync.db .pytest_cache
