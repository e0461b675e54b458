# Every target bootstraps .venv from nothing: a fresh machine needs only python3, git and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-dev

.PHONY: demo test thorough lint format bench bench-prune faults screenshots notify-samples clean
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

# The suite starts a few hundred ic3sync processes: their bytecode is compiled once here, so none
# of them compiles the sources again where PYTHONDONTWRITEBYTECODE keeps Python from caching it.
test: lint $(AXE)
	$(BIN)/python -m compileall -q src tests
	$(BIN)/python -m pytest -q

# The generated-input tests (hypothesis, schemathesis) with several times the examples `make test`
# draws: the parser's bodies and every API operation.
thorough: $(STAMP)
	IC3_TEST_THOROUGH=1 $(BIN)/python -m pytest -q tests/unit/test_response_parsing.py tests/e2e/test_schemathesis.py

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy src

format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# The dashboard's screenshots in docs/, taken by its browser tests on PostgreSQL (the overview,
# a run and assets at 1280 and 390 px come from the accessibility test).
screenshots: $(STAMP) $(AXE)
	IC3_SCREENSHOTS=docs $(BIN)/python -m pytest -q tests/browser -k "postgresql and (failures or 409 or axe)"

# ic3sync at the customer's pace beside a bare loop and the customer's sketch, its CPU per asset,
# its memory at scale and the import's speed (bench/results.json; a missed target makes the exit
# status non-zero), then what the change history and the export cost (bench/changes.json,
# figures only). `make bench BENCH_FLAGS=--quick` tries it with small sizes.
bench: $(STAMP)
	$(BIN)/python bench/run.py $(BENCH_FLAGS); run=$$?; \
	$(BIN)/python bench/changes.py $(if $(findstring --quick,$(BENCH_FLAGS)),--assets 300 --rounds 3 --export 2000); \
	changes=$$?; exit $$(( run || changes ))

# `ic3sync prune` deleting 1,000,000 log rows on PostgreSQL while a sync runs: how long it took
# and the longest any asset's transaction took meanwhile (bench/prune-results.json).
bench-prune: $(STAMP)
	$(BIN)/python bench/prune.py

# The webhook body and the mail of a real run, as docs/operations.md shows them (docs/notify/).
notify-samples: $(STAMP)
	IC3_NOTIFY_SAMPLES=docs/notify $(BIN)/python -m pytest -q tests/e2e/test_notify_cli.py -k "sqlite and mails_and_posts"

# The whole fault suite (several minutes): prints the table of figures and writes it to
# faults/results.json. `make test` runs only its quick part. Its long tests (a thousand assets,
# two dozen kills) may take longer than the per-test timeout of pyproject.toml.
faults: $(STAMP)
	IC3_FAULTS_REPORT=faults/results.json $(BIN)/python -m pytest -q -n 0 -m "" --timeout 900 tests/faults

clean:
	rm -rf $(VENV) .tools ic3sync.db .pytest_cache
