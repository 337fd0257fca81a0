# Lyceum — every target bootstraps .venv itself, so `make run` and `make test` work on a
# fresh clone. Embedded mode by default (SQLite + in-memory layer); set DATABASE_URL and
# REDIS_URL for services mode.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# Test workers (pytest-xdist): one per core by default; TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= auto

.PHONY: run test bench lint format migrate demo messages clean install

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

messages: $(STAMP)  ## refresh the translation catalogues (needs GNU gettext)
	$(PY) manage.py makemessages -l fr --ignore '.venv/*' --ignore 'tests/*' --ignore 'bench/*'
	$(PY) manage.py makemessages -d djangojs -l fr --ignore '.venv/*' --ignore 'staticfiles/*'
	$(PY) manage.py compilemessages --ignore '.venv/*'

# Links in the demo's e-mails and feeds point at the address `make run` serves on.
run demo: export SITE_URL ?= http://$(HOST):$(PORT)

run: demo
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile $(PYTEST_ARGS)

bench: $(STAMP)
	$(PY) -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

clean:
	rm -rf $(VENV) staticfiles db.sqlite3 .pytest_cache
