# Squall — the two commands a user needs are `make demo` and `make test`.
# Each creates .venv and installs what it needs on a machine with only Python 3.13 and Node 20.

PYTHON ?= python3.13
VENV   := .venv
BIN    := $(VENV)/bin
PY     := $(BIN)/python
STAMP  := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
INFRA_VENV := .venv-infra
INFRA_STAMP := $(INFRA_VENV)/.installed

.PHONY: demo test test-deps bench cost callgrind lint typecheck install accel node clean schemas

$(STAMP): pyproject.toml requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -e '.[dev]'
	touch $@

install: $(STAMP)

# The compiled copy of the normalization hot path (setup.py, shared/events/accelerator.py): pip builds
# it at install; this rebuilds it when normalize.py changes (a stale copy is ignored, never run).
ACCEL_STAMP := build/accelerator/.built
$(ACCEL_STAMP): shared/events/normalize.py setup.py $(STAMP)
	$(PY) setup.py --quiet build_ext --inplace
	touch $@

accel: $(ACCEL_STAMP)

$(NODE_STAMP): package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

node: $(NODE_STAMP)

# checkov pins an older pycep-parser than the main environment uses, so it lives in its own venv.
$(INFRA_STAMP): infra/requirements-checks.txt
	$(PYTHON) -m venv $(INFRA_VENV)
	$(INFRA_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(INFRA_VENV)/bin/python -m pip install --quiet -r infra/requirements-checks.txt
	touch $@

demo: $(STAMP) $(ACCEL_STAMP)
	$(BIN)/squall demo

# Everything the suite uses, the three installs side by side (they share nothing but the network).
test-deps:
	$(MAKE) --no-print-directory -j3 $(ACCEL_STAMP) $(NODE_STAMP) $(INFRA_STAMP)

# One pytest worker per core, a test file per worker at a time (its module fixtures built once); each
# worker starts its own Azurite and Cosmos DB server when its tests need them.
test: test-deps
	$(PY) -m pytest -n auto --dist loadfile

bench: $(STAMP) $(ACCEL_STAMP)
	$(BIN)/squall bench --rules 100 --events 200000
	$(BIN)/squall bench --rules 1000 --events 200000
	$(BIN)/squall bench --rules 10000 --events 200000

# What the real handler costs in Cosmos DB (docs/performance.md, "Store layout and cost"): RU per
# event by cause on the local Cosmos DB server, and the ingest rate beside a slow destination.
cost: $(STAMP) $(ACCEL_STAMP) $(NODE_STAMP)
	$(BIN)/squall bench --store cosmos --events 20000

# Instructions per event on the hot path (docs/performance.md, "How it was measured"): needs valgrind.
callgrind: $(STAMP) $(ACCEL_STAMP)
	$(PY) -m squall.bench.instructions --rules 100 --events 10000

# Long crash soaks (README "Delivery"): SIGKILL `squall run` at random moments, 15 trials per journey
# mode over 10,000 records, and the Function handler on the Cosmos DB protocol server. Not part of CI.
soak: $(STAMP) $(ACCEL_STAMP) $(NODE_STAMP)
	$(PY) -m tests.crash.kill_harness --trials 15 --events 10000 --journey-mode both
	$(PY) -m tests.crash.kill_harness --trials 6 --events 2000 --journey-mode sync --target handler --kill-window 0.05 0.6

# The rule schemas in openapi/ (rules-api.yaml's generated part, rules.schema.json), from the pydantic
# models; tests/unit/test_generated_schemas.py fails while the committed files are stale.
schemas: $(STAMP)
	$(PY) -m squall.schemas

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy

clean:
	rm -rf $(VENV) $(INFRA_VENV) node_modules .squall .pytest_cache .mypy_cache .ruff_cache build
	rm -f shared/events/_normalize_compiled.*.so
