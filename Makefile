# LoanOps: `make run` and `make test` are all a newcomer needs.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
export DJANGO_SETTINGS_MODULE ?= loanops.settings.local
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: setup services run test bench lint messages clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $(STAMP)

services:
	@bash scripts/services.sh

setup: $(STAMP) services
	@if command -v msgfmt >/dev/null; then $(BIN)/python manage.py compilemessages --ignore=.venv -v 0; \
	else echo "gettext's msgfmt is missing: using the committed locale/es .mo file"; fi
	$(BIN)/python manage.py createdb_if_missing
	$(BIN)/python manage.py migrate --noinput -v 0
	$(BIN)/python manage.py collectstatic --noinput -v 0

run: setup
	$(BIN)/python manage.py seed_demo --once
	@bash scripts/run.sh $(HOST) $(PORT)

test: setup
	DJANGO_SETTINGS_MODULE=loanops.settings.test $(BIN)/python -m pytest -n 2 $(PYTEST_ARGS)

bench: setup
	DJANGO_SETTINGS_MODULE=loanops.settings.local $(BIN)/python -m bench $(BENCH_ARGS)

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

messages: $(STAMP)
	$(BIN)/python manage.py makemessages -l es --ignore=.venv --ignore=staticfiles --no-obsolete
	$(BIN)/python manage.py compilemessages --ignore=.venv

clean:
	rm -rf $(VENV) staticfiles .pytest_cache
