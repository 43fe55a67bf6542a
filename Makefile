# ecotrack: `make demo` runs the demo, `make test` runs every check (lint, types, import contracts, tests). Both set up .venv first.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PIP    := $(BIN)/python -m pip install --disable-pip-version-check -q
LINT_PATHS := $(wildcard ecotrack tests bench scripts)

.PHONY: demo test lint clean venv dev

demo: $(VENV)/.stamp-sim
	$(BIN)/ecotrack demo $(ARGS)

test: $(VENV)/.stamp-dev
	scripts/ensure-debian-packages
	cd tests/ocpp/node && npm ci --no-audit --no-fund  # the independent OCPP charge point (ocpp-rpc)
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy --strict ecotrack
	$(BIN)/lint-imports
	$(BIN)/python scripts/import_cycles.py --quiet
	# One worker per CPU (at most 4); a file's tests stay on one worker (module fixtures, ports, brokers).
	$(BIN)/pytest -n auto --maxprocesses 4 --dist loadfile $(ARGS)

lint: $(VENV)/.stamp-dev
	$(BIN)/ruff check $(LINT_PATHS)
	$(BIN)/mypy --strict ecotrack
	$(BIN)/lint-imports
	$(BIN)/python scripts/import_cycles.py

venv: $(VENV)/.stamp-venv
dev: $(VENV)/.stamp-dev

$(VENV)/.stamp-venv:
	rm -rf $(VENV)
	$(PYTHON) -m venv $(VENV) || { rm -rf $(VENV); \
	  echo "python3 -m venv failed: installing Debian's python3-venv" >&2; \
	  scripts/ensure-debian-packages scripts/debian-packages-venv.txt && $(PYTHON) -m venv $(VENV); } || { \
	  rm -rf $(VENV); echo "cannot create $(VENV): install python3-venv" >&2; exit 1; }
	touch $@

# Reinstall only when pyproject.toml changes (the install is editable: code changes need nothing).
$(VENV)/.stamp-sim: pyproject.toml | $(VENV)/.stamp-venv
	$(PIP) -e '.[sim]'
	touch $@

$(VENV)/.stamp-dev: pyproject.toml | $(VENV)/.stamp-venv
	$(PIP) -e '.[dev]'
	touch $@ $(VENV)/.stamp-sim

clean:
	rm -rf $(VENV) build dist *.egg-info .mypy_cache .ruff_cache .pytest_cache .hypothesis .import_linter_cache
	find . -name __pycache__ -type d -prune -exec rm -rf {} +

# The dashboard: web/ (sources, npm) -> ecotrack/services/web/static (committed). Run after changing web/src.
.PHONY: web
web:
	cd web && npm ci --no-audit --no-fund && npm run build
