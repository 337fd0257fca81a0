# Lyceum — every target bootstraps .venv itself, so `make run` and `make test` work on a
# fresh clone. Embedded mode by default (SQLite + in-memory layer); set DATABASE_URL and
# REDIS_URL for services mode.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8000
# The embedded mode's data: the SQLite database (var/lyceum.sqlite3), uploads, e-mails, the
# generated secret key. hub/settings.py reads the same LYCEUM_VAR_DIR.
VAR_DIR := $(if $(LYCEUM_VAR_DIR),$(LYCEUM_VAR_DIR),var)
# Test workers (pytest-xdist): one per core by default; TEST_WORKERS=0 runs in this process.
TEST_WORKERS ?= auto

.PHONY: run test bench lint format migrate demo messages static clean reset install vendor peers

$(STAMP): pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP) vendor peers

# -- front-end vendor files (design system): the Lucide icons copied into
# frontend/static/icons, and axe-core for the accessibility tests. npm ci runs again only
# when the lock file changes.
FRONTEND_VENDOR := frontend/vendor
$(FRONTEND_VENDOR)/node_modules/.package-lock.json: $(FRONTEND_VENDOR)/package.json $(FRONTEND_VENDOR)/package-lock.json
	cd $(FRONTEND_VENDOR) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

vendor: $(FRONTEND_VENDOR)/node_modules/.package-lock.json
	$(PYTHON) $(FRONTEND_VENDOR)/copy_icons.py
	$(PYTHON) $(FRONTEND_VENDOR)/copy_scorm_again.py
# -- end front-end vendor files

# -- identity (issue 16): the OpenID Connect provider the SSO tests sign in through (the npm
# oidc-provider, run with node by tests/identity). npm ci runs again when the lock changes.
OIDC_PEER := tests/peers/oidc
$(OIDC_PEER)/node_modules/.package-lock.json: $(OIDC_PEER)/package.json $(OIDC_PEER)/package-lock.json
	cd $(OIDC_PEER) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

peers: $(OIDC_PEER)/node_modules/.package-lock.json
# -- end identity

# -- external tools (issue 18): ltijs, a real LTI 1.3 tool (data in PostgreSQL through
# ltijs-sequelize), run with node by tests/externaltools. npm ci runs again when the lock changes.
LTIJS_PEER := tests/peers/ltijs
$(LTIJS_PEER)/node_modules/.package-lock.json: $(LTIJS_PEER)/package.json $(LTIJS_PEER)/package-lock.json
	cd $(LTIJS_PEER) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

peers: $(LTIJS_PEER)/node_modules/.package-lock.json
# -- end external tools

migrate: $(STAMP)
	$(PY) manage.py migrate --noinput

demo: migrate
	$(PY) manage.py seed_demo

messages: $(STAMP)  ## refresh the translation catalogues (needs GNU gettext)
	$(PY) manage.py makemessages -l fr --ignore '.venv/*' --ignore 'tests/*' --ignore 'bench/*'
	$(PY) manage.py makemessages -d djangojs -l fr --ignore '.venv/*' --ignore 'staticfiles/*' --ignore 'tests/*' --ignore '*/node_modules/*'
	$(PY) manage.py compilemessages --ignore '.venv/*' --ignore 'tests/*'

# Links in the demo's e-mails and feeds point at the address `make run` serves on.
run demo: export SITE_URL ?= http://$(HOST):$(PORT)

# `serve` refuses to start without an up-to-date static files manifest.
static: $(STAMP)
	$(PY) manage.py collectstatic --noinput --verbosity 0

run: demo static
	$(PY) manage.py serve --host $(HOST) --port $(PORT)

test: $(STAMP)
	$(PY) -m pytest -n $(TEST_WORKERS) --dist loadfile --no-loadscope-reorder $(PYTEST_ARGS)

bench: static
	$(PY) -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .

format: $(STAMP)
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Build artefacts only: your data in var/ stays (`make reset` starts over).
clean:
	rm -rf $(VENV) staticfiles .pytest_cache .ruff_cache *.egg-info
	find . -path ./$(VENV) -prune -o -name __pycache__ -type d -prune -exec rm -rf {} +

# Start over in the embedded mode: delete var/ (database, uploads, e-mails, secret key);
# the next `make run` migrates and loads the demo again.
reset:
	@if [ -n "$$DATABASE_URL" ]; then \
	  echo "make reset starts over the embedded mode (it deletes $(VAR_DIR)/); with DATABASE_URL set, drop and re-create that database yourself."; \
	  exit 1; \
	fi
	rm -rf $(VAR_DIR)

# -- interoperability (issue 18): Ralph, a real learning record store for the xAPI tests, in
# a venv of its own (its pins clash with ours). tests/integrations start it; .ci/run builds it.
RALPH_VENV := .venv-ralph
$(RALPH_VENV)/.installed:
	@test -x $(RALPH_VENV)/bin/python || $(PYTHON) -m venv $(RALPH_VENV)
	$(RALPH_VENV)/bin/python -m pip install --quiet --upgrade pip
	$(RALPH_VENV)/bin/python -m pip install --quiet 'ralph-malph[cli,lrs]>=5.1,<6' requests  # ralph's OIDC module imports requests without declaring it
	@touch $@

ralph: $(RALPH_VENV)/.installed
.PHONY: ralph
# -- end interoperability
