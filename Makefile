# The two commands: `make run` and `make test`. Both install what is missing,
# bring up PostGIS, migrate and load the demo data. Safe to run again.
SHELL := /bin/bash
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
MANAGE := $(PY) manage.py
HOST ?= 0.0.0.0
PORT ?= 8000
PYTEST_ARGS ?=

.PHONY: run test setup system-deps python-deps node-deps database migrate demo messages \
	lint format check bench screenshots clean

run: setup demo
	@$(MANAGE) create_demo_admin
	@echo "Serving the atlas on http://localhost:$(PORT)/ (admin: http://localhost:$(PORT)/admin/)"
	$(MANAGE) runserver $(HOST):$(PORT)

test: setup lint
	$(MANAGE) makemigrations --check --dry-run
	$(PY) -m pytest $(PYTEST_ARGS)

setup: system-deps python-deps node-deps .env database migrate messages

system-deps:
	@bin/install-system-deps

python-deps: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -c 'import tomllib; p = tomllib.load(open("pyproject.toml", "rb"))["project"]; \
		print("\n".join(p["dependencies"] + p["optional-dependencies"]["dev"]))' > $(VENV)/requirements.txt
	$(PY) -m pip install -q -r $(VENV)/requirements.txt
	@touch $@

node-deps:
	@if [ -f package-lock.json ]; then \
		[ node_modules/.package-lock.json -nt package-lock.json ] || npm ci --no-audit --no-fund; \
		bin/copy-vendor-assets; \
	fi

.env:
	cp .env.example .env

database:
	@bin/ensure-database

migrate:
	$(MANAGE) migrate --noinput

demo:
	$(MANAGE) load_demo
	$(MANAGE) warm_map

messages:
	@if compgen -G "*/locale/*/LC_MESSAGES/*.po" >/dev/null || compgen -G "locale/*/LC_MESSAGES/*.po" >/dev/null; then \
		$(MANAGE) compilemessages --ignore=.venv --ignore=node_modules -v 0; fi

# lint-imports checks the layering in pyproject.toml ([tool.importlinter]).
lint: python-deps
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports

format: python-deps
	$(PY) -m ruff check --fix .
	$(PY) -m ruff format .

bench: setup
	$(PY) bench/run_all.py

# README screenshots (docs/screenshots/), taken in headless Chromium from the demo.
screenshots: setup demo
	$(PY) bin/make-screenshots

clean:
	rm -rf $(VENV) node_modules staticfiles
