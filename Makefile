# 社区通 backend. `make run` and `make test` work on a fresh machine.
SHELL := /bin/bash
VENV ?= .venv
PY := $(VENV)/bin/python
PORT ?= 8000
STANDIN_PORT ?= 8100
# Django 6.x needs Python 3.12+; the machine default may be older.
PYTHON_FOR_VENV ?= $(shell for p in python3.13 python3.12 $$HOME/.pyenv/versions/3.13*/bin/python3 $$HOME/.pyenv/versions/3.12*/bin/python3 python3; do \
	if command -v $$p >/dev/null 2>&1 && $$p -c 'import sys; sys.exit(0 if sys.version_info >= (3, 12) else 1)' 2>/dev/null; then command -v $$p; break; fi; done)

.PHONY: run test install migrate demo lint clean

$(VENV)/.installed: requirements.txt requirements-dev.txt
	@test -n "$(PYTHON_FOR_VENV)" || { echo "需要 Python 3.12 或更高版本 (Python 3.12+ not found)"; exit 1; }
	@test -x $(PY) || $(PYTHON_FOR_VENV) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -r requirements-dev.txt
	@touch $@

install: $(VENV)/.installed

migrate: install
	DJANGO_DEBUG=true $(PY) manage.py migrate --noinput

demo: migrate
	DJANGO_DEBUG=true $(PY) manage.py load_demo

## Run the whole system on its embedded defaults (SQLite, in-memory layers, task worker, WeChat and device stand-ins).
run: demo
	DJANGO_DEBUG=true WECHAT_API_BASE=http://127.0.0.1:$(STANDIN_PORT)/ PORT=$(PORT) STANDIN_PORT=$(STANDIN_PORT) RUN_SENSOR_STANDIN=true $(PY) scripts/run_dev.py

## Run the test suite (SQLite by default; DATABASE_URL / REDIS_URL switch backends).
test: install
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(PY) -m ruff check .

clean:
	rm -rf $(VENV) db.sqlite3* var media
