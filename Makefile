# SupplyCoord — the two commands: `make run` and `make test`.
PYTHON ?= python3.11
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: run test test-fast lint format messages compilemessages setup demo bench clean db-stop

$(VENV)/.installed: requirements.txt requirements-dev.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PIP) install --quiet --upgrade pip
	$(PIP) install --quiet -r requirements-dev.txt
	touch $@

setup: $(VENV)/.installed compilemessages

compilemessages: $(VENV)/.installed
	$(PY) manage.py compile_translations

# Migrate, load the demo province (laid to end yesterday; `manage.py load_demo --historical`
# keeps its 2020 dates), build every day's snapshot, collect static, serve.
run: setup
	$(PY) manage.py migrate --noinput
	@echo "Loading the demo province (its last day is yesterday; about a minute the first time) …"
	$(PY) manage.py load_demo
	@echo "Building the daily snapshots of every demo day …"
	$(PY) manage.py build_snapshots --all
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) manage.py demo_users
	$(PY) manage.py runserver $(HOST):$(PORT) --noreload

# One test process per core (pytest-xdist; TEST_WORKERS=0 runs them all in this process). Each
# worker has a test database of its own (test_<name>_gw0, _gw1, ...).
TEST_WORKERS ?= auto

test: setup
	$(PY) manage.py collectstatic --noinput --verbosity 0
	$(PY) -m pytest -q --durations=25 -n $(TEST_WORKERS)

test-fast: setup
	$(PY) -m pytest -q -m "not slow" -n $(TEST_WORKERS)

lint: $(VENV)/.installed
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(PY) manage.py makemigrations --check --dry-run
	$(VENV)/bin/djlint templates --lint

format: $(VENV)/.installed
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

# Refresh the message catalogues from the code (needs GNU gettext: apt-get install gettext).
messages: $(VENV)/.installed
	$(PY) manage.py makemessages -l zh_Hans -l en --no-obsolete --ignore=.venv --ignore=static --ignore=bench
	$(PY) manage.py makemessages -d djangojs -l zh_Hans -l en --no-obsolete --ignore=.venv --ignore=static/vendor --ignore=staticfiles

bench: $(VENV)/.installed
	$(PY) bench/snapshot.py
	$(PY) bench/proposal.py

# The embedded PostgreSQL server (used when DATABASE_URL is unset) keeps running between
# commands; this stops it. Its data stays in var/pgdata (delete the folder to start afresh).
db-stop:
	if [ -x $(PY) ]; then $(PY) manage.py embedded_db stop; fi

clean: db-stop
	rm -rf $(VENV) staticfiles
