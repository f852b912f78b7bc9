# kubedb-dbaas: `make run` and `make test` are all a new user needs (see README.md).
SHELL := /bin/bash
.DEFAULT_GOAL := help

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
CONSTRAINTS := requirements/constraints.txt
# Reinstall when the project or the pins change.
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml $(CONSTRAINTS) | cksum | cut -d' ' -f1)

export PY

.PHONY: help install run stop restart status logs test screenshots lint clean

help:
	@echo "make run      start kubedb-dbaas in the background (API on http://127.0.0.1:8000)"
	@echo "make status   is it running, and is it healthy"
	@echo "make logs     follow the log"
	@echo "make stop     stop it"
	@echo "make restart  stop, then run"
	@echo "make test     run the whole test suite"
	@echo "make screenshots  the console's browser tests, saving the README's pictures in docs/images"
	@echo "make lint     ruff format --check, ruff, mypy --strict on app/, simulator/ and kdb/, import-linter layer contracts"

$(PY):
	$(PYTHON) -m venv $(VENV)

$(STAMP): | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -c $(CONSTRAINTS) -e '.[dev]'
	@# The clients of the bundled servers, for the README's psql and redis-cli lines.
	$(PY) scripts/link_clients.py $(VENV)/bin
	rm -f $(VENV)/.installed-*
	touch $(STAMP)

install: $(STAMP)

run: install
	@scripts/appctl.sh start

stop:
	@scripts/appctl.sh stop

restart: stop run

status:
	@scripts/appctl.sh status

logs:
	@scripts/appctl.sh logs

test: install
	@# Three workers (pytest-xdist), each test file on one of them: the suite mostly waits
	@# on servers, sockets and browsers, so a third worker fills the time two cores would
	@# idle (on 2 cores: 8 min with three, about 10 with two, measured 2026-12-07).
	$(PY) -m pytest -n 3 --dist loadfile

screenshots: install
	@# The console's pages as the README shows them (tests/console/manners.py: screenshot).
	KDB_SCREENSHOTS=1 $(PY) -m pytest -n 2 --dist loadfile \
		tests/console/test_every_page_in_a_browser.py tests/console/test_manners_in_a_browser.py

lint: install
	$(VENV)/bin/ruff format --check app simulator kdb tests bench scripts
	$(VENV)/bin/ruff check app simulator kdb tests bench scripts
	$(VENV)/bin/mypy
	$(VENV)/bin/lint-imports
	$(PY) scripts/check_module_size.py

clean: stop
	rm -rf var $(VENV)
